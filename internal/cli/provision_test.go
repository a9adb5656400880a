package cli_test

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

// lastLine returns the last line of a command's output.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// ok runs a command that must succeed and returns its standard output.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("tourd %v: exit status %d, stderr %q", args, code, stderr)
	}
	return stdout
}

// keysOf returns the keys of a JSON object, sorted.
func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// newDB returns a --db value of a SQLite database that exists (made by
// keys create, which makes the project "default").
func newDB(t *testing.T) string {
	t.Helper()
	db := "sqlite:" + filepath.Join(t.TempDir(), "tourd.db")
	if _, stderr, code := run(t, "keys", "create", "--db", db); code != 0 {
		t.Fatalf("keys create: exit status %d, stderr %q", code, stderr)
	}
	return db
}

func TestRunProvisioningHelp(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		want, has string
	}{
		{[]string{"projects", "--help"}, "usage: tourd projects <subcommand>", "projects list"},
		{[]string{"help", "environments"}, "usage: tourd environments <subcommand>", "environments create"},
		{[]string{"tokens", "-h"}, "usage: tourd tokens <subcommand>", "tokens revoke TOKEN_OR_ID"},
		{[]string{"projects", "create", "--help"}, "usage: tourd projects create [flags]\n", "-name"},
		{[]string{"help", "projects", "list"}, "usage: tourd projects list [flags]\n", "-json"},
		{[]string{"environments", "create", "-h"}, "usage: tourd environments create [flags]\n", "-project"},
		{[]string{"tokens", "create", "--help"}, "usage: tourd tokens create [flags]\n", "-expires-in"},
		{[]string{"tokens", "list", "--help"}, "usage: tourd tokens list [flags]\n", "-project"},
		{[]string{"tokens", "revoke", "--help"}, "usage: tourd tokens revoke [flags] TOKEN_OR_ID\n", "-db"},
	} {
		stdout, stderr, code := run(t, tt.args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, tt.want) || !strings.Contains(stdout, tt.has) {
			t.Errorf("tourd %v: exit status %d, stderr %q, stdout:\n%s\nwant status 0 and a usage starting %q listing %q", tt.args, code, stderr, stdout, tt.want, tt.has)
		}
	}
}

