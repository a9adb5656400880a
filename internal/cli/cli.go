// Package cli is tourd's command line: it reads the configuration, sets up
// logging, opens the storage backend and runs serve, keys or migrate.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"tourd/internal/postgres"
	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

const usage = `usage: tourd <command> [flags]

commands:
  serve                      run the API server
  keys create [--project P] [--environment E]
                             create an API key (printed as the last line)
  keys list                  list keys (never the keys themselves)
  keys revoke <key or id>    deactivate a key
  migrate                    apply pending database migrations and exit

Every command takes --db (TOURD_DB): sqlite:PATH (default sqlite:tourd.db)
or a postgres:// URL. Run 'tourd <command> -h' for a command's flags.`

// Run runs the command in args (without the program name), writing results
// to stdout and diagnostics to stderr. getenv supplies the environment.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stderr)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// common holds the flags every command takes.
type common struct {
	db         string
	logLevel   string
	logFormat  string
	pgPoolSize string
	dbTimeout  string
}

func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.db, "db", envOr(getenv, "TOURD_DB", "sqlite:tourd.db"), "database: sqlite:PATH or a postgres:// URL (TOURD_DB)")
	fs.StringVar(&c.logLevel, "log-level", envOr(getenv, "TOURD_LOG_LEVEL", "info"), "log level: debug, info, warn or error (TOURD_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr(getenv, "TOURD_LOG_FORMAT", "text"), "log format: text or json (TOURD_LOG_FORMAT)")
	fs.StringVar(&c.pgPoolSize, "pg-pool-size", envOr(getenv, "TOURD_PG_POOL_SIZE", "0"), "most PostgreSQL connections to open; 0 for the URL's pool_max_conns, else 16 (TOURD_PG_POOL_SIZE)")
	fs.StringVar(&c.dbTimeout, "db-timeout", envOr(getenv, "TOURD_DB_TIMEOUT", postgres.DefaultTimeout.String()), "PostgreSQL: deadline of each database call, at most 30s; past it the request gets 503 (TOURD_DB_TIMEOUT)")
}

// logger builds the logger the flags ask for, writing to w.
func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", c.logFormat)
}

// maxDBTimeout bounds --db-timeout well under the HTTP server's write
// timeout, so that a stalled database is answered 503 before the server
// gives up on the response.
const maxDBTimeout = 30 * time.Second

// openStore opens the backend the --db value names. server is true for
// tourd serve, which takes SQLite's server lock.
func (c *common) openStore(ctx context.Context, log *slog.Logger, server bool) (userdata.Store, error) {
	switch {
	case strings.HasPrefix(c.db, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(c.db, "sqlite:"), "//") // sqlite:PATH or sqlite://PATH
		if path == "" {
			return nil, errors.New("--db sqlite: needs a file path, e.g. sqlite:tourd.db")
		}
		return sqlite.Open(ctx, path, log, sqlite.Options{Exclusive: server})
	case strings.HasPrefix(c.db, "postgres://"), strings.HasPrefix(c.db, "postgresql://"):
		size, err := strconv.ParseInt(c.pgPoolSize, 10, 32)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("--pg-pool-size must be a non-negative integer, not %q", c.pgPoolSize)
		}
		timeout, err := time.ParseDuration(c.dbTimeout)
		if err != nil || timeout <= 0 || timeout > maxDBTimeout {
			return nil, fmt.Errorf("--db-timeout must be a duration above 0 and at most %s (the HTTP write timeout is 1m), not %q", maxDBTimeout, c.dbTimeout)
		}
		return postgres.Open(ctx, c.db, log, postgres.Options{PoolSize: int32(size), Migrate: true, Timeout: timeout})
	}
	return nil, fmt.Errorf("--db must be sqlite:PATH or a postgres:// URL, not %q", redact(c.db))
}

// redact hides the password of a database URL, in its user part or in a
// password parameter, before it is logged or shown. A value that is neither
// a sqlite: path nor a URL it can parse is hidden whole: it may hold a
// password where redact cannot find it.
func redact(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "(not shown: not a URL, and it may hold a password)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// parse parses a subcommand's flags, turning -h into a clean exit.
func parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	return false, err
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// Main is the whole program for cmd/tourd: it runs the command with the
// process's environment and returns the exit status.
func Main(ctx context.Context, args []string) int {
	if err := Run(ctx, args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tourd:", err)
		return 1
	}
	return 0
}
