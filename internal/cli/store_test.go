package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

// Only serve, migrate and keys create create a SQLite database, saying
// where; the other commands, those of projects, environments and tokens
// included, say there is none.
func TestMissingSQLiteDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tourd.db")
	db := "sqlite:" + path
	for _, args := range [][]string{
		{"keys", "list", "--db", db},
		{"keys", "revoke", "--db", db, "ak_x"},
		{"projects", "create", "--db", db, "--name", "acme"},
		{"projects", "list", "--db", db},
		{"environments", "create", "--db", db, "--project", "p", "--name", "staging"},
		{"tokens", "create", "--db", db, "--project", "p", "--scopes", "attribute:read"},
		{"tokens", "list", "--db", db},
		{"tokens", "revoke", "--db", db, "utp_x"},
	} {
		err := run(t.Context(), args, noEnv, io.Discard, io.Discard)
		want := "no database at " + path + "; run tourd serve or tourd keys create to create one"
		if err == nil || err.Error() != want {
			t.Errorf("tourd %v: %v, want %q", args, err, want)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("tourd %v made %s: %v", args, path, err)
		}
	}
	for _, args := range [][]string{{"migrate"}, {"keys", "create"}} {
		p := filepath.Join(t.TempDir(), "tourd.db")
		var stderr bytes.Buffer
		if err := run(t.Context(), append(args, "--db", "sqlite:"+p), noEnv, io.Discard, &stderr); err != nil {
			t.Fatalf("tourd %v: %v", args, err)
		}
		if !strings.Contains(stderr.String(), "created new database") || !strings.Contains(stderr.String(), p) {
			t.Errorf("tourd %v did not say it created %s: %s", args, p, stderr.String())
		}
	}
	if err := run(t.Context(), []string{"keys", "create", "--db", db}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"keys", "list", "--db", db}, noEnv, io.Discard, io.Discard); err != nil {
		t.Errorf("keys list once the database exists: %v", err)
	}
}

// serve --check refuses a damaged SQLite database, with what is wrong.
func TestServeCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tourd.db")
	db := "sqlite:" + path
	if err := run(t.Context(), []string{"keys", "create", "--db", db}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, 8*pageSize), pageSize); err != nil { // pages 2 to 9
		t.Fatal(err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = run(ctx, []string{"serve", "--check", "--db", db, "--addr", "127.0.0.1:0"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is damaged; PRAGMA quick_check says:") {
		t.Errorf("serve --check on a damaged database: %v, want a refusal with the problems", err)
	}
}
