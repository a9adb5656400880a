// Package postgres is tourd's production storage backend: PostgreSQL through
// pgx, shared safely by any number of tourd processes. Every write is one
// transaction whose statements merge in SQL, so correctness never depends on
// a lock inside one process.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tourd/internal/userdata"
)

var _ userdata.Store = (*Store)(nil)

// Store is the PostgreSQL implementation of userdata.Store.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	// Now stamps created rows; tests may replace it before the first write.
	Now func() time.Time

	defs atomic.Pointer[knownDefs]

	writes coalescer[*write]  // writes sharing transactions
	reads  coalescer[*lookup] // gets sharing round trips

	timeout time.Duration // see Options.Timeout

	keys       *userdata.Cache[userdata.Tenant]
	tokens     *userdata.TokenCache
	touches    userdata.Touches                      // recording tokens' use
	envs       *userdata.Cache[userdata.Environment] // on keyEpoch too: changing an environment must notify keysChannel
	types      *userdata.TypeCache                   // on keyEpoch too: retyping or deleting a definition must notify keysChannel
	keyEpoch   keyEpoch
	stopListen context.CancelFunc
	listenDone chan struct{}
	purger     *userdata.Purger // kicked by every notification on keysChannel

	seq       atomic.Int64    // see nextSeq
	marks     watermarks      // the feed's (see poll)
	changes   userdata.Signal // changes may have become readable (see ChangeSignal)
	watching  atomic.Bool     // someone waits on changes since it was last notified
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

// Options tunes Open.
type Options struct {
	// PoolSize is the largest number of connections the store opens; 0
	// means the URL's pool_max_conns, or else DefaultPoolSize.
	PoolSize int32
	// Migrate applies pending migrations before the store opens. Without
	// it, Open refuses a database whose schema is behind.
	Migrate bool
	// Timeout is the deadline of each call to the store (of each batch,
	// for imports): a call the database has not answered by then fails as
	// unavailable, and its connection is closed, which rolls back its
	// transaction unless its commit was sent. 0 means DefaultTimeout.
	Timeout time.Duration
	// PurgeGrace is how long after an environment's deletion its purge
	// looks for its rows once more; 0 means userdata.DefaultPurgeGrace.
	PurgeGrace time.Duration
}

// DefaultTimeout is the deadline of each call when Options sets none: far
// above what a healthy database takes, and well under the HTTP server's
// one-minute write timeout, so that a client is answered 503 rather than
// nothing when the database stalls.
const DefaultTimeout = 10 * time.Second

// DefaultConnectTimeout bounds each attempt to connect (including the
// migration and LISTEN connections) when the URL sets no connect_timeout,
// so that a blackholed address fails instead of hanging.
const DefaultConnectTimeout = 5 * time.Second

// DefaultPoolSize is the pool size when neither Options nor the URL sets
// one: enough connections for concurrent commits to share WAL flushes
// (pgx's own default, one per core, serializes them on small machines).
const DefaultPoolSize = 16

// Open connects to the database at url (a postgres:// URL or a pgx
// connection string) and returns a store on it; see OpenConfig.
func Open(ctx context.Context, url string, log *slog.Logger, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.PoolSize == 0 && !strings.Contains(url, "pool_max_conns") {
		opts.PoolSize = DefaultPoolSize
	}
	return OpenConfig(ctx, cfg, log, opts)
}

