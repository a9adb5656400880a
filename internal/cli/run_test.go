package cli_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"tourd/internal/cli"
)

// run runs cli.Run with an empty environment and returns what it printed
// and its exit status.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	code = cli.Run(t.Context(), args, func(string) string { return "" }, &out, &errOut)
	return out.String(), errOut.String(), code
}

const commandList = "serve, keys, projects, environments, tokens, migrate, backup, version, help"

// Every command and subcommand prints its usage on stdout for -h, --help
// and tourd help, and exits 0.
func TestRunHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string // the start of the usage
		has  string // something it must list
	}{
		{[]string{"help"}, "usage: tourd <command>", "backup OUT"},
		{[]string{"-h"}, "usage: tourd <command>", "keys revoke KEY_OR_ID"},
		{[]string{"--help"}, "usage: tourd <command>", "version"},
		{[]string{"help", "help"}, "usage: tourd <command>", "help [COMMAND]"},
		{[]string{"serve", "--help"}, "usage: tourd serve [flags]\n", "-addr"},
		{[]string{"serve", "-h"}, "usage: tourd serve [flags]\n", "-log-level"},
		{[]string{"help", "serve"}, "usage: tourd serve [flags]\n", "-debug-addr"},
		{[]string{"keys", "--help"}, "usage: tourd keys <subcommand>", "keys revoke KEY_OR_ID"},
		{[]string{"keys", "-h"}, "usage: tourd keys <subcommand>", "keys create"},
		{[]string{"help", "keys"}, "usage: tourd keys <subcommand>", "keys list"},
		{[]string{"keys", "create", "--help"}, "usage: tourd keys create [flags]\n", "-environment"},
		{[]string{"help", "keys", "create"}, "usage: tourd keys create [flags]\n", "-project"},
		{[]string{"keys", "list", "-h"}, "usage: tourd keys list [flags]\n", "-db"},
		{[]string{"keys", "revoke", "--help"}, "usage: tourd keys revoke [flags] KEY_OR_ID\n", "-db"},
		{[]string{"migrate", "--help"}, "usage: tourd migrate [flags]\n", "-db"},
		{[]string{"backup", "--help"}, "usage: tourd backup [flags] OUT\n", "-force"},
		{[]string{"help", "backup"}, "usage: tourd backup [flags] OUT\n", "-db"},
		{[]string{"version", "--help"}, "usage: tourd version [flags]\n", "Print the version"},
	} {
		stdout, stderr, code := run(t, tt.args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, tt.want) || !strings.Contains(stdout, tt.has) {
			t.Errorf("tourd %v: exit status %d, stderr %q, stdout:\n%s\nwant status 0 and a usage starting %q listing %q", tt.args, code, stderr, stdout, tt.want, tt.has)
		}
	}
}

