// Package cli is tourd's command line: it reads the configuration, sets up
// logging, opens the storage backend and runs serve, keys, migrate, backup
// or version.
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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"tourd/internal/postgres"
	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

// command is one thing tourd does. A name of two words is a subcommand;
// args are its positional arguments.
type command struct{ name, args, about string }

// synopsis is the first line of the command's usage.
func (c command) synopsis() string {
	return strings.TrimSpace("tourd " + c.name + " [flags] " + c.args)
}

// commands lists what tourd does, for its usage and its errors.
var commands = []command{
	{"serve", "", "run the API server"},
	{"keys create", "", "create an API key of --project and --environment (printed as the last line)"},
	{"keys list", "", "list keys (never the keys themselves)"},
	{"keys revoke", "KEY_OR_ID", "deactivate a key, given the key or its id"},
	{"projects create", "", "create a project named --name with its primary environment, Production (its id printed as the last line)"},
	{"projects list", "", "list projects with their environments"},
	{"environments create", "", "add an environment named --name to --project (its id printed as the last line)"},
	{"tokens create", "", "create a personal token of --project with --scopes (printed as the last line)"},
	{"tokens list", "", "list personal tokens (never the tokens themselves)"},
	{"tokens revoke", "TOKEN_OR_ID", "revoke a personal token, given the token or its id"},
	{"migrate", "", "apply pending database migrations and exit"},
	{"backup", "OUT", "copy a SQLite database to the new file OUT, even while it is served"},
	{"version", "", "print the version, the Go version and the VCS revision"},
	{"help", "[COMMAND]", "print the usage of tourd or of a command"},
}

// writeUsage writes tourd's usage: its commands and how to learn more.
func writeUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: tourd <command> [flags] [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	writeCommands(w, "")
	fmt.Fprintln(w, `
Every command but version and help takes --db (TOURD_DB): sqlite:PATH (default
sqlite:tourd.db) or a postgres:// URL. Run 'tourd help <command>' or
'tourd <command> --help' for a command's flags.`)
}

// writeCommands lists the commands whose name starts with prefix.
func writeCommands(w io.Writer, prefix string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		if strings.HasPrefix(c.name, prefix) {
			fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.about)
		}
	}
	tw.Flush()
}

// names lists the words that can follow prefix ("" or "keys ") in a
// command name, in usage order.
func names(prefix string) []string {
	var out []string
	for _, c := range commands {
		if rest, ok := strings.CutPrefix(c.name, prefix); ok {
			if word, _, _ := strings.Cut(rest, " "); !slices.Contains(out, word) {
				out = append(out, word)
			}
		}
	}
	return out
}

// Run runs the command in args (without the program name), writing results
// to stdout and diagnostics to stderr, and returns the exit status: 0, 1 if
// the command failed, 2 for a mistake on the command line. A failure is
// printed to stderr once, on one line. getenv supplies the environment.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := run(ctx, args, getenv, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "tourd:", oneLine(err.Error()))
	if usage := (*usageError)(nil); errors.As(err, &usage) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		writeUsage(stderr)
		return usagef("no command given: want one of %s", strings.Join(names(""), ", "))
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout, stderr)
	case "projects":
		return runProjects(ctx, args[1:], getenv, stdout, stderr)
	case "environments":
		return runEnvironments(ctx, args[1:], getenv, stdout, stderr)
	case "tokens":
		return runTokens(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], getenv, stdout)
	case "version":
		return runVersion(args[1:], stdout)
	case "help", "-h", "--help":
		// tourd help keys create is tourd keys create --help.
		if len(args) == 1 || slices.Contains([]string{"help", "-h", "--help"}, args[1]) {
			writeUsage(stdout)
			return nil
		}
		return run(ctx, append(slices.Clone(args[1:]), "--help"), getenv, stdout, stderr)
	}
	return usagef("unknown command %q: want one of %s", args[0], strings.Join(names(""), ", "))
}

