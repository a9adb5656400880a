package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// write is one write transaction being built. Its statements are queued in
// processing order and reach the server as one batch, which PostgreSQL runs
// as one implicit transaction: all of it commits or none of it does, in one
// round trip, and row locks are held only while the server executes it.
// Statements therefore find rows written earlier in the batch by their
// external ids rather than by ids read back.
type write struct {
	s     *Store
	tn    userdata.Tenant
	now   time.Time
	batch pgx.Batch
	defs  pendingDefs
	first string // the first row the write upserts: resource, environment and external id
}

// write builds a write with build and runs it. Concurrent writes share
// transactions and round trips (see Store.writes); when a shared
// transaction fails, each of its writes runs again on its own. A write that
// loses a deadlock is rolled back by the server, then built and run again
// (see retry), so callers never see the deadlock. The definitions it
// ensured are cached once it has committed.
func (s *Store) write(ctx context.Context, op string, tn userdata.Tenant, build func(w *write) error) error {
	attempt := func(send func(w *write) error) error {
		w := &write{s: s, tn: tn, now: s.now()}
		if err := build(w); err != nil {
			return err
		}
		w.queueDefinitions()
		if err := send(w); err != nil {
			return err
		}
		w.defs.committed(&s.defs, &s.defCount)
		return nil
	}
	shared := true
	return s.retry(ctx, op, func() error {
		if shared {
			shared = false
			return attempt(func(w *write) error { return s.writes.do(ctx, w) })
		}
		return attempt(func(w *write) error { return s.pool.SendBatch(ctx, &w.batch).Close() })
	})
}

// errShared fails the writes of a shared transaction that failed: each
// then runs again alone (it is retryable), so that only a failing write
// fails.
var errShared = errors.New("postgres: a write sharing the transaction failed")

// maxGroup bounds how many writes share a transaction, and how many reads
// share a round trip.
const maxGroup = 64

// runWrites runs a group of writes as one batch: one implicit transaction.
// The writes are sorted by the row each writes first (keeping the order of
// writes to one row), so that concurrent groups lock those rows in one
// order and wait for each other rather than deadlock.
func (s *Store) runWrites(ctx context.Context, group []*call[*write]) {
	live := make([]*call[*write], 0, len(group))
	for _, c := range group {
		if c.err = c.ctx.Err(); c.err == nil { // a write whose client left before it ran is not run
			live = append(live, c)
		}
	}
	group = live
	switch len(group) {
	case 0:
		return
	case 1:
		group[0].err = s.pool.SendBatch(ctx, &group[0].item.batch).Close()
		return
	}
	slices.SortStableFunc(group, func(a, b *call[*write]) int { return strings.Compare(a.item.first, b.item.first) })
	var b pgx.Batch
	for _, c := range group {
		b.QueuedQueries = append(b.QueuedQueries, c.item.batch.QueuedQueries...)
	}
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		for _, c := range group {
			c.err = errShared
		}
	}
}

// need asks for definitions of a's non-null keys in scope (§8.2). Calls
// come in request order: a key's first value types a new definition.
func (w *write) need(scope userdata.Scope, a userdata.Attributes) {
	w.defs.need(w.s, w.tn.ProjectID, scope, a)
}

// exec runs one statement on its own (it is its own transaction), retrying
// it like a write, and returns the number of rows it affected.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := s.retry(ctx, op, func() error {
		tag, err := s.pool.Exec(ctx, query, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// split is Attributes.Split with a non-nil list of deletions: pgx sends a
// nil slice as NULL, and jsonb minus NULL is NULL.
func split(a userdata.Attributes) (set json.RawMessage, del []string, err error) {
	set, del, err = a.Split()
	if del == nil {
		del = []string{}
	}
	return set, del, err
}
