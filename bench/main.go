// Command bench measures the throughput, latency and memory of the tourd
// server under a fixed HTTP load, and compares it with a "ceiling" server: a
// minimal net/http handler that decodes and encodes the same JSON shapes
// without touching any storage.
//
// Usage (from the module root):
//
//	go run ./bench [-duration 10s] [-connections 16] [-users 10000] [-keep]
//
// The command builds ./cmd/tourd into a temporary directory, creates an API
// key with "tourd keys create" (project "default", environment
// "production") and a personal token for the v2 API with "tourd tokens
// create" (scopes user:read,user:write on the key's environment, whose ids
// it reads from "tourd projects list --json"), starts "tourd serve" on a
// fresh SQLite database (or on the database named by the TOURD_DB
// environment variable, e.g. a postgres:// URL), seeds users through the
// HTTP API and then drives four wrk loads against it: upserts
// (POST /v1/users) with literal values; the same upserts through v2
// (PUT /v2/projects/{projectId}/environments/{environmentId}/users/{id},
// the same attributes for the same users, with the token); upserts whose
// values are all operations (add); and reads (GET /v1/users/{id}) of
// randomly chosen seeded users. The same loads are run against the
// ceiling server, which is this very binary re-executed with the hidden
// -ceiling-addr flag. The report ends with the ratio of the v2 PUT's
// req/s to the v1 upsert's.
//
// tourd serve is started with --rate-limit 0: its v2 routes are otherwise
// limited to 1,000 requests a minute per token, and the v2 load would
// measure 429 answers.
//
// With -segments the command runs the segment bench instead (segments.md
// §5), which needs no wrk: on a fresh tourd it seeds -segment-users users
// (default 1,000,000) and a tenth as many companies through the NDJSON
// import routes (POST /v1/companies/import, POST /v1/users/import), each
// user with one membership and an attribute bucket = i mod 10000, each
// company an attribute tier = j mod 100; it creates through v2 (a token
// with scopes segment:read,segment:create,segment:update,user:read,
// company:read) condition segments of 10% (bucket lt 1000) and 0.01%
// (bucket is 7) of the users, a cross-entity one (bucket lt 5000 and
// company tier is 7: 0.5%) and a manual one of -segment-manual members
// added with concurrent PUTs; then it sends, -segment-runs times each and
// one at a time, the first page of GET E/users (plain, and with the
// segmentId of each segment, the built-in All Users included), a later
// page (-segment-hops next links on) of the plain list, of the manual
// segment and of v1's GET /v1/users?orderBy=-createdAt&segmentId= of the
// 10% segment (newest first, an order of mixed directions), and
// GET P/segments/{id}?expand=memberCount for each segment.
// Every answer is checked against the members the data set implies. The
// table gives p50 and max per request kind beside §5's targets, the
// 1-minute load average when the row started and tourd's peak RSS since
// the end of the seeding (VmHWM, reset then through
// /proc/<pid>/clear_refs).
//
//	go run ./bench -segments [-segment-users 1000000] [-segment-runs 20]
//
// All traffic goes to 127.0.0.1. The command needs wrk on PATH (Debian
// package wrk) and Linux (it reads /proc/<pid>/status for peak memory).
// It exits 0 when every run completed without errors; it asserts nothing
// about speed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// config holds the command-line settings of one bench invocation.
type config struct {
	duration    time.Duration
	connections int
	threads     int
	users       int
	seedWorkers int
	keep        bool
	skipCeiling bool
	skipTourd   bool
	verbose     bool

	// segments selects the segment bench instead of the wrk loads; the
	// seg* fields are its settings.
	segments   bool
	webhook    bool // the loads run with a webhook endpoint (webhook.go)
	segUsers   int
	segManual  int
	segRuns    int
	segHops    int
	segStreams int

	// ceilingAddr, when set, makes the process run the ceiling server on
	// that address instead of the benchmark (hidden flag).
	ceilingAddr string

	// db is the --db value handed to tourd; dbFromEnv tells whether it
	// came from TOURD_DB (and so may hold existing data).
	db        string
	dbFromEnv bool
}

