package postgres

import (
	"context"
	"encoding/json"
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
}

// write builds a write with build and runs it. A write that loses a
// deadlock is rolled back by the server, then built and run again (see
// retry), so callers never see the deadlock. The definitions it ensured
// are cached once it has committed.
func (s *Store) write(ctx context.Context, op string, tn userdata.Tenant, build func(w *write) error) error {
	return s.retry(ctx, op, func() error {
		w := &write{s: s, tn: tn, now: s.now()}
		if err := build(w); err != nil {
			return err
		}
		w.queueDefinitions()
		if err := s.pool.SendBatch(ctx, &w.batch).Close(); err != nil {
			return err
		}
		w.defs.committed(&s.defs, &s.defCount)
		return nil
	})
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
