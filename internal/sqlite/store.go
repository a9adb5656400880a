// Package sqlite is tourd's embedded storage backend: one SQLite file in
// WAL mode, with every write funnelled through one writer goroutine that
// commits concurrent writes together (group commit).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"tourd/internal/userdata"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ userdata.Store = (*Store)(nil)

// maxBatch bounds how many queued writes share one transaction.
const maxBatch = 128

// Store is the SQLite implementation of userdata.Store.
type Store struct {
	path    string    // the database file, absolute
	rdb     *sql.DB   // readers: many connections, query_only
	wdb     *sql.DB   // holds the writer's one connection
	r       *stmts    // prepared reads on rdb
	wconn   *sql.Conn // the writer's connection, owned by the writer goroutine
	w       *stmts    // prepared writes on wconn
	log     *slog.Logger
	keys    *userdata.Cache[userdata.Tenant]
	tokens  *userdata.TokenCache
	touches userdata.Touches                      // recording tokens' use
	envs    *userdata.Cache[userdata.Environment] // on the key marker too: changing an environment must bump it
	types   *userdata.TypeCache                   // on the key marker too: retyping or deleting a definition must bump it
	marker  *keyMarker
	lock    *os.File         // the server lock, with Options.Exclusive
	purger  *userdata.Purger // started with Options.Exclusive
	stats   *statsKeeper     // started with Options.Exclusive
	changes userdata.Signal  // commits that recorded changes, once durable

	rows  *rowCache          // nil unless Options.Exclusive
	batch map[rowKey]*entity // rows the current batch wrote; writer-owned

	// Now stamps created rows; tests may replace it before the first write.
	Now func() time.Time

	mu      sync.RWMutex // guards closed against sends on jobs
	closed  bool
	jobs    chan *job
	toSync  chan syncBatch // committed batches waiting for fsync
	health  health
	wal     *os.File // the write-ahead log, for fsync
	stopped chan struct{}
	defs    map[defKey]struct{} // definitions known to exist; writer-owned
	// defsEpoch is the key marker's epoch defs holds for: definitions
	// deleted by another process move it. Writer-owned.
	defsEpoch int64
}

// Options tune a Store.
type Options struct {
	// Exclusive takes the database's server lock, failing if another
	// process holds it, and with it keeps users and companies cached in
	// memory. tourd serve opens its database this way; the key commands,
	// which only touch keys, do not.
	Exclusive bool
	// Create creates the database if there is none at the path (tourd
	// serve and keys create do). Without it, Open fails with
	// ErrNoDatabase. Even with it, Open refuses to create a database
	// beside the files an existing one leaves (path-wal, -shm, -lock,
	// -keys): that one was deleted or moved, and a new empty one would
	// pass for it.
	Create bool
	// Check runs PRAGMA quick_check before anything else, and fails if it
	// finds the database damaged. It reads the whole file.
	Check bool
	// PurgeGrace is how long after an environment's deletion its purge,
	// which runs in the Exclusive store, looks for its rows once more; 0
	// means userdata.DefaultPurgeGrace.
	PurgeGrace time.Duration
}

// ErrNoDatabase is Open's error when there is no database to open and
// Options.Create is not set.
var ErrNoDatabase = errors.New("no database")

// Open opens the SQLite database at path (creating it with Options.Create),
// applies pending migrations and starts the writer.
func Open(ctx context.Context, path string, log *slog.Logger, opts Options) (*Store, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	create, err := mustCreate(path, opts.Create)
	if err != nil {
		return nil, err
	}
	var lock *os.File
	if opts.Exclusive {
		if lock, err = lockServer(ctx, path, log); err != nil {
			return nil, err
		}
	}
	s, err := open(ctx, path, log, create, opts.Check)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	if lock != nil {
		s.lock, s.rows, s.batch = lock, newRowCache(), map[rowKey]*entity{}
	}
	s.purger = s.newPurger(opts.PurgeGrace)
	go s.writer()
	if opts.Exclusive {
		s.purger.Start()
		s.startStats()
	}
	return s, nil
}

// mustCreate reports whether Open is to create the database at path: when
// there is none, and opts allow it, and no file of an earlier one is left
// beside it. It then makes the directory.
func mustCreate(path string, allowed bool) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("sqlite: %w", err)
	}
	if !allowed {
		return false, fmt.Errorf("%w at %s", ErrNoDatabase, path)
	}
	var left []string
	for _, sibling := range []string{"-wal", "-shm", "-lock", "-keys"} {
		if _, err := os.Stat(path + sibling); err == nil {
			left = append(left, filepath.Base(path+sibling))
		}
	}
	if len(left) > 0 {
		return false, fmt.Errorf("sqlite: there is no database at %s but there are %s beside it, so it was deleted or moved: "+
			"refusing to create a new empty one; put it back (or restore a backup), or remove those files to start afresh",
			path, strings.Join(left, ", "))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("sqlite: %w", err)
	}
	return true, nil
}

func open(ctx context.Context, path string, log *slog.Logger, create, check bool) (*Store, error) {
	if create {
		// An empty file is an empty database. O_EXCL: if another process
		// has just created it, this one did not.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			err = f.Close()
			log.Info("sqlite: created new database", "path", path)
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
		}
	}
	wdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxIdleTime(0)
	s, err := openWith(ctx, path, log, wdb, check)
	if err != nil {
		wdb.Close()
		return nil, err
	}
	return s, nil
}