// Mistakes on the command line exit 2 with one line naming what is wrong,
// before the database is opened.
func TestRunProvisioningUsageErrors(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "tourd.db")
	envScopes := "segment:read, segment:create, segment:update, segment:delete, user:read, user:write, user:delete, company:read, company:write, company:delete, webhook:read, webhook:manage"
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"projects"}, "projects: missing subcommand: want one of create, list"},
		{[]string{"projects", "nope"}, `projects: unknown subcommand "nope": want one of create, list`},
		{[]string{"environments"}, "environments: missing subcommand: want one of create"},
		{[]string{"tokens", "delete"}, `tokens: unknown subcommand "delete": want one of create, list, revoke`},
		{[]string{"projects", "create", "--db", db}, "projects create: --name is required"},
		{[]string{"projects", "create", "--db", db, "--name", " "}, "projects create: --name: project name must not be empty"},
		{[]string{"projects", "create", "--db", db, "--name", strings.Repeat("x", 256)}, "projects create: --name: project name must be at most 255 bytes"},
		{[]string{"projects", "create", "--db", db, "--name", "a", "b"}, `projects create: unexpected argument "b" (usage: tourd projects create [flags])`},
		{[]string{"projects", "list", "--db", db, "--name", "x"}, "projects list: flag provided but not defined: -name (run 'tourd projects list --help' for usage)"},
		{[]string{"environments", "create", "--db", db, "--name", "x"}, "environments create: --project is required"},
		{[]string{"environments", "create", "--db", db, "--project", "p"}, "environments create: --name is required"},
		{[]string{"tokens", "create", "--db", db, "--scopes", "all"}, "tokens create: --project is required"},
		{[]string{"tokens", "create", "--db", db, "--project", "p"}, "tokens create: --scopes is required: all, or capabilities such as user:read,user:write"},
		{[]string{"tokens", "create", "--db", db, "--project", "p", "--scopes", "user:fly"}, `tokens create: --scopes: unknown scope "user:fly": want all or capabilities such as user:read (` + strings.Join(capabilityNames(), ", ") + ")"},
		{[]string{"tokens", "create", "--db", db, "--project", "p", "--scopes", "user:read,attribute:read,company:write"},
			"tokens create: --environments is required: scopes user:read, company:write act on an environment's data"},
		{[]string{"tokens", "create", "--db", db, "--project", "p", "--scopes", "all", "--environments", " , "},
			"tokens create: --environments is required: scopes " + envScopes + " act on an environment's data"},
		{[]string{"tokens", "create", "--db", db, "--project", "p", "--scopes", "attribute:read", "--expires-in", "0"}, `tokens create: --expires-in "0": must be positive`},
		{[]string{"tokens", "create", "--db", db, "--project", "p", "--scopes", "attribute:read", "--expires-in", "3x"},
			`tokens create: --expires-in "3x": want a Go duration such as 720h or a number of days such as 30d`},
		{[]string{"tokens", "create", "--db", db, "--project", "p", "--scopes", "attribute:read", "--name", "a\x00"},
			"tokens create: --name: token name must be valid UTF-8 without NUL characters"},
		{[]string{"tokens", "list", "--db", db, "x"}, `tokens list: unexpected argument "x" (usage: tourd tokens list [flags])`},
		{[]string{"tokens", "revoke", "--db", db}, "tokens revoke: missing TOKEN_OR_ID (usage: tourd tokens revoke [flags] TOKEN_OR_ID)"},
	} {
		stdout, stderr, code := run(t, tt.args...)
		if want := "tourd: " + tt.want + "\n"; code != 2 || stdout != "" || stderr != want {
			t.Errorf("tourd %q: exit status %d, stdout %q, stderr %q; want status 2 and stderr %q", tt.args, code, stdout, stderr, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tourd.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a usage error created the database: %v", err)
	}
}

func capabilityNames() []string {
	var out []string
	for _, c := range userdata.Capabilities {
		out = append(out, string(c))
	}
	return out
}

// wantFailure runs a command that must fail with exit status 1 and the one
// line want.
func wantFailure(t *testing.T, want string, args ...string) {
	t.Helper()
	stdout, stderr, code := run(t, args...)
	if code != 1 || stdout != "" || stderr != "tourd: "+want+"\n" {
		t.Errorf("tourd %v: exit status %d, stdout %q, stderr %q; want status 1 and %q", args, code, stdout, stderr, want)
	}
}

// projects and environments create print the new id last, or with --json
// the objects of v2-cli.md; projects list shows them all; keys create
// takes their ids and refuses ambiguous names.
func TestRunProjects(t *testing.T) {
	db := newDB(t)
	out := ok(t, "projects", "create", "--db", db, "--name", "acme")
	id1 := lastLine(out)
	if !regexp.MustCompile(`^created project "acme" with its primary environment "Production" \(\w+\); the project's id:\n\w+\n$`).MatchString(out) {
		t.Errorf("projects create:\n%s", out)
	}
	var p2 map[string]any
	if err := json.Unmarshal([]byte(ok(t, "projects", "create", "--db", db, "--name", "acme", "--json")), &p2); err != nil {
		t.Fatal(err)
	}
	envs, _ := p2["environments"].([]any)
	if !cmp.Equal(keysOf(p2), []string{"environments", "id", "name"}) || p2["name"] != "acme" || p2["id"] == id1 || len(envs) != 1 {
		t.Fatalf("projects create --json: %v", p2)
	}
	prod2 := envs[0].(map[string]any)
	if !cmp.Equal(keysOf(prod2), []string{"id", "isPrimary", "name"}) || prod2["name"] != "Production" || prod2["isPrimary"] != true {
		t.Errorf("primary environment in projects create --json: %v", prod2)
	}
	id2 := p2["id"].(string)

	out = ok(t, "environments", "create", "--db", db, "--project", id1, "--name", "Staging")
	staging := lastLine(out)
	if !strings.HasPrefix(out, `created environment "Staging" of project `+id1+"; its id:\n") {
		t.Errorf("environments create:\n%s", out)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(ok(t, "environments", "create", "--db", db, "--project", id1, "--name", "Staging", "--json")), &e); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(keysOf(e), []string{"id", "isPrimary", "name"}) || e["name"] != "Staging" || e["isPrimary"] != false || e["id"] == staging {
		t.Errorf("environments create --json: %v", e)
	}
	wantFailure(t, "environments create: no project nope", "environments", "create", "--db", db, "--project", "nope", "--name", "x")

	var list []projectListed
	if err := json.Unmarshal([]byte(ok(t, "projects", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range list {
		for _, e := range p.Environments {
			got = append(got, p.Name+"/"+e.Name+"/"+strings.Repeat("primary", boolInt(e.IsPrimary)))
		}
	}
	if want := []string{"default/production/primary", "acme/Production/primary", "acme/Staging/", "acme/Staging/", "acme/Production/primary"}; !cmp.Equal(got, want) ||
		list[1].ID != id1 || list[2].ID != id2 || list[1].Environments[1].ID != staging {
		t.Errorf("projects list --json: %+v", list)
	}
	text := ok(t, "projects", "list", "--db", db)
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 6 || !strings.HasPrefix(lines[0], "PROJECT ID") || !strings.Contains(lines[3], staging) {
		t.Errorf("projects list:\n%s", text)
	}

	wantFailure(t, `keys create: project name "acme" matches 2 projects: `+id1+", "+id2+"; give the id of one", "keys", "create", "--db", db, "--project", "acme")
	wantFailure(t, `keys create: environment name "Staging" matches 2 environments: `+staging+", "+e["id"].(string)+"; give the id of one",
		"keys", "create", "--db", db, "--project", id1, "--environment", "Staging")
	out = ok(t, "keys", "create", "--db", db, "--project", id1, "--environment", staging)
	if !strings.HasPrefix(out, `created key `) || !strings.Contains(out, `for project "acme" (`+id1+`), environment "Staging" (`+staging+`)`) {
		t.Errorf("keys create by ids:\n%s", out)
	}
}

type projectListed struct {
	ID           string
	Name         string
	Environments []struct {
		ID        string
		Name      string
		IsPrimary bool
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tokens create prints the token last (only a hash is kept); tokens list
// never shows it; tokens revoke takes the token or its id.
func TestRunTokens(t *testing.T) {
	db := newDB(t)
	var p projectListed
	if err := json.Unmarshal([]byte(ok(t, "projects", "create", "--db", db, "--name", "acme", "--json")), &p); err != nil {
		t.Fatal(err)
	}
	prod := p.Environments[0].ID
	staging := lastLine(ok(t, "environments", "create", "--db", db, "--project", p.ID, "--name", "staging"))

	before := time.Now()
	out := ok(t, "tokens", "create", "--db", db, "--project", p.ID, "--scopes", "user:read, attribute:read", "--environments", prod+","+staging+","+prod, "--name", "ci", "--expires-in", "30d")
	token := lastLine(out)
	if !regexp.MustCompile(`^utp_[A-Za-z0-9_-]{43}$`).MatchString(token) ||
		!regexp.MustCompile(`^created token \w+ of project `+p.ID+` \(scopes attribute:read,user:read; environments `+prod+`,`+staging+`; expires at \S+\); it is shown only once:\n`).MatchString(out) {
		t.Fatalf("tokens create:\n%s", out)
	}
	out = ok(t, "tokens", "create", "--db", db, "--project", p.ID, "--scopes", "all", "--environments", prod)
	allToken := lastLine(out)
	if !strings.Contains(out, "(scopes all; environments "+prod+"; never expires)") {
		t.Errorf("tokens create --scopes all:\n%s", out)
	}
	// --environments is ignored for a token without env-targeted scopes.
	ok(t, "tokens", "create", "--db", db, "--project", p.ID, "--scopes", "environment:read", "--environments", "whatever")
	wantFailure(t, "tokens create: environment nope is not a live environment of project "+p.ID,
		"tokens", "create", "--db", db, "--project", p.ID, "--scopes", "user:read", "--environments", "nope")
	wantFailure(t, "tokens create: no project nope", "tokens", "create", "--db", db, "--project", "nope", "--scopes", "attribute:read")

	// The printed token is the one stored.
	s, err := sqlite.Open(t.Context(), strings.TrimPrefix(db, "sqlite:"), slog.New(slog.NewTextHandler(io.Discard, nil)), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	principal, err := s.AuthenticateToken(t.Context(), userdata.HashKey(token))
	s.Close()
	if err != nil || principal.ProjectID != p.ID || !cmp.Equal(principal.Environments, []string{prod, staging}) ||
		principal.ExpiresAt.Sub(before.Add(30*24*time.Hour)) < 0 || principal.ExpiresAt.Sub(before.Add(30*24*time.Hour)) > time.Minute {
		t.Fatalf("the token printed authenticates as %+v, %v", principal, err)
	}

	text := ok(t, "tokens", "list", "--db", db)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 4 || !regexp.MustCompile(`^ID\s+NAME\s+PROJECT\s+SCOPES\s+ENVIRONMENTS\s+CREATED\s+EXPIRES\s+LAST USED\s+REVOKED$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^\w+\s+ci\s+`+p.ID+`\s+attribute:read,user:read\s+`+prod+`,`+staging+`\s+\S+\s+\S+\s+\S+\s+-$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^\w+\s+-\s+`+p.ID+`\s+all\s+`+prod+`\s+\S+\s+never\s+never\s+-$`).MatchString(lines[2]) ||
		!regexp.MustCompile(`^\w+\s+-\s+`+p.ID+`\s+environment:read\s+all\s+\S+\s+never\s+never\s+-$`).MatchString(lines[3]) ||
		strings.Contains(text, token) || strings.Contains(text, allToken) {
		t.Errorf("tokens list:\n%s", text)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(ok(t, "tokens", "list", "--db", db, "--project", p.ID, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	want := []string{"createdAt", "environments", "expiresAt", "id", "lastUsedAt", "name", "prefix", "projectId", "revokedAt", "scopes"}
	if len(list) != 3 || !cmp.Equal(keysOf(list[0]), want) || list[0]["name"] != "ci" || !strings.HasPrefix(token, list[0]["prefix"].(string)) ||
		!cmp.Equal(list[0]["scopes"], []any{"attribute:read", "user:read"}) || !cmp.Equal(list[0]["environments"], []any{prod, staging}) ||
		!cmp.Equal(list[1]["environments"], []any{prod}) || list[1]["expiresAt"] != nil || list[2]["revokedAt"] != nil ||
		!cmp.Equal(list[2]["scopes"], []any{"environment:read"}) || list[2]["environments"] != nil {
		t.Errorf("tokens list --json: %v", list)
	}
	wantFailure(t, "tokens list: no project nope", "tokens", "list", "--db", db, "--project", "nope")
	if out := ok(t, "tokens", "list", "--db", db, "--project", p.ID, "--json"); strings.Contains(out, token) {
		t.Error("tokens list --json shows a token")
	}

	if out := ok(t, "tokens", "revoke", "--db", db, token); out != "revoked\n" {
		t.Errorf("tokens revoke TOKEN: %q", out)
	}
	if out := ok(t, "tokens", "revoke", list[2]["id"].(string), "--db", db); out != "revoked\n" {
		t.Errorf("tokens revoke ID: %q", out)
	}
	wantFailure(t, "tokens revoke: no such token", "tokens", "revoke", "--db", db, "utp_nope")
	if err := json.Unmarshal([]byte(ok(t, "tokens", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if list[0]["revokedAt"] == nil || list[1]["revokedAt"] != nil || list[2]["revokedAt"] == nil {
		t.Errorf("tokens list --json after revoking the first and the last: %v", list)
	}
}