// hiddenFlags are internal flags left out of the usage text.
var hiddenFlags = map[string]bool{"ceiling-addr": true}

// parseFlags parses args (without the program name) into a config.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "duration of each wrk load (whole seconds)")
	fs.IntVar(&cfg.connections, "connections", 16, "concurrent HTTP connections of each wrk load")
	fs.IntVar(&cfg.threads, "threads", 2, "wrk threads (-t)")
	fs.IntVar(&cfg.users, "users", 10000, "number of users to seed and to draw random ids from")
	fs.IntVar(&cfg.seedWorkers, "seed-workers", 16, "concurrent workers used to seed users")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (binary, database, logs, wrk scripts and outputs)")
	fs.BoolVar(&cfg.skipCeiling, "skip-ceiling", false, "do not run the ceiling server loads")
	fs.BoolVar(&cfg.skipTourd, "skip-tourd", false, "do not build or run tourd (benchmark the ceiling server only)")
	fs.BoolVar(&cfg.verbose, "v", false, "echo the raw wrk output")
	fs.BoolVar(&cfg.webhook, "webhook", false, "run the loads with one webhook endpoint subscribed to every change, delivering to a receiver in the bench, and report the deliveries")
	fs.BoolVar(&cfg.segments, "segments", false, "run the segment bench (segmentId filter and memberCount on a large data set) instead of the wrk loads")
	fs.IntVar(&cfg.segUsers, "segment-users", 1_000_000, "segment bench: users to seed (companies: a tenth of them)")
	fs.IntVar(&cfg.segManual, "segment-manual", 100_000, "segment bench: members of the manual segment (at most the users)")
	fs.IntVar(&cfg.segRuns, "segment-runs", 20, "segment bench: requests of each measured kind, one at a time")
	fs.IntVar(&cfg.segHops, "segment-hops", 5, "segment bench: next links followed to reach the later page measured")
	fs.IntVar(&cfg.segStreams, "segment-streams", 1, "segment bench: concurrent NDJSON import requests while seeding")
	fs.StringVar(&cfg.ceilingAddr, "ceiling-addr", "", "run the ceiling server on this address (internal)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./bench [flags]\n\n")
		fmt.Fprintf(fs.Output(), "Benchmarks tourd against a storage-free ceiling server with wrk.\n")
		fmt.Fprintf(fs.Output(), "Set TOURD_DB to a postgres:// URL to benchmark on PostgreSQL (default: a fresh SQLite file).\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			if hiddenFlags[f.Name] {
				return
			}
			def := ""
			if f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  -%s\n    \t%s%s\n", f.Name, f.Usage, def)
		})
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if cfg.ceilingAddr != "" {
		return cfg, nil
	}
	switch {
	case cfg.duration < time.Second:
		return cfg, errors.New("-duration must be at least 1s")
	case cfg.connections < 1:
		return cfg, errors.New("-connections must be at least 1")
	case cfg.threads < 1:
		return cfg, errors.New("-threads must be at least 1")
	case cfg.users < 1:
		return cfg, errors.New("-users must be at least 1")
	case cfg.seedWorkers < 1:
		return cfg, errors.New("-seed-workers must be at least 1")
	case cfg.skipCeiling && cfg.skipTourd:
		return cfg, errors.New("-skip-ceiling and -skip-tourd together leave nothing to run")
	case cfg.segments && cfg.skipTourd:
		return cfg, errors.New("-segments measures tourd: it cannot be combined with -skip-tourd")
	case cfg.segUsers < 1:
		return cfg, errors.New("-segment-users must be at least 1")
	case cfg.segManual < 1:
		return cfg, errors.New("-segment-manual must be at least 1")
	case cfg.segRuns < 1:
		return cfg, errors.New("-segment-runs must be at least 1")
	case cfg.segHops < 0:
		return cfg, errors.New("-segment-hops must not be negative")
	case cfg.segStreams < 1:
		return cfg, errors.New("-segment-streams must be at least 1")
	}
	// wrk needs at least one connection per thread.
	cfg.threads = min(cfg.threads, cfg.connections)
	// wrk takes whole seconds.
	cfg.duration = cfg.duration.Round(time.Second)
	if v := os.Getenv("TOURD_DB"); v != "" {
		cfg.db, cfg.dbFromEnv = v, true
	}
	return cfg, nil
}