// openWith opens the rest of a store on wdb, its writer's database.
func openWith(ctx context.Context, path string, log *slog.Logger, wdb *sql.DB, check bool) (*Store, error) {
	if check {
		if err := quickCheck(ctx, wdb, path); err != nil {
			return nil, err
		}
	}
	if err := migrate(ctx, wdb); err != nil {
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The WAL exists while a connection is open; the writer's stays open.
	wal, err := os.Open(path + "-wal")
	if err != nil {
		wconn.Close()
		return nil, fmt.Errorf("sqlite: open the WAL of %s: %w", path, err)
	}
	files, err := identify(path, wal)
	if err != nil {
		wal.Close()
		wconn.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		wal.Close()
		wconn.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	s := &Store{
		path: path, rdb: rdb, wdb: wdb, wconn: wconn, r: newStmts(rdb), w: newStmts(wconn), log: log, Now: time.Now,
		marker:  openKeyMarker(path + "-keys"),
		jobs:    make(chan *job, maxBatch),
		toSync:  make(chan syncBatch, maxBatch),
		health:  health{t0: time.Now(), files: files},
		wal:     wal,
		stopped: make(chan struct{}),
		defs:    map[defKey]struct{}{},
	}
	s.keys = userdata.NewCache[userdata.Tenant](s.marker.epoch, maxKeyAge)
	s.tokens = userdata.NewTokenCache(s.marker.epoch, maxKeyAge)
	s.envs = userdata.NewCache[userdata.Environment](s.marker.epoch, maxKeyAge)
	s.types = userdata.NewTypeCache(s.marker.epoch, maxKeyAge)
	return s, nil
}

// identify returns the identities of the database file at path and of its
// open WAL, for checkFiles.
//
// It stats the database by its path rather than opening it: closing a
// descriptor of the file would drop every POSIX lock this process holds on
// it, SQLite's included.
func identify(path string, wal *os.File) ([]openedFile, error) {
	db, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := wal.Stat()
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return []openedFile{{path, db}, {wal.Name(), w}}, nil
}

// quickCheck runs PRAGMA quick_check, which reads the whole database, and
// returns an error with the first problems it reports.
func quickCheck(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		return fmt.Errorf("sqlite: PRAGMA quick_check of %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return fmt.Errorf("sqlite: PRAGMA quick_check of %s: %w", path, err)
		}
		problems = append(problems, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: PRAGMA quick_check of %s: %w", path, err)
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	return fmt.Errorf("sqlite: %s is damaged; PRAGMA quick_check says: %s; restore it from a backup", path, strings.Join(problems, "; "))
}

// busyTimeout is how long a statement waits for another connection's lock
// before it fails with SQLITE_BUSY.
var busyTimeout = 10 * time.Second

// dsn builds the modernc.org/sqlite connection string. Every connection
// waits for locks instead of failing, enforces foreign keys, and runs in WAL
// mode with synchronous=NORMAL: SQLite does not fsync the WAL at commit,
// because the syncer does, after the commit and before acknowledging it
// (see Store.syncer), so that the next batch runs during the fsync. SQLite
// still fsyncs the WAL before each checkpoint. No connection creates the
// file (mode=rw): a connection opened after the file was deleted fails
// instead of starting an empty database.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("mode", "rw")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Reads map the file instead of copying pages with pread, and each
	// connection caches up to 16 MiB of pages.
	q.Add("_pragma", "mmap_size(1073741824)")
	q.Add("_pragma", "cache_size(-16384)")
	// Checkpoint every 10,000 WAL pages (about 40 MB) rather than 1,000:
	// a page written many times meanwhile is copied to the database once,
	// so checkpoints cost less in all and stall the writer less often.
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Ping reports whether the store can serve. It fails for good once an
// fsync of the WAL has failed or the database was found corrupt; while the
// database file or its WAL is deleted or replaced; while a write is
// stalled longer than stallLimit; while the last write failed for a
// storage reason (a full disk, an I/O error), until a write succeeds; and
// when a query does not answer. In that last-write case Ping itself tries
// a write, since a server reported unready may get no other.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.syncFailed(); err != nil {
		return err
	}
	if err := s.health.corrupt.Load(); err != nil {
		return *err
	}
	if err := s.checkFiles(true); err != nil {
		return err
	}
	if err := s.health.stalled(); err != nil {
		return err
	}
	if s.health.writeFault.Load() != nil {
		done := make(chan error, 1)
		go func() { done <- s.write(ctx, probe) }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("sqlite: writes fail: %w", err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var one int
	return s.fault(s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

// probe is a write that changes no data but makes SQLite write a page, to
// see whether writes work again: it flips a bit of the user version in the
// database header, which tourd does not use.
func probe(w *wtx) error {
	var v int64
	if err := w.q.QueryRowContext(w.ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	_, err := w.q.ExecContext(w.ctx, fmt.Sprintf("PRAGMA user_version = %d", v^1))
	return err
}

// Close stops the writer once queued writes are done and closes the
// database. Requests still running may go on calling the store: they get
// errors, never a crash (the key marker stays mapped while they can read
// it).
func (s *Store) Close() error {
	s.purger.Stop()
	s.stopStats()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.jobs)
	s.mu.Unlock()
	<-s.stopped
	err := errors.Join(s.r.close(), s.w.close(), s.wconn.Close(), s.rdb.Close(), s.wdb.Close(), s.wal.Close())
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close()) // closing releases the lock
	}
	return err
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// micros converts a time to the stored form, microseconds since the epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// PoolStats reports the pool of read connections.
func (s *Store) PoolStats() userdata.PoolStats {
	st := s.rdb.Stats()
	return userdata.PoolStats{MaxOpen: st.MaxOpenConnections, Open: st.OpenConnections, InUse: st.InUse,
		Idle: st.Idle, WaitCount: st.WaitCount, WaitDuration: st.WaitDuration}
}