// usageError is a mistake on the command line: an unknown command or flag,
// a bad flag value, a missing or extra argument. Run exits with status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with the formatted message.
func usagef(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// subcommand returns the subcommand of group ("keys") that args start
// with, or "" with a usageError when there is none or it is unknown. For
// -h or --help it prints the group's usage and returns "" and no error.
func subcommand(group string, args []string, stdout io.Writer) (string, error) {
	subs := names(group + " ")
	if len(args) == 0 {
		return "", usagef("%s: missing subcommand: want one of %s", group, strings.Join(subs, ", "))
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" {
		fmt.Fprintf(stdout, "usage: tourd %s <subcommand> [flags] [arguments]\n\nsubcommands:\n", group)
		writeCommands(stdout, group+" ")
		fmt.Fprintf(stdout, "\nRun 'tourd %s <subcommand> --help' for a subcommand's flags.\n", group)
		return "", nil
	}
	if !slices.Contains(subs, sub) {
		return "", usagef("%s: unknown subcommand %q: want one of %s", group, sub, strings.Join(subs, ", "))
	}
	return sub, nil
}

// message returns the message of a domain error, without its code.
func message(err error) string {
	var e *userdata.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// failed returns err, the failure of the command cmd ("keys create"), for
// Run to print: a domain error by its message alone (its code is for the
// HTTP layer), anything else whole.
func failed(cmd string, err error) error {
	var e *userdata.Error
	if errors.As(err, &e) && e.Err == nil {
		return fmt.Errorf("%s: %s", cmd, e.Message)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// oneLine joins the lines of a message, as a driver's error may have
// several (pgx lists each address it tried), so that it prints as one.
func oneLine(msg string) string {
	var out string
	for l := range strings.Lines(msg) {
		switch l = strings.TrimSpace(l); {
		case l == "":
		case out == "":
			out = l
		case strings.HasSuffix(out, ":"):
			out += " " + l
		default:
			out += "; " + l
		}
	}
	return out
}

// common holds the flags every command that opens the database takes.
type common struct {
	db         string
	logLevel   string
	logFormat  string
	pgPoolSize string
	dbTimeout  string
}

func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	registerDB(fs, &c.db, getenv)
	fs.StringVar(&c.logLevel, "log-level", envOr(getenv, "TOURD_LOG_LEVEL", "info"), "log level: "+strings.Join(logLevels, ", ")+" (TOURD_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr(getenv, "TOURD_LOG_FORMAT", "text"), "log format: "+strings.Join(logFormats, ", ")+" (TOURD_LOG_FORMAT)")
	fs.StringVar(&c.pgPoolSize, "pg-pool-size", envOr(getenv, "TOURD_PG_POOL_SIZE", "0"), "most PostgreSQL connections to open; 0 for the URL's pool_max_conns, else 16 (TOURD_PG_POOL_SIZE)")
	fs.StringVar(&c.dbTimeout, "db-timeout", envOr(getenv, "TOURD_DB_TIMEOUT", postgres.DefaultTimeout.String()), "PostgreSQL: deadline of each database call, at most 30s; past it the request gets 503 (TOURD_DB_TIMEOUT)")
}

// registerDB registers --db.
func registerDB(fs *flag.FlagSet, db *string, getenv func(string) string) {
	fs.StringVar(db, "db", envOr(getenv, "TOURD_DB", "sqlite:tourd.db"), "database: sqlite:PATH or a postgres:// URL (TOURD_DB)")
}

// The values --log-level and --log-format take.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

// logger builds the logger the flags ask for, writing to w.
func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usagef("--log-level must be one of %s, not %q", strings.Join(logLevels, ", "), c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format must be one of %s, not %q", strings.Join(logFormats, ", "), c.logFormat)
}

// maxDBTimeout bounds --db-timeout well under the HTTP server's write
// timeout, so that a stalled database is answered 503 before the server
// gives up on the response.
const maxDBTimeout = 30 * time.Second

// parseDB checks a --db value and returns the path of a sqlite:PATH (or
// sqlite://PATH) file, or "" for a PostgreSQL URL.
func parseDB(db string) (sqlitePath string, err error) {
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok {
		if path = strings.TrimPrefix(path, "//"); path == "" {
			return "", usagef("--db sqlite: needs a file path, e.g. sqlite:tourd.db")
		}
		return path, nil
	}
	if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
		return "", usagef("--db must be sqlite:PATH or a postgres:// URL, not %q", redact(db))
	}
	return "", nil
}

// openStore opens the backend the --db value names. opts say how to open a
// SQLite database: tourd serve takes its server lock, serve and keys
// create may create it, serve --check checks it first.
func (c *common) openStore(ctx context.Context, log *slog.Logger, opts sqlite.Options) (userdata.Store, error) {
	path, err := parseDB(c.db)
	if err != nil {
		return nil, err
	}
	if path != "" {
		s, err := sqlite.Open(ctx, path, log, opts)
		if errors.Is(err, sqlite.ErrNoDatabase) {
			return nil, fmt.Errorf("%w; run tourd serve or tourd keys create to create one", err)
		}
		return s, err
	}
	if opts.Check {
		return nil, usagef("--check works on SQLite databases only")
	}
	size, err := strconv.ParseInt(c.pgPoolSize, 10, 32)
	if err != nil || size < 0 {
		return nil, usagef("--pg-pool-size must be a non-negative integer, not %q", c.pgPoolSize)
	}
	timeout, err := time.ParseDuration(c.dbTimeout)
	if err != nil || timeout <= 0 || timeout > maxDBTimeout {
		return nil, usagef("--db-timeout must be a duration above 0 and at most %s (the HTTP write timeout is 1m), not %q", maxDBTimeout, c.dbTimeout)
	}
	return postgres.Open(ctx, c.db, log, postgres.Options{PoolSize: int32(size), Migrate: true, Timeout: timeout})
}

// open sets up the logger the flags ask for, writing to stderr, and opens
// the backend with it (see openStore).
func (c *common) open(ctx context.Context, stderr io.Writer, opts sqlite.Options) (userdata.Store, error) {
	log, err := c.logger(stderr)
	if err != nil {
		return nil, err
	}
	return c.openStore(ctx, log, opts)
}

// location names the database for the log: the absolute path of a SQLite
// file, or the PostgreSQL URL with its password masked.
func (c *common) location() string {
	if path, _ := parseDB(c.db); path != "" {
		return "sqlite:" + absPath(path)
	}
	return redact(c.db)
}

// absPath returns path made absolute, or as it is if the working directory
// is unknown.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
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

// parse parses the flags of the command fs is named after (in commands:
// "serve", "keys create") and returns its
// positional arguments, which may come before, between or after the flags
// (everything after "--" is an argument). With -h or --help it prints the
// command's usage to stdout and returns flag.ErrHelp, for which Run exits
// with status 0. A bad flag or a wrong number of arguments is a usageError.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == fs.Name() })
	if i < 0 {
		panic("cli: no command " + fs.Name())
	}
	cmd := commands[i]
	fs.SetOutput(io.Discard) // Run prints the error, once
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage: %s\n\n%s.\n", cmd.synopsis(), strings.ToUpper(cmd.about[:1])+cmd.about[1:])
			if hasFlags(fs) {
				fmt.Fprintln(stdout, "\nflags:")
				fs.SetOutput(stdout)
				fs.PrintDefaults()
			}
			return nil, flag.ErrHelp
		}
		if err != nil {
			return nil, usagef("%s: %v (run 'tourd %s --help' for usage)", cmd.name, err, cmd.name)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	want := strings.Fields(cmd.args)
	switch {
	case len(pos) > len(want):
		return nil, usagef("%s: unexpected argument %q (usage: %s)", cmd.name, pos[len(want)], cmd.synopsis())
	case len(pos) < len(want):
		return nil, usagef("%s: missing %s (usage: %s)", cmd.name, want[len(pos)], cmd.synopsis())
	}
	return pos, nil
}

// hasFlags reports whether fs defines any flag.
func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
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
	return Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
}