// backend names the storage backend of a tourd --db value.
func backend(db string) string {
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(db, "sqlite:"):
		return "sqlite"
	default:
		return "unknown"
	}
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if cfg.ceilingAddr != "" {
		if err := runCeiling(cfg.ceilingAddr); err != nil {
			log.Printf("ceiling: %v", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cfg)
	stop()
	os.Exit(code)
}

// run performs the whole benchmark and returns the process exit code.
// Every server it starts is stopped before it returns.
func run(ctx context.Context, cfg config) (code int) {
	var wrkPath string
	if !cfg.segments {
		var err error
		if wrkPath, err = ensureWrk(ctx); err != nil {
			log.Print(err)
			return 1
		}
	}

	tmp, err := os.MkdirTemp("", "tourd-bench-")
	if err != nil {
		log.Print(err)
		return 1
	}
	b := &bench{cfg: cfg, tmp: tmp, wrk: wrkPath}
	if b.cfg.db == "" {
		b.cfg.db = "sqlite:" + filepath.Join(tmp, "bench.db")
	}
	defer func() {
		switch {
		case cfg.keep:
			log.Printf("kept %s", tmp)
		case code != 0 && b.started:
			log.Printf("run failed; kept %s for inspection (logs, wrk outputs)", tmp)
		default:
			os.RemoveAll(tmp)
		}
	}()

	if cfg.segments {
		srep := &segReport{
			backend:    backend(b.cfg.db),
			plan:       newSegPlan(cfg.segUsers, cfg.segManual),
			runs:       cfg.segRuns,
			hops:       cfg.segHops,
			gomaxprocs: runtime.GOMAXPROCS(0),
			nproc:      runtime.NumCPU(),
		}
		err := b.runSegments(ctx, srep)
		if srep.seeding != nil {
			srep.print(os.Stdout)
		}
		return exitCode(ctx, err, srep.ok())
	}

	rep := &report{
		backend:     backend(b.cfg.db),
		users:       cfg.users,
		connections: cfg.connections,
		duration:    cfg.duration,
		threads:     cfg.threads,
		gomaxprocs:  runtime.GOMAXPROCS(0),
		nproc:       runtime.NumCPU(),
	}
	if cfg.skipTourd {
		rep.backend = "none"
	}

	err = b.runAll(ctx, rep)
	if len(rep.rows) > 0 {
		rep.print(os.Stdout)
	}
	return exitCode(ctx, err, rep.ok())
}

// exitCode logs how a run ended and returns the process exit code: err is
// the run's error, ok whether every measurement completed.
func exitCode(ctx context.Context, err error, ok bool) int {
	if ctx.Err() != nil {
		log.Print("FAILED: interrupted")
		return 1
	}
	if err != nil {
		log.Printf("FAILED: %v", err)
		return 1
	}
	if !ok {
		log.Print("FAILED: some runs reported errors (see the report above)")
		return 1
	}
	return 0
}

// bench carries the state shared by the steps of one benchmark run.
type bench struct {
	cfg config
	tmp string // temporary directory for binaries, database, logs and scripts
	wrk string // path of the wrk binary

	// started tells whether a server was started, and so whether the
	// temporary directory holds logs worth keeping after a failure.
	started bool
}

// runAll builds and prepares tourd (so that build errors show up early),
// then runs the loads against the ceiling server and against tourd, one
// server at a time, adding a row to rep for every load.
func (b *bench) runAll(ctx context.Context, rep *report) error {
	// The ceiling server only checks that the header is present and
	// takes any ids in v2 paths; it gets the real credentials when there
	// are some so that both see identical requests.
	c := creds{key: "ak_bench_ceiling", token: "utp_bench_ceiling", project: "bench-project", environment: "bench-environment"}
	var tourdBin string
	if !b.cfg.skipTourd {
		var err error
		if tourdBin, err = buildTourd(ctx, b.tmp); err != nil {
			return err
		}
		if b.cfg.dbFromEnv {
			log.Printf("WARNING: using TOURD_DB (%s backend); existing data in that database is kept, give the bench a fresh database for comparable numbers", backend(b.cfg.db))
		}
		if c.key, err = createKey(ctx, tourdBin, b.cfg.db); err != nil {
			return err
		}
		if c.project, c.environment, err = keyTenant(ctx, tourdBin, b.cfg.db); err != nil {
			return err
		}
		scopes := loadScopes
		if b.cfg.webhook {
			scopes = webhookScopes
		}
		if c.token, err = createToken(ctx, tourdBin, b.cfg.db, c.project, c.environment, scopes); err != nil {
			return err
		}
	}

	if !b.cfg.skipCeiling {
		if err := b.runCeilingLoads(ctx, rep, c); err != nil {
			return err
		}
	}
	if !b.cfg.skipTourd {
		if err := b.runTourdLoads(ctx, rep, tourdBin, c); err != nil {
			return err
		}
	}
	return nil
}

// runCeilingLoads starts the ceiling server, runs every load against it
// and stops it.
func (b *bench) runCeilingLoads(ctx context.Context, rep *report, c creds) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locate own executable for the ceiling server: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	b.started = true
	srv, err := startServer("ceiling", filepath.Join(b.tmp, "ceiling.log"), addr, self, "-ceiling-addr", addr)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.waitReady(ctx, 30*time.Second); err != nil {
		return err
	}
	log.Printf("ceiling server ready on %s (pid %d)", addr, srv.pid())
	b.runLoads(ctx, rep, srv, c)
	log.Printf("tourd: feed long-poll latency, %d samples", feedSamples)
	rep.feed = measureFeed(ctx, srv.baseURL(), c.key)
	if err := ctx.Err(); err != nil {
		return err
	}
	return srv.stop()
}

