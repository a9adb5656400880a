package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"tourd/internal/httpapi"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// logBuffer collects a store's log, safe for concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// openWithLog opens a server's store at path, logging to logs.
func openWithLog(t *testing.T, path string, logs *logBuffer) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, logs.logger(), Options{Exclusive: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// api serves the store over real HTTP and returns a function that calls
// it with a key of the store's, returning the status.
func api(t *testing.T, s *Store) func(method, path, body string) int {
	t.Helper()
	key, hash, prefix := userdata.NewKey()
	if _, err := s.CreateKey(t.Context(), "p", "e", hash, prefix); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(s, discard, ""))
	t.Cleanup(srv.Close)
	return func(method, path, body string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" && path != "/readyz" {
			t.Errorf("%s %s: 503 without Retry-After", method, path)
		}
		return resp.StatusCode
	}
}

// want fails the test unless call answers status.
func want(t *testing.T, status int, call func(method, path, body string) int, method, path, body string) {
	t.Helper()
	if got := call(method, path, body); got != status {
		t.Fatalf("%s %s: status %d, want %d", method, path, got, status)
	}
}

// blockSync makes the WAL's fsyncs wait until release is called, and
// signals entered as each begins. fail is what they then return (nil for a
// real fsync).
func blockSync(t *testing.T, fail error) (entered <-chan struct{}, release func()) {
	in, out := make(chan struct{}, 16), make(chan struct{})
	syncWAL = func(f *os.File) error {
		in <- struct{}{}
		<-out
		if fail != nil {
			return fail
		}
		return syncData(f)
	}
	var once sync.Once
	release = func() { once.Do(func() { close(out) }) }
	t.Cleanup(func() {
		release()
		syncWAL = syncData
	})
	return in, release
}

func isUnavailable(err error) bool { return userdata.ErrorCode(err) == userdata.CodeUnavailable }

// No write is acknowledged before the fsync of its commit has returned:
// with the fsync blocked, the write does not return, and a store that
// skipped the fsync would answer at once.
func TestNoAckBeforeSync(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	entered, release := blockSync(t, nil)
	done := make(chan error, 1)
	go func() {
		_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the write was acknowledged (err %v) without an fsync", err)
	case <-entered:
	}
	select {
	case err := <-done:
		t.Fatalf("the write was acknowledged (err %v) while its fsync was still running", err)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("write after its fsync: %v", err)
	}
}

// After an fsync fails, no write reaches the database any more: the write
// waiting in the open transaction is rolled back, later ones never begin,
// all answer CodeUnavailable (503), and Ping fails until a restart.
func TestFsyncFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tourd.db")
	s := openExclusive(t, path)
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	upsert := func(id string) error {
		_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: id})
		return err
	}
	if err := upsert("before"); err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{}, 16) // the writer ran a write
	s.Now = func() time.Time {
		ran <- struct{}{}
		return time.Now()
	}
	eio := errors.New("input/output error")
	entered, release := blockSync(t, eio)
	errs := make(chan error, 2)
	go func() { errs <- upsert("during") }()
	<-ran
	<-entered
	// "joined" runs in the transaction after "during", while its fsync runs.
	go func() { errs <- upsert("joined") }()
	<-ran
	release()
	for range 2 {
		if err := <-errs; !isUnavailable(err) {
			t.Errorf("write meeting the failed fsync: error %v, want CodeUnavailable", err)
		}
	}
	syncWAL = syncData
	if err := upsert("after"); !isUnavailable(err) || !errors.Is(err, eio) {
		t.Errorf("write after the failed fsync: error %v, want CodeUnavailable from %v", err, eio)
	}
	if len(ran) > 0 {
		t.Error("a write after the failed fsync was run, in a transaction of its own")
	}
	if err := s.Ping(ctx); !errors.Is(err, eio) {
		t.Errorf("Ping after the failed fsync: %v, want %v", err, eio)
	}
	s.Close()
	s = openExclusive(t, path)
	if _, err := s.GetUser(ctx, tn, "before", 0); err != nil {
		t.Errorf("the write acknowledged before the failure: %v", err)
	}
	for _, id := range []string{"joined", "after"} {
		if _, err := s.GetUser(ctx, tn, id, 0); !userdata.IsNotFound(err, userdata.ResourceUser) {
			t.Errorf("user %q, written after the fsync failed, reached the database: %v", id, err)
		}
	}
}

