package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"tourd/internal/buildinfo"
	"tourd/internal/httpapi"
	"tourd/internal/sqlite"
)

// shutdownTimeout bounds how long in-flight requests may take to finish
// after SIGTERM.
const shutdownTimeout = 30 * time.Second

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	addr := fs.String("addr", envOr(getenv, "TOURD_ADDR", "127.0.0.1:8080"), "listen address (TOURD_ADDR)")
	docURL := fs.String("doc-url", envOr(getenv, "TOURD_DOC_URL", httpapi.DefaultDocURL), "doc_url of error responses (TOURD_DOC_URL)")
	debugAddr := fs.String("debug-addr", getenv("TOURD_DEBUG_ADDR"), "if set, serve Go's pprof profiles on this address (TOURD_DEBUG_ADDR); keep it private")
	check := fs.Bool("check", false, "SQLite: check the database (PRAGMA quick_check, which reads all of it) and refuse to serve a damaged one")
	if _, err := parse(fs, args, stdout); err != nil {
		return err
	}
	logs := newLogBuffer(stderr)
	defer logs.Close()
	log, err := c.logger(logs)
	if err != nil {
		return err
	}
	store, err := c.openStore(ctx, log, sqlite.Options{Exclusive: true, Create: true, Check: *check})
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	api := httpapi.New(store, log, *docURL)
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // bodies are at most 1 MiB
		WriteTimeout:      time.Minute,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if *debugAddr != "" {
		if err := serveDebug(*debugAddr, log); err != nil {
			return err
		}
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", c.location(), "version", buildinfo.Read().Version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(api.Listener(ln)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// serveDebug serves net/http/pprof on its own listener, apart from the API.
func serveDebug(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("debug listening", "addr", ln.Addr().String())
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	return nil
}