// A mistake on the command line is one line on stderr naming what is
// valid, and exit status 2. Nothing is created.
func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "tourd.db")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope": want one of ` + commandList},
		{[]string{"help", "nope"}, `unknown command "nope": want one of ` + commandList},
		{[]string{"keys"}, "keys: missing subcommand: want one of create, list, revoke"},
		{[]string{"keys", "nope"}, `keys: unknown subcommand "nope": want one of create, list, revoke`},
		{[]string{"serve", "extra"}, `serve: unexpected argument "extra" (usage: tourd serve [flags])`},
		{[]string{"serve", "--db", db, "extra"}, `serve: unexpected argument "extra" (usage: tourd serve [flags])`},
		{[]string{"migrate", "x"}, `migrate: unexpected argument "x" (usage: tourd migrate [flags])`},
		{[]string{"keys", "list", "y"}, `keys list: unexpected argument "y" (usage: tourd keys list [flags])`},
		{[]string{"keys", "revoke"}, "keys revoke: missing KEY_OR_ID (usage: tourd keys revoke [flags] KEY_OR_ID)"},
		{[]string{"keys", "revoke", "a", "b"}, `keys revoke: unexpected argument "b" (usage: tourd keys revoke [flags] KEY_OR_ID)`},
		{[]string{"keys", "list", "--project", "p"}, "keys list: flag provided but not defined: -project (run 'tourd keys list --help' for usage)"},
		{[]string{"backup"}, "backup: missing OUT (usage: tourd backup [flags] OUT)"},
		{[]string{"backup", "a", "b"}, `backup: unexpected argument "b" (usage: tourd backup [flags] OUT)`},
		{[]string{"version", "x"}, `version: unexpected argument "x" (usage: tourd version [flags])`},
		{[]string{"serve", "--nope"}, "serve: flag provided but not defined: -nope (run 'tourd serve --help' for usage)"},
		{[]string{"serve", "--log-level", "x"}, `--log-level must be one of debug, info, warn, error, not "x"`},
		{[]string{"migrate", "--log-format", "x"}, `--log-format must be one of text, json, not "x"`},
		{[]string{"serve", "--db", "mysql://x"}, `--db must be sqlite:PATH or a postgres:// URL, not "mysql://x"`},
		{[]string{"keys", "list", "--db", "sqlite:"}, "--db sqlite: needs a file path, e.g. sqlite:tourd.db"},
		{[]string{"keys", "list", "--db", "postgres://127.0.0.1:1/x", "--pg-pool-size", "-1"}, `--pg-pool-size must be a non-negative integer, not "-1"`},
		{[]string{"keys", "create", "--db", db, "--project", " "}, "keys create: --project and --environment must not be empty"},
		{[]string{"backup", "--db", "postgres://tourd:s3cret@db/tourd", "out.db"}, "backup copies SQLite databases only: back up PostgreSQL with pg_dump, e.g. pg_dump --format=custom --file=tourd.dump 'postgres://tourd:xxxxx@db/tourd' (see the README, Backup and restore)"},
	} {
		stdout, stderr, code := run(t, tt.args...)
		if want := "tourd: " + tt.want + "\n"; code != 2 || stdout != "" || stderr != want {
			t.Errorf("tourd %v: exit status %d, stdout %q, stderr %q; want status 2 and stderr %q", tt.args, code, stdout, stderr, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tourd.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a usage error created the database: %v", err)
	}

	// With no command at all, the usage goes to stderr before the error.
	stdout, stderr, code := run(t)
	if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "usage: tourd <command>") || !strings.HasSuffix(stderr, "\ntourd: no command given: want one of "+commandList+"\n") {
		t.Errorf("tourd: exit status %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

// A command that fails prints one line on stderr and exits 1, even when
// the driver's error has several lines.
func TestRunFailures(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := run(t, "keys", "create", "--db", "sqlite:"+filepath.Join(dir, "a.db")); code != 0 {
		t.Fatalf("keys create: exit status %d: %s", code, stderr)
	}
	for _, tt := range []struct {
		args []string
		want string // a regexp the one line must match
	}{
		{[]string{"keys", "revoke", "--db", "sqlite:" + filepath.Join(dir, "a.db"), "ak_unknown"}, `^keys revoke: no such key$`},
		{[]string{"keys", "list", "--db", "sqlite:" + dir}, `unable to open database file`}, // a directory
		{[]string{"keys", "list", "--db", "sqlite:" + filepath.Join(dir, "none.db")}, `^no database at .*none.db; run tourd serve or tourd keys create to create one$`},
		// No server listens on port 1; pgx tries with and without TLS and
		// reports both attempts on separate lines.
		{[]string{"keys", "list", "--db", "postgres://tourd@127.0.0.1:1/tourd"}, `failed to connect.*connection refused`},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://tourd@127.0.0.1:1/tourd"}, `failed to connect.*connection refused`},
	} {
		stdout, stderr, code := run(t, tt.args...)
		line, ok := strings.CutPrefix(strings.TrimSuffix(stderr, "\n"), "tourd: ")
		if code != 1 || stdout != "" || !ok || strings.Count(stderr, "\n") != 1 || !regexp.MustCompile(tt.want).MatchString(line) {
			t.Errorf("tourd %v: exit status %d, stdout %q, stderr %q; want status 1 and one line matching %s", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

func TestRunVersion(t *testing.T) {
	stdout, stderr, code := run(t, "version")
	want := regexp.MustCompile(`^tourd \S+\ngo: ` + regexp.QuoteMeta(runtime.Version()) + `\nrevision: \S+.*\n$`)
	if code != 0 || stderr != "" || !want.MatchString(stdout) {
		t.Errorf("tourd version: exit status %d, stderr %q, stdout %q; want %s", code, stderr, stdout, want)
	}
}

// Flags may follow the arguments: tourd keys revoke KEY --db DB.
func TestRunFlagsAfterArguments(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tourd.db")
	stdout, stderr, code := run(t, "keys", "create", "--db", db)
	if code != 0 {
		t.Fatalf("keys create: %d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	key := lines[len(lines)-1]
	if stdout, stderr, code := run(t, "keys", "revoke", key, "--db", db); code != 0 || stdout != "revoked\n" {
		t.Errorf("keys revoke KEY --db DB: exit status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// After --, everything is an argument.
	if _, stderr, code := run(t, "keys", "revoke", "--db", db, "--", "--db"); code != 1 || stderr != "tourd: keys revoke: no such key\n" {
		t.Errorf("keys revoke -- --db: exit status %d, stderr %q", code, stderr)
	}
}

// tourd backup writes a copy and says where and how big, refuses to
// replace a file without --force, and never creates the database.
func TestRunBackup(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "tourd.db")
	if _, stderr, code := run(t, "keys", "create", "--db", db); code != 0 {
		t.Fatalf("keys create: %d %s", code, stderr)
	}
	out := filepath.Join(dir, "copy.db")
	wrote := regexp.MustCompile(`^wrote ` + regexp.QuoteMeta(out) + `: ([1-9][0-9]*) bytes \([0-9.]+ MiB\), a copy of ` + regexp.QuoteMeta(filepath.Join(dir, "tourd.db")) + "\n$")
	stdout, stderr, code := run(t, "backup", "--db", db, out)
	m := wrote.FindStringSubmatch(stdout)
	if code != 0 || stderr != "" || m == nil {
		t.Fatalf("backup: exit status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if fi, err := os.Stat(out); err != nil || m[1] != strconv.FormatInt(fi.Size(), 10) {
		t.Errorf("backup said %s bytes; the file: %v, %v", m[1], fi, err)
	}
	if stdout, stderr, code := run(t, "backup", "--db", db, out); code != 1 || stdout != "" || stderr != "tourd: backup: "+out+" exists: pass --force to replace it\n" {
		t.Errorf("backup onto an existing file: exit status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if stdout, stderr, code := run(t, "backup", out, "--force", "--db", db); code != 0 || !wrote.MatchString(stdout) {
		t.Errorf("backup --force: exit status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	missing := filepath.Join(dir, "missing.db")
	if _, stderr, code := run(t, "backup", "--db", "sqlite:"+missing, filepath.Join(dir, "m.db")); code != 1 || !strings.Contains(stderr, "no database") {
		t.Errorf("backup of a missing database: exit status %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("backup created the missing database: %v", err)
	}
}