// A write stuck in an fsync, or in a statement waiting for another
// process's lock, makes Ping fail once it has taken longer than
// stallLimit, and Ping succeeds again when it is done.
func TestStalledWrite(t *testing.T) {
	defer func(d time.Duration) { stallLimit = d }(stallLimit)
	stallLimit = 100 * time.Millisecond
	path := filepath.Join(t.TempDir(), "tourd.db")
	s := openExclusive(t, path)
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	upsert := func() <-chan error {
		done := make(chan error, 1)
		go func() {
			_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u"})
			done <- err
		}()
		return done
	}
	waitStall := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			err := s.Ping(ctx)
			if err != nil && strings.Contains(err.Error(), "stalled") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Ping with %s for 10 s: %v, want a stall", what, err)
			}
		}
	}

	entered, release := blockSync(t, nil)
	done := upsert()
	<-entered
	waitStall("an fsync blocked")
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping once the write is done: %v", err)
	}

	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE projects SET name = name || '!'"); err != nil { // takes the write lock
		t.Fatal(err)
	}
	done = upsert()
	waitStall("the writer waiting for a lock")
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping once the write is done: %v", err)
	}
}

// A database locked by another process past the busy timeout is a storage
// fault: the write answers CodeUnavailable with SQLITE_BUSY, Ping fails
// (its own write fails too), and both work again once the lock is gone.
func TestBusy(t *testing.T) {
	defer func(d time.Duration) { busyTimeout = d }(busyTimeout)
	busyTimeout = 100 * time.Millisecond
	path := filepath.Join(t.TempDir(), "tourd.db")
	s := openExclusive(t, path)
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u"})
	var se *sqlite.Error
	if !isUnavailable(err) || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("write while another process holds the lock: %v, want CodeUnavailable from SQLITE_BUSY", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after a write failed for a storage reason: nil error")
	}
	if _, err := other.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping once the lock is gone: %v", err)
	}
	// Ping's own write cleared the fault, and so does any write.
	if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u"}); !isUnavailable(err) {
		t.Fatalf("write while another process holds the lock: %v, want CodeUnavailable", err)
	}
	if _, err := other.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u"}); err != nil {
		t.Fatal(err)
	}
	if s.health.writeFault.Load() != nil {
		t.Error("a write succeeded, and the store still notes the last one failed")
	}
}

// A database file deleted or replaced under the server is noticed: writes
// and /readyz answer 503, one ERROR line names the file, and all is well
// again if the same file comes back. A restart then refuses to create a
// new database in its place.
func TestDatabaseMoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tourd.db")
	var logs logBuffer
	s := openWithLog(t, path, &logs)
	call := api(t, s)
	want(t, 201, call, "POST", "/v1/users", `{"id":"u1"}`)

	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	want(t, 503, call, "GET", "/readyz", "") // before any write meets it
	for range 3 {
		want(t, 503, call, "POST", "/v1/users", `{"id":"u2"}`)
		want(t, 503, call, "GET", "/readyz", "")
	}
	want(t, 200, call, "GET", "/v1/users/u1", "") // reads go on from the open file
	const line = "deleted or replaced while the server ran"
	if n := strings.Count(logs.String(), line); n != 1 || !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "path="+path) {
		t.Errorf("%d log lines say %q (want 1, an ERROR naming %s):\n%s", n, line, path, logs.String())
	}

	if err := os.Rename(path+".away", path); err != nil {
		t.Fatal(err)
	}
	want(t, 201, call, "POST", "/v1/users", `{"id":"u2"}`)
	want(t, 200, call, "GET", "/readyz", "")

	// The WAL moved away: /readyz sees it at once, commits within
	// walCheckEvery.
	if err := os.Rename(path+"-wal", path+"-wal.away"); err != nil {
		t.Fatal(err)
	}
	want(t, 503, call, "GET", "/readyz", "")
	for deadline := time.Now().Add(walCheckEvery + 5*time.Second); call("POST", "/v1/users", `{"id":"w"}`) != 503; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("writes still acknowledged %v after the WAL moved away", walCheckEvery+5*time.Second)
		}
	}
	if err := os.Rename(path+"-wal.away", path+"-wal"); err != nil {
		t.Fatal(err)
	}
	want(t, 201, call, "POST", "/v1/users", `{"id":"u2b"}`)
	want(t, 200, call, "GET", "/readyz", "")

	// Replaced: another file at the path.
	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want(t, 503, call, "GET", "/readyz", "")
	want(t, 503, call, "POST", "/v1/users", `{"id":"u3"}`)

	// A restart finds no database, but the files it left: no new one.
	s.Close()
	os.Remove(path)
	_, err := Open(t.Context(), path, discard, Options{Exclusive: true, Create: true})
	if err == nil || !strings.Contains(err.Error(), "refusing to create") || !strings.Contains(err.Error(), "tourd.db-keys") {
		t.Errorf("Open in place of a deleted database: %v, want a refusal naming tourd.db-keys", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created in place of the deleted one: %v", err)
	}
}