// startTourd starts tourd serve on a free address and waits until it is
// ready. --rate-limit 0: the v2 loads would otherwise be limited to 1,000
// requests a minute and measure 429s.
func (b *bench) startTourd(ctx context.Context, bin string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b.started = true
	args := []string{"serve", "--addr", addr, "--db", b.cfg.db, "--rate-limit", "0"}
	if b.cfg.webhook {
		args = append(args, "--webhook-allow-private", "1") // the receiver is on loopback
	}
	srv, err := startServer("tourd", filepath.Join(b.tmp, "tourd.log"), addr, bin, args...)
	if err != nil {
		return nil, err
	}
	if err := srv.waitReady(ctx, 30*time.Second); err != nil {
		srv.stop()
		return nil, err
	}
	log.Printf("tourd ready on %s (pid %d, %s backend)", addr, srv.pid(), backend(b.cfg.db))
	return srv, nil
}

// runTourdLoads starts tourd serve (without v2 rate limits), seeds it,
// runs every load against it and stops it.
func (b *bench) runTourdLoads(ctx context.Context, rep *report, bin string, c creds) error {
	srv, err := b.startTourd(ctx, bin)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := seedUsers(ctx, srv.baseURL(), c.key, b.cfg.users, b.cfg.seedWorkers); err != nil {
		return fmt.Errorf("seed: %w (server log: %s)", err, srv.logPath)
	}
	var recv *receiver
	if b.cfg.webhook {
		if recv, err = startReceiver(); err != nil {
			return err
		}
		defer recv.srv.Close()
		if err := createEndpoint(ctx, srv.baseURL(), c, recv.url); err != nil {
			return fmt.Errorf("%w (server log: %s)", err, srv.logPath)
		}
		log.Printf("webhook endpoint delivering every change to %s", recv.url)
	}
	b.runLoads(ctx, rep, srv, c)
	if recv != nil {
		rep.webhook = recv.awaitDeliveries(ctx, 5*time.Second)
	}
	log.Printf("tourd: feed long-poll latency, %d samples", feedSamples)
	rep.feed = measureFeed(ctx, srv.baseURL(), c.key)
	if err := ctx.Err(); err != nil {
		return err
	}
	return srv.stop()
}

