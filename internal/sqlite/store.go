// Package sqlite is tourd's embedded storage backend: one SQLite file in
// WAL mode, with every write funnelled through one writer goroutine that
// commits concurrent writes together (group commit).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"tourd/internal/userdata"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ userdata.Store = (*Store)(nil)

// maxBatch bounds how many queued writes share one transaction.
const maxBatch = 128

// Store is the SQLite implementation of userdata.Store.
type Store struct {
	rdb    *sql.DB   // readers: many connections, query_only
	wdb    *sql.DB   // holds the writer's one connection
	r      *stmts    // prepared reads on rdb
	wconn  *sql.Conn // the writer's connection, owned by the writer goroutine
	w      *stmts    // prepared writes on wconn
	log    *slog.Logger
	keys   *userdata.KeyCache
	marker *keyMarker
	lock   *os.File // the server lock, with Options.Exclusive

	rows  *rowCache          // nil unless Options.Exclusive
	batch map[rowKey]*entity // rows the current batch wrote; writer-owned

	// Now stamps created rows; tests may replace it before the first write.
	Now func() time.Time

	mu      sync.RWMutex // guards closed against sends on jobs
	closed  bool
	jobs    chan *job
	toSync  chan []*job           // committed batches waiting for fsync
	broken  atomic.Pointer[error] // set by a failed fsync (see syncer)
	wal     *os.File              // the write-ahead log, for fsync
	stopped chan struct{}
	defs    map[defKey]struct{} // definitions known to exist; writer-owned
}

// Options tune a Store.
type Options struct {
	// Exclusive takes the database's server lock, failing if another
	// process holds it, and with it keeps users and companies cached in
	// memory. tourd serve opens its database this way; the key commands,
	// which only touch keys, do not.
	Exclusive bool
}

// Open opens (creating if needed) the SQLite database at path, applies
// pending migrations and starts the writer.
func Open(ctx context.Context, path string, log *slog.Logger, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	var lock *os.File
	if opts.Exclusive {
		var err error
		if lock, err = lockServer(ctx, path); err != nil {
			return nil, err
		}
	}
	s, err := open(ctx, path, log)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	if lock != nil {
		s.lock, s.rows, s.batch = lock, newRowCache(), map[rowKey]*entity{}
	}
	go s.writer()
	return s, nil
}

func open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	wdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The WAL exists while a connection is open; the writer's stays open.
	wal, err := os.Open(path + "-wal")
	if err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open the WAL of %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		wal.Close()
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	s := &Store{
		rdb: rdb, wdb: wdb, wconn: wconn, r: newStmts(rdb), w: newStmts(wconn), log: log, Now: time.Now,
		marker:  openKeyMarker(path + "-keys"),
		jobs:    make(chan *job, maxBatch),
		toSync:  make(chan []*job, maxBatch),
		wal:     wal,
		stopped: make(chan struct{}),
		defs:    map[defKey]struct{}{},
	}
	s.keys = userdata.NewKeyCache(s.marker.epoch, 0)
	return s, nil
}

// dsn builds the modernc.org/sqlite connection string. Every connection
// waits for locks instead of failing, enforces foreign keys, and runs in WAL
// mode with synchronous=NORMAL: SQLite does not fsync the WAL at commit,
// because the syncer does, after the commit and before acknowledging it
// (see Store.syncer), so that the next batch runs during the fsync. SQLite
// still fsyncs the WAL before each checkpoint.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
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

// Ping reports whether the database answers a query, and fails for good
// once an fsync of the WAL has failed.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.syncFailed(); err != nil {
		return err
	}
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close stops the writer once queued writes are done and closes the
// database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.jobs)
	s.mu.Unlock()
	<-s.stopped
	err := errors.Join(s.r.close(), s.w.close(), s.wconn.Close(), s.rdb.Close(), s.wdb.Close(), s.wal.Close(), s.marker.close())
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
