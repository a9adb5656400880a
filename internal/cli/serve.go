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
	"strconv"
	"strings"
	"time"

	"tourd/internal/apiv2"
	"tourd/internal/buildinfo"
	"tourd/internal/deliver"
	"tourd/internal/feed"
	"tourd/internal/httpapi"
	"tourd/internal/httpapi/wire"
	"tourd/internal/ratelimit"
	"tourd/internal/sqlite"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// defaultShutdownTimeout is the default of --shutdown-timeout.
const defaultShutdownTimeout = 30 * time.Second

// serveConfig is the configuration of the HTTP server of tourd serve.
type serveConfig struct {
	addr, docURL, debugAddr string
	// maxConns is the most connections open at once.
	maxConns int
	// idleTimeout is how long a keep-alive connection may wait for its
	// next request; streamIdleTimeout how long an import stream may send
	// nothing.
	idleTimeout, streamIdleTimeout time.Duration
	// shutdownTimeout bounds the shutdown after ctx is done: in-flight
	// requests finishing, then the database closing.
	shutdownTimeout time.Duration
	// v2 is the configuration of the v2 API: its rate limits, and what
	// webhooks may reach and how their secrets are kept.
	v2 apiv2.Config
	// changesRetention is how long the change log keeps a change, and
	// the deliveries of webhooks are kept.
	changesRetention time.Duration
	// deliver tunes the deliverer of webhooks: its retry schedule and
	// concurrency (its guard and secrets are v2's).
	deliver deliver.Config
}

// serveFlags are the flags of serveConfig as given, checked by config.
type serveFlags struct {
	maxConns, idleTimeout, streamIdleTimeout, shutdownTimeout string
	rateLimit, rateLimitAnon, trustedProxies                  string
	changesRetention                                          string
	webhookAllowPrivate, webhookRetrySchedule                 string
	webhookConcurrency                                        string
	// secretKey and secretKeyOld are TOURD_SECRET_KEY and
	// TOURD_SECRET_KEY_OLD: environment variables only, since a flag's
	// value shows in the process list.
	secretKey, secretKeyOld string
}

func (f *serveFlags) register(fs *flag.FlagSet, getenv func(string) string, cfg *serveConfig) {
	fs.StringVar(&cfg.addr, "addr", envOr(getenv, "TOURD_ADDR", "127.0.0.1:8080"), "listen address (TOURD_ADDR)")
	fs.StringVar(&cfg.docURL, "doc-url", envOr(getenv, "TOURD_DOC_URL", wire.DefaultDocURL), "doc_url of error responses (TOURD_DOC_URL)")
	fs.StringVar(&cfg.debugAddr, "debug-addr", getenv("TOURD_DEBUG_ADDR"), "if set, serve Go's pprof profiles on this address (TOURD_DEBUG_ADDR); keep it private")
	fs.StringVar(&f.maxConns, "max-conns", envOr(getenv, "TOURD_MAX_CONNS", strconv.Itoa(httpapi.DefaultMaxConns())),
		"most connections open at once; more wait to be accepted (TOURD_MAX_CONNS; the default stays below the file descriptor limit)")
	fs.StringVar(&f.idleTimeout, "idle-timeout", envOr(getenv, "TOURD_IDLE_TIMEOUT", "2m"), "how long a keep-alive connection may wait for its next request (TOURD_IDLE_TIMEOUT)")
	fs.StringVar(&f.streamIdleTimeout, "stream-idle-timeout", envOr(getenv, "TOURD_STREAM_IDLE_TIMEOUT", "1m"), "how long an import stream may send nothing (TOURD_STREAM_IDLE_TIMEOUT)")
	fs.StringVar(&f.shutdownTimeout, "shutdown-timeout", envOr(getenv, "TOURD_SHUTDOWN_TIMEOUT", defaultShutdownTimeout.String()), "how long SIGTERM waits for in-flight requests and the database before exiting (TOURD_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&f.rateLimit, "rate-limit", envOr(getenv, "TOURD_RATE_LIMIT", strconv.Itoa(apiv2.DefaultRateLimit)),
		"v2 requests a personal token may make per minute, on each node; 0 turns the limit off (TOURD_RATE_LIMIT)")
	fs.StringVar(&f.rateLimitAnon, "rate-limit-anon", envOr(getenv, "TOURD_RATE_LIMIT_ANON", strconv.Itoa(apiv2.DefaultRateLimitAnon)),
		"v2 requests without a valid token a client address may make per minute, on each node; 0 turns the limit off (TOURD_RATE_LIMIT_ANON)")
	fs.StringVar(&f.changesRetention, "changes-retention", envOr(getenv, "TOURD_CHANGES_RETENTION", feed.DefaultRetention.String()),
		"how long the change feed keeps a change; older cursors are 410 E1901 (TOURD_CHANGES_RETENTION)")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", getenv("TOURD_TRUSTED_PROXIES"),
		"comma-separated CIDRs of proxies whose X-Forwarded-For names the client address of the v2 rate limit (TOURD_TRUSTED_PROXIES)")
	fs.StringVar(&f.webhookAllowPrivate, "webhook-allow-private", envOr(getenv, "TOURD_WEBHOOK_ALLOW_PRIVATE", "0"),
		"1 lets webhooks reach private, loopback and link-local addresses (TOURD_WEBHOOK_ALLOW_PRIVATE)")
	fs.StringVar(&f.webhookRetrySchedule, "webhook-retry-schedule", envOr(getenv, "TOURD_WEBHOOK_RETRY_SCHEDULE", formatSchedule(deliver.DefaultSchedule)),
		"comma-separated delays between the attempts of a webhook delivery, one attempt more than delays (TOURD_WEBHOOK_RETRY_SCHEDULE)")
	fs.StringVar(&f.webhookConcurrency, "webhook-concurrency", envOr(getenv, "TOURD_WEBHOOK_CONCURRENCY", strconv.Itoa(deliver.DefaultConcurrency)),
		"most webhook deliveries this node sends at once, to all receivers (TOURD_WEBHOOK_CONCURRENCY)")
	f.secretKey, f.secretKeyOld = getenv("TOURD_SECRET_KEY"), getenv("TOURD_SECRET_KEY_OLD")
}

