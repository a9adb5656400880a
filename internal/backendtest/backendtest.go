// Package backendtest opens test stores on every storage backend, so that
// tests above the Store (HTTP, CLI) run against each of them.
package backendtest

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"tourd/internal/sqlite"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// Backend is a storage backend tests can run on.
type Backend struct {
	Name string
	// Open returns a new empty store for one test.
	Open storetest.Opener
	// OpenPair returns two stores on one new empty database.
	OpenPair storetest.PairOpener
	// DSN returns a new empty database as a --db value, for tests that run
	// the tourd binary.
	DSN func(t testing.TB) string
}

// Discard is a logger that drops everything.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// PurgeGrace is the purge grace of test stores (see
// userdata.DefaultPurgeGrace): short, so that tests need not wait long for
// a deleted environment's purge to be done.
const PurgeGrace = 10 * time.Millisecond

// SQLite is the embedded backend, on a file in the test's temp dir.
var SQLite = Backend{
	Name: "sqlite",
	Open: func(t testing.TB) userdata.Store {
		return OpenSQLite(t, filepath.Join(t.TempDir(), "tourd.db"))
	},
	OpenPair: func(t *testing.T) (userdata.Store, userdata.Store) {
		path := filepath.Join(t.TempDir(), "tourd.db")
		return openSQLite(t, path, sqlite.Options{Create: true}), openSQLite(t, path, sqlite.Options{})
	},
	DSN: func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "tourd.db") },
}

// All lists the backends to test on: PostgreSQL only when
// TOURD_TEST_POSTGRES is set.
func All() []Backend {
	if os.Getenv("TOURD_TEST_POSTGRES") == "" {
		return []Backend{SQLite}
	}
	return []Backend{SQLite, Postgres}
}

// Run runs fn as a subtest per backend.
func Run(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range All() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// OpenSQLite opens the server's store on the SQLite file at path, creating
// it if needed, closed when the test ends.
func OpenSQLite(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	return openSQLite(t, path, sqlite.Options{Exclusive: true, Create: true, PurgeGrace: PurgeGrace})
}

func openSQLite(t testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Buffer is a bytes.Buffer safe for concurrent writers, to capture logs.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Acked collects what concurrent writers had acknowledged, for tests that
// check acknowledged writes survive (a crash, a backup).
type Acked[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add records an acknowledged write.
func (a *Acked[T]) Add(item T) {
	a.mu.Lock()
	a.items = append(a.items, item)
	a.mu.Unlock()
}

// List returns the writes acknowledged so far.
func (a *Acked[T]) List() []T {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.items)
}

// WaitFor waits until at least n writes are acknowledged, failing t after
// a minute or as soon as t has failed (a writer gave up).
func (a *Acked[T]) WaitFor(t testing.TB, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); len(a.List()) < n; time.Sleep(10 * time.Millisecond) {
		if t.Failed() || time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged, want %d", len(a.List()), n)
		}
	}
}