// Only Options.Create creates a database, and it says where.
func TestCreateIsExplicit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "tourd.db")
	var logs logBuffer
	_, err := Open(t.Context(), path, logs.logger(), Options{})
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a missing database: %v, want ErrNoDatabase naming %s", err, path)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open without Create made the directory: %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), rel, logs.logger(), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(logs.String(), `msg="sqlite: created new database" path=`+path) {
		t.Errorf("creation not logged with the absolute path %s:\n%s", path, logs.String())
	}
	s, err = Open(t.Context(), path, logs.logger(), Options{})
	if err != nil {
		t.Fatalf("Open of the existing database: %v", err)
	}
	s.Close()
	if n := strings.Count(logs.String(), "created new database"); n != 1 {
		t.Errorf("creation logged %d times, want once:\n%s", n, logs.String())
	}
}

// serve --check refuses a damaged database, and a server running on one
// answers 503 to the reads that meet the damage and fails Ping from then
// on.
func TestCorruptDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tourd.db")
	s := openExclusive(t, path)
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	var users []*userdata.UserUpsert
	for i := range 2000 {
		users = append(users, &userdata.UserUpsert{ExternalID: fmt.Sprint("u", i), Attributes: userdata.Attributes{"name": strings.Repeat("x", 100)}})
	}
	for _, r := range s.ImportUsers(ctx, tn, users) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	var pageSize int64
	if err := s.r.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'users' AND rootpage > 0")
	if err != nil {
		t.Fatal(err)
	}
	var roots []int64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, p)
	}
	rows.Close()
	s.Close() // checkpoints the WAL into the file
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte{0xa5}, int(pageSize))
	for _, p := range roots {
		if _, err := f.WriteAt(garbage, (p-1)*pageSize); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	_, err = Open(ctx, path, discard, Options{Exclusive: true, Check: true})
	if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "quick_check says: ") {
		t.Fatalf("Open with Check of a damaged database: %v, want the problems found", err)
	}
	t.Log(err)

	var logs logBuffer
	s, err = Open(ctx, path, logs.logger(), Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping before the damage is met: %v", err)
	}
	if _, err := s.GetUser(ctx, tn, "u1", 0); !isUnavailable(err) {
		t.Errorf("read of a damaged page: %v, want CodeUnavailable", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after a read met a damaged page: nil error")
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "corrupt") {
		t.Errorf("the damage was not logged:\n%s", logs.String())
	}
}

// A cached key lives at most maxKeyAge, so that a revocation is heard even
// when the marker file that should carry it is lost.
func TestKeyCacheAge(t *testing.T) {
	defer func(d time.Duration) { maxKeyAge = d }(maxKeyAge)
	maxKeyAge = 100 * time.Millisecond
	path := filepath.Join(t.TempDir(), "tourd.db")
	server := openExclusive(t, path)
	ctx := t.Context()
	_, hash, prefix := userdata.NewKey()
	if _, err := server.CreateKey(ctx, "p", "e", hash, prefix); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Authenticate(ctx, hash); err != nil {
		t.Fatal(err)
	}
	// The marker is lost: the revoking process makes a new one, which the
	// server has not mapped.
	if err := os.Remove(path + "-keys"); err != nil {
		t.Fatal(err)
	}
	cmd, err := Open(ctx, path, discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.RevokeKey(ctx, hash); err != nil {
		t.Fatal(err)
	}
	cmd.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := server.Authenticate(ctx, hash)
		if userdata.ErrorCode(err) == userdata.CodeForbidden {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key still opens the server 10 s later (err %v)", err)
		}
	}
}

// Close leaves the store safe to call for requests still running, as after
// a graceful shutdown that timed out: authenticating during and after
// Close does not crash.
func TestCloseWhileAuthenticating(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "tourd.db"), discard, Options{Exclusive: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, hash, prefix := userdata.NewKey()
	if _, err := s.CreateKey(ctx, "p", "e", hash, prefix); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				s.Authenticate(ctx, hash)
				calls.Add(1)
			}
		})
	}
	waitCalls := func(n int64) {
		for deadline := time.Now().Add(10 * time.Second); calls.Load() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d calls to Authenticate in 10 s", calls.Load())
			}
		}
	}
	waitCalls(100)
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	waitCalls(calls.Load() + 1000)
	stop.Store(true)
	wg.Wait()
}

// A server that finds the database locked by another says so at once, and
// keeps waiting.
func TestLockWaitIsLogged(t *testing.T) {
	defer func(d time.Duration) { lockWait = d }(lockWait)
	lockWait = time.Minute
	path := filepath.Join(t.TempDir(), "tourd.db")
	openExclusive(t, path)
	ctx, cancel := context.WithCancel(t.Context())
	var logs logBuffer
	done := make(chan error, 1)
	go func() {
		s, err := Open(ctx, path, logs.logger(), Options{Exclusive: true})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "waiting for it to stop"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing logged in 10 s of waiting for the lock:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "wait=1m0s") || !strings.Contains(logs.String(), "path="+path) {
		t.Errorf("the log line does not say how long, or what: %s", logs.String())
	}
	select {
	case err := <-done:
		t.Fatalf("Open returned (%v) while the lock was held", err)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Open cancelled while waiting: %v", err)
	}
}
