// Command tourd is a self-hosted server for the Usertour-compatible user
// data API. Run "tourd help" for its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"tourd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
