package sqlite_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/sqlite"
	"tourd/internal/userdata"
)

// TestBackupUnderWrites copies a database while a store holding the server
// lock, as tourd serve does, commits writes from several goroutines, and
// finds in the copy every write acknowledged before the copy began.
func TestBackupUnderWrites(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "tourd.db")
	s, err := sqlite.Open(ctx, path, backendtest.Discard, sqlite.Options{Exclusive: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, hash, prefix := userdata.NewKey()
	if _, err := s.CreateKey(ctx, "default", "production", hash, prefix); err != nil {
		t.Fatal(err)
	}
	tenant, err := s.Authenticate(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}

	var (
		acked backendtest.Acked[string]
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				in := &userdata.UserUpsert{ExternalID: id, Attributes: userdata.Attributes{"n": float64(i)}}
				if _, _, err := s.UpsertUser(ctx, tenant, in); err != nil {
					t.Errorf("upsert %s: %v", id, err)
					return
				}
				acked.Add(id)
			}
		})
	}
	acked.WaitFor(t, 500)
	before := acked.List()
	out := filepath.Join(dir, "backup.db")
	size, err := sqlite.Backup(ctx, path, out, false)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() != size {
		t.Fatalf("backup reported %d bytes; the file: %v, %v", size, fi, err)
	}
	if n := len(acked.List()); n == len(before) {
		t.Fatalf("no write was acknowledged during or after the backup (%d in all): the test proves nothing", n)
	}

	c, err := sqlite.Open(ctx, out, backendtest.Discard, sqlite.Options{})
	if err != nil {
		t.Fatalf("opening the copy: %v", err)
	}
	defer c.Close()
	if _, err := c.Authenticate(ctx, hash); err != nil {
		t.Errorf("the key is not in the copy: %v", err)
	}
	missing := 0
	for _, id := range before {
		if _, err := c.GetUser(ctx, tenant, id, 0); err != nil {
			missing++
			if missing <= 5 {
				t.Errorf("user %s, acknowledged before the backup, is not in the copy: %v", id, err)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d users acknowledged before the backup are missing from the copy", missing, len(before))
	}
}

func TestBackupRefuses(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "tourd.db")
	s, err := sqlite.Open(ctx, path, backendtest.Discard, sqlite.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	out := filepath.Join(dir, "out.db")
	if err := os.WriteFile(out, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}

	// An existing file is kept unless replace is set.
	if _, err := sqlite.Backup(ctx, path, out, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("backup onto an existing file: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Errorf("the existing file was changed to %q", b)
	}
	if size, err := sqlite.Backup(ctx, path, out, true); err != nil || size == 0 {
		t.Errorf("backup with replace: %d bytes, %v", size, err)
	}
	// The database itself is never the destination, by any name.
	if err := os.Symlink(path, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Backup(ctx, path, filepath.Join(dir, "link.db"), true); err == nil {
		t.Error("backup onto the database itself succeeded")
	}
	// A missing database is an error and is not created.
	missing := filepath.Join(dir, "missing.db")
	if _, err := sqlite.Backup(ctx, missing, filepath.Join(dir, "m.db"), false); err == nil {
		t.Error("backup of a missing database succeeded")
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("backup of a missing database created it: %v", err)
	}
	// A file that is not a tourd database is refused.
	if err := os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Backup(ctx, filepath.Join(dir, "empty.db"), filepath.Join(dir, "e.db"), false); err == nil {
		t.Error("backup of an empty file succeeded")
	}

	// No temporary file is left behind, whatever the outcome.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