// formatSchedule writes a retry schedule as ParseSchedule reads it.
func formatSchedule(s []time.Duration) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// config checks the flags and sets them in cfg.
func (f *serveFlags) config(cfg *serveConfig) error {
	n, err := strconv.Atoi(f.maxConns)
	if err != nil || n < 1 {
		return fmt.Errorf("--max-conns must be a positive integer, not %q", f.maxConns)
	}
	cfg.maxConns = n
	for _, d := range []struct {
		name, value string
		to          *time.Duration
	}{
		{"--idle-timeout", f.idleTimeout, &cfg.idleTimeout},
		{"--stream-idle-timeout", f.streamIdleTimeout, &cfg.streamIdleTimeout},
		{"--shutdown-timeout", f.shutdownTimeout, &cfg.shutdownTimeout},
		{"--changes-retention", f.changesRetention, &cfg.changesRetention},
	} {
		v, err := time.ParseDuration(d.value)
		if err != nil || v <= 0 {
			return fmt.Errorf("%s must be a positive duration such as 30s or 2m, not %q", d.name, d.value)
		}
		*d.to = v
	}
	for _, l := range []struct {
		name, value string
		to          *int
	}{
		{"--rate-limit", f.rateLimit, &cfg.v2.RateLimit},
		{"--rate-limit-anon", f.rateLimitAnon, &cfg.v2.RateLimitAnon},
	} {
		n, err := strconv.Atoi(l.value)
		if err != nil || n < 0 {
			return fmt.Errorf("%s must be a number of requests per minute, or 0 for no limit, not %q", l.name, l.value)
		}
		*l.to = n
	}
	if cfg.v2.TrustedProxies, err = ratelimit.ParsePrefixes(f.trustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %v", err)
	}
	allow, err := strconv.ParseBool(f.webhookAllowPrivate)
	if err != nil {
		return fmt.Errorf("--webhook-allow-private must be 1 or 0 (true or false), not %q", f.webhookAllowPrivate)
	}
	cfg.v2.WebhookGuard = &webhook.Guard{AllowPrivate: allow}
	var old []string
	if f.secretKeyOld != "" {
		old = strings.Split(f.secretKeyOld, ",")
	}
	if _, err := webhook.NewKeyring(f.secretKey); err != nil {
		return fmt.Errorf("TOURD_SECRET_KEY: %v", err)
	}
	if cfg.v2.Secrets, err = webhook.NewKeyring(f.secretKey, old...); err != nil {
		return fmt.Errorf("TOURD_SECRET_KEY_OLD: %v", err)
	}
	if cfg.deliver.Schedule, err = deliver.ParseSchedule(f.webhookRetrySchedule); err != nil {
		return fmt.Errorf("--webhook-retry-schedule %v", err)
	}
	if cfg.deliver.Concurrency, err = strconv.Atoi(f.webhookConcurrency); err != nil || cfg.deliver.Concurrency < 1 {
		return fmt.Errorf("--webhook-concurrency must be a positive integer, not %q", f.webhookConcurrency)
	}
	cfg.deliver.Guard, cfg.deliver.Secrets, cfg.deliver.Retention = cfg.v2.WebhookGuard, cfg.v2.Secrets, cfg.changesRetention
	return nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c common
	c.register(fs, getenv)
	var cfg serveConfig
	var f serveFlags
	f.register(fs, getenv, &cfg)
	check := fs.Bool("check", false, "SQLite: check the database (PRAGMA quick_check, which reads all of it) and refuse to serve a damaged one")
	if _, err := parse(fs, args, stdout); err != nil {
		return err
	}
	if err := f.config(&cfg); err != nil {
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
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		store.Close()
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.debugAddr != "" {
		if err := serveDebug(cfg.debugAddr, log); err != nil {
			ln.Close()
			store.Close()
			return err
		}
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", c.location(), "version", buildinfo.Read().Version)
	return serve(ctx, cfg, store, ln, log)
}

// serve serves the API over store on ln until ctx is done or serving
// fails, then shuts down within cfg.shutdownTimeout: it stops accepting,
// stops import streams at a line boundary (each answers with what it
// applied), lets in-flight requests finish, and closes store. If requests
// are still running when the bound expires, or store does not close in
// time, serve returns an error at once and leaves store open to them: the
// process is to exit, which is what frees it.
func serve(ctx context.Context, cfg serveConfig, store userdata.Store, ln net.Listener, log *slog.Logger) error {
	api := httpapi.New(store, log, cfg.docURL)
	api.StreamIdleTimeout = cfg.streamIdleTimeout
	api.MaxConns = cfg.maxConns
	deliverer := deliver.New(store, cfg.deliver, log)
	cfg.v2.Deliverer = deliverer
	apiv2.Register(api, store, cfg.v2)
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // bodies are at most 1 MiB
		WriteTimeout:      time.Minute,
		IdleTimeout:       cfg.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          api.ErrorLog(),
	}
	srv.RegisterOnShutdown(api.StopStreams)
	pctx, stopPruning := context.WithCancel(context.Background())
	pruned := make(chan struct{})
	go func() { defer close(pruned); feed.Prune(pctx, store, cfg.changesRetention, log) }()
	defer stopPruning()
	dctx, stopDelivering := context.WithCancel(context.Background())
	delivered := make(chan struct{})
	go func() { defer close(delivered); deliverer.Run(dctx) }()
	defer stopDelivering()
	log.Info("serving", "max_conns", cfg.maxConns, "idle_timeout", cfg.idleTimeout,
		"stream_idle_timeout", cfg.streamIdleTimeout, "shutdown_timeout", cfg.shutdownTimeout,
		"webhook_secrets_encrypted", cfg.v2.Secrets.Encrypts(), "webhook_allow_private", cfg.v2.WebhookGuard != nil && cfg.v2.WebhookGuard.AllowPrivate)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(api.Listener(ln)) }()
	var serveErr error
	select {
	case serveErr = <-errc:
		log.Error("serving failed: shutting down", "err", serveErr)
	case <-ctx.Done():
		log.Info("shutting down: finishing in-flight requests", "timeout", cfg.shutdownTimeout)
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown timed out: exiting with requests still running, without closing the database", "timeout", cfg.shutdownTimeout)
		return fmt.Errorf("shutdown timed out after %s with requests still running", cfg.shutdownTimeout)
	}
	if serveErr == nil {
		<-errc // http.ErrServerClosed
	}
	stopPruning()
	<-pruned
	stopDelivering() // attempts under way are abandoned: sent again when their leases end
	select {
	case <-delivered:
	case <-sctx.Done():
		log.Error("shutdown timed out: the webhook deliverer did not stop; exiting without closing the database", "timeout", cfg.shutdownTimeout)
		return fmt.Errorf("shutdown timed out after %s: the webhook deliverer did not stop", cfg.shutdownTimeout)
	}
	closed := make(chan error, 1)
	go func() { closed <- store.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			return errors.Join(serveErr, fmt.Errorf("closing the database: %w", err))
		}
	case <-sctx.Done():
		log.Error("shutdown timed out: the database did not close; exiting without waiting for it", "timeout", cfg.shutdownTimeout)
		return fmt.Errorf("shutdown timed out after %s: the database did not close", cfg.shutdownTimeout)
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped", "shutdown_ms", time.Since(start).Milliseconds())
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
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}).Serve(ln)
	return nil
}
