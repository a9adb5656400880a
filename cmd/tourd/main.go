// Command tourd is a self-hosted server for the Usertour-compatible user
// data API. Run "tourd help" for its commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"tourd/internal/cli"
)

// main runs the command. SIGTERM or SIGINT cancels its context (serve
// shuts down gracefully, within its bound); a second one exits at once.
func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		s := <-sig
		fmt.Fprintf(os.Stderr, "tourd: second signal (%v): exiting now, without waiting for in-flight work\n", s)
		os.Exit(1)
	}()
	os.Exit(cli.Main(ctx, os.Args[1:]))
}