// OpenConfig returns a store on a pool built from a copy of cfg, for
// callers that set pool or connection options in code (tests set
// search_path this way). With opts.Migrate it
// first applies pending migrations, under an advisory lock so that several
// processes may start at once; otherwise it returns an error when
// migrations are pending.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, log *slog.Logger, opts Options) (*Store, error) {
	cfg = cfg.Copy()
	if opts.PoolSize > 0 {
		cfg.MaxConns = opts.PoolSize
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 { // connect_timeout=0, as unset, takes the default
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	cfg.AfterConnect = chainAfterConnect(cfg.AfterConnect, registerTypes)
	if opts.Migrate {
		if err := migrate(ctx, cfg.ConnConfig, log, math.MaxInt); err != nil {
			return nil, explainConnect(ctx, cfg.ConnConfig, fmt.Errorf("postgres: migrate: %w", err))
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, log: log, Now: time.Now, timeout: opts.Timeout, listenDone: make(chan struct{}), watchDone: make(chan struct{})}
	checkCtx, cancelCheck := s.bound(ctx)
	defer cancelCheck()
	if err := checkSchema(checkCtx, pool); err != nil {
		pool.Close()
		return nil, explainConnect(ctx, cfg.ConnConfig, err)
	}
	s.writes = coalescer[*write]{lanes: lanes(), maxGroup: maxGroup, maxQueue: maxQueue, run: s.runWrites}
	s.reads = coalescer[*lookup]{lanes: lanes(), maxGroup: maxGroup, maxQueue: maxQueue, run: s.runLookups}
	s.keys = userdata.NewCache[userdata.Tenant](s.keyEpoch.epoch, maxKeyAge)
	s.tokens = userdata.NewTokenCache(s.keyEpoch.epoch, maxKeyAge)
	s.envs = userdata.NewCache[userdata.Environment](s.keyEpoch.epoch, maxKeyAge)
	s.types = userdata.NewTypeCache(s.keyEpoch.epoch, maxKeyAge)
	s.purger = s.newPurger(opts.PurgeGrace)
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	go s.listenKeys(lctx, cfg.ConnConfig)
	wctx, stopWatch := context.WithCancel(context.Background())
	s.stopWatch = stopWatch
	go s.watchChanges(wctx)
	s.purger.Start()
	return s, nil
}

// explainConnect adds to err, when it is a connection attempt that ran out
// of time (and not because ctx ended), what the operator can check and
// change.
func explainConnect(ctx context.Context, cfg *pgx.ConnConfig, err error) error {
	var connectErr *pgconn.ConnectError
	if ctx.Err() == nil && errors.As(err, &connectErr) && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (no answer from %s:%d within the connect timeout, %s: check that the server is up and reachable; connect_timeout=SECONDS in the URL changes the timeout)",
			err, cfg.Host, cfg.Port, cfg.ConnectTimeout)
	}
	return err
}

// lanes is how many groups of writes, and of reads, one store runs at
// once. Fewer lanes make bigger groups, which cost the server less per
// write and per read; one lane per core keeps the cores of the process
// busy, and two keep one slow group from stalling the rest.
func lanes() int {
	return max(2, runtime.GOMAXPROCS(0))
}

// registerTypes makes every connection scan timestamptz values in UTC, as
// the SQLite backend returns them.
func registerTypes(_ context.Context, c *pgx.Conn) error {
	c.TypeMap().RegisterType(&pgtype.Type{
		Name: "timestamptz", OID: pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

func chainAfterConnect(first, then func(context.Context, *pgx.Conn) error) func(context.Context, *pgx.Conn) error {
	if first == nil {
		return then
	}
	return func(ctx context.Context, c *pgx.Conn) error {
		if err := first(ctx, c); err != nil {
			return err
		}
		return then(ctx, c)
	}
}

// bound limits ctx to the deadline of one call to the store.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Ping reports whether the database answers, within the store's deadline.
// It returns CodeUnavailable when it does not.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return translate("ping", s.pool.Ping(ctx))
}

// Close stops purging, listening and watching for changes, waits for
// connections in use to be released and closes the pool.
func (s *Store) Close() error {
	s.purger.Stop()
	s.stopListen()
	<-s.listenDone
	s.stopWatch()
	<-s.watchDone
	s.pool.Close()
	return nil
}

// now is the timestamp of one write, at the precision the database keeps.
func (s *Store) now() time.Time {
	return s.Now().UTC().Truncate(time.Microsecond)
}

// maxAttempts bounds how often a transaction that lost a deadlock or a
// serialization conflict is run again.
const maxAttempts = 10

// retry runs fn, running it again while it fails with an error that a new
// attempt can cure (see retryable), after a short jittered backoff, until
// ctx ends.
func (s *Store) retry(ctx context.Context, op string, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		s.log.DebugContext(ctx, "retrying transaction", "op", op, "attempt", attempt, "err", err)
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff is the pause before attempt+1: doubling from about 2ms up to
// about 100ms, each time between half and all of it.
func backoff(attempt int) time.Duration {
	d := min(time.Millisecond<<attempt, 100*time.Millisecond)
	return d/2 + rand.N(d/2)
}

// PoolStats reports the connection pool.
func (s *Store) PoolStats() userdata.PoolStats {
	st := s.pool.Stat()
	return userdata.PoolStats{MaxOpen: int(st.MaxConns()), Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()),
		Idle: int(st.IdleConns()), WaitCount: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime()}
}