// runLoads runs every load against srv, adding one row per load to rep.
// A failing load is recorded in its row and does not stop the others.
func (b *bench) runLoads(ctx context.Context, rep *report, srv *server, c creds) {
	for _, ld := range loads {
		log.Printf("%s: %s for %s (%d connections, %d wrk threads)", srv.name, ld.name, b.cfg.duration, b.cfg.connections, b.cfg.threads)
		r := row{target: srv.name, load: ld.name}
		cpu0, cpuErr := procCPU(srv.pid())
		r.wrk, r.err = b.runLoad(ctx, srv, ld, c)
		if cpu1, err := procCPU(srv.pid()); cpuErr == nil && err == nil && r.wrk != nil && r.wrk.Requests > 0 {
			r.cpuPerReq = (cpu1 - cpu0) / time.Duration(r.wrk.Requests)
		}
		if ctx.Err() != nil {
			r.wrk, r.err = nil, errors.New("interrupted")
			rep.add(r)
			return
		}
		if r.err != nil {
			// A server that just died may not have been reaped yet.
			select {
			case <-srv.done:
			case <-time.After(200 * time.Millisecond):
			}
		}
		if srv.exited() {
			if r.err == nil {
				r.err = fmt.Errorf("%s exited during the load: %v", srv.name, srv.waitErr)
			} else {
				r.err = fmt.Errorf("%s exited: %v: %w", srv.name, srv.waitErr, r.err)
			}
		}
		if r.err != nil {
			log.Printf("%s: %s: %v", srv.name, ld.name, r.err)
			if tail := srv.logTail(2048); tail != "" {
				log.Printf("%s log tail:\n%s", srv.name, tail)
			}
		}
		if srv.exited() {
			rep.add(r)
			return
		}
		// VmHWM is the process's high-water mark so far, so a load's
		// value covers the loads before it (and, for tourd, the seeding).
		if mb, err := peakRSSMB(srv.pid()); err == nil {
			r.peakMB = mb
		} else {
			log.Printf("%s: peak memory: %v", srv.name, err)
		}
		rep.add(r)
	}
}

// runLoad checks that srv answers one request of the load as expected and
// then drives the load with wrk.
func (b *bench) runLoad(ctx context.Context, srv *server, ld load, c creds) (*wrkResult, error) {
	if err := probe(ctx, srv.baseURL(), ld, c, b.cfg.users); err != nil {
		return nil, fmt.Errorf("preflight request: %w", err)
	}
	script := filepath.Join(b.tmp, fmt.Sprintf("%s.lua", ld.slug))
	// The script holds the API key or the token.
	if err := os.WriteFile(script, []byte(ld.script(c, b.cfg.users)), 0o600); err != nil {
		return nil, err
	}
	out := filepath.Join(b.tmp, fmt.Sprintf("wrk-%s-%s.txt", srv.name, ld.slug))
	return runWrk(ctx, wrkRun{
		wrk:         b.wrk,
		url:         srv.baseURL() + ld.fullPath(c, ld.path),
		script:      script,
		threads:     b.cfg.threads,
		connections: b.cfg.connections,
		duration:    b.cfg.duration,
		outPath:     out,
		echo:        b.cfg.verbose,
	})
}
