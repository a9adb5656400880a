package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// write is one write transaction being built. Its statements reach the
// server as one batch, in one round trip; then the changes they made are
// recorded and the transaction commits, in a second (see Store.commit).
// Row locks are held only meanwhile. Statements therefore find rows
// written earlier in the batch by their external ids rather than by ids
// read back.
type write struct {
	s     *Store
	tn    userdata.Tenant
	now   time.Time
	stmts []stmt
	defs  pendingDefs
	// changes are the changes the write records, in the order of its
	// requests: each statement that may change an object has a place,
	// which its answer fills unless it changed nothing (see record).
	changes []*userdata.Change
	// check, when set, runs once the statements have answered: an error
	// it returns takes the place of theirs, and rolls the write back.
	check func() error
}

// record reserves the next place in the write's changes, for the change a
// statement queued now may make, and returns the function that fills it.
func (w *write) record() func(*userdata.Change) {
	i := len(w.changes)
	w.changes = append(w.changes, nil)
	return func(c *userdata.Change) { w.changes[i] = c }
}

// stmt is one statement of a write, with its place in the lock order.
//
// Every write transaction, alone or shared by a group of writes, runs its
// statements in one global order, which is the order it locks rows in:
// companies, then users, each sorted by environment and external id; then
// memberships; then the new definitions, sorted by project, scope and code
// name (see queueDefinitions). A transaction waiting for a row therefore
// holds no row that comes after it, so concurrent transactions wait for
// each other instead of deadlocking (PostgreSQL would take deadlock_timeout,
// a second by default, to find and break a deadlock). Statements on one row
// keep their processing order, and a membership comes after the user and
// the company it joins, which it finds by their external ids.
type stmt struct {
	phase phase
	key   string // environment and external id of the row locked
	q     *pgx.QueuedQuery
}

// phase is the part of the lock order a statement belongs to.
type phase uint8

const (
	phaseCompanies phase = iota
	phaseUsers
	phaseMemberships
)

// queue adds a statement to the write.
func (w *write) queue(p phase, key, sql string, args ...any) *pgx.QueuedQuery {
	q := &pgx.QueuedQuery{SQL: sql, Arguments: args}
	w.stmts = append(w.stmts, stmt{p, key, q})
	return q
}

// batch returns the statements of writes, run as one transaction, in lock
// order (see stmt), then the checks of their data_types (see typeCheck).
// It begins the transaction, which Store.commit ends.
func batch(writes ...*write) *pgx.Batch {
	n := 2
	for _, w := range writes {
		n += len(w.stmts)
	}
	stmts := make([]stmt, 0, n)
	for _, w := range writes {
		stmts = append(stmts, w.stmts...)
	}
	slices.SortStableFunc(stmts, func(a, b stmt) int {
		return cmp.Or(cmp.Compare(a.phase, b.phase), strings.Compare(a.key, b.key))
	})
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, n)}
	b.Queue("BEGIN")
	for _, st := range stmts {
		b.QueuedQueries = append(b.QueuedQueries, st.q)
	}
	queueDefinitions(b, writes)
	queueTypeChecks(b, writes)
	return b
}

// newWrite starts a write for tn, stamped now, recording the definitions
// it ensures in the current set of known ones.
func (s *Store) newWrite(tn userdata.Tenant) *write {
	return &write{s: s, tn: tn, now: s.now(), defs: pendingDefs{known: s.knownDefs()}}
}

// write builds a write with build and runs it. Concurrent writes share
// transactions and round trips (see Store.writes); when a shared
// transaction fails, each of its writes runs again on its own. A write that
// loses a deadlock is rolled back by the server, then built and run again
// (see retry), so callers never see the deadlock. The definitions it
// ensured are cached once it has committed.
func (s *Store) write(ctx context.Context, op string, tn userdata.Tenant, build func(w *write) error) error {
	attempt := func(send func(w *write) error) error {
		w := s.newWrite(tn)
		if err := build(w); err != nil {
			return err
		}
		if err := send(w); err != nil {
			return err
		}
		w.defs.committed()
		return nil
	}
	shared := true
	return s.retry(ctx, op, func() error {
		if shared {
			shared = false
			return attempt(func(w *write) error { return s.writes.do(ctx, w) })
		}
		return attempt(func(w *write) error { return s.commit(ctx, w) })
	})
}

// commit runs writes as one transaction, in two round trips: their
// statements (see batch); then, once these have answered with what they
// changed, the insertion of the changes the writes recorded, in their
// order, and COMMIT. It wakes the feed's readers when it recorded changes.
func (s *Store) commit(ctx context.Context, writes ...*write) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = conn.SendBatch(ctx, batch(writes...)).Close()
	for _, w := range writes {
		if w.check == nil {
			continue
		}
		if cerr := w.check(); cerr != nil {
			err = cerr
		}
	}
	var end pgx.Batch
	recorded := err == nil && queueChanges(&end, writes)
	if err == nil {
		end.Queue("COMMIT")
		err = conn.SendBatch(ctx, &end).Close()
	}
	if err != nil {
		// A connection left in the transaction (ROLLBACK failed) is
		// closed by the pool, which rolls it back.
		conn.Exec(ctx, "ROLLBACK")
		return err
	}
	if recorded {
		s.changes.Notify()
	}
	return nil
}

// errShared fails the writes of a shared transaction that failed: each
// then runs again alone (it is retryable), so that only a failing write
// fails.
var errShared = errors.New("postgres: a write sharing the transaction failed")

// maxGroup bounds how many writes share a transaction, and how many reads
// share a round trip.
const maxGroup = 64

// runWrites runs a group of writes as one batch: one transaction, which
// locks rows in the same global order as any other (see stmt). When it
// fails for a storage fault (see unavailable), every write of the group
// has met the fault and fails with it; when it fails otherwise, each write
// of a shared batch runs again on its own (see errShared).
func (s *Store) runWrites(ctx context.Context, group []*call[*write]) {
	writes := make([]*write, len(group))
	for i, c := range group {
		writes[i] = c.item
	}
	err := s.commit(ctx, writes...)
	if err != nil && len(writes) > 1 && !unavailable(err) {
		err = errShared
	}
	for _, c := range group {
		c.err = err
	}
}

// need asks for definitions of a's non-null keys in scope (§8.2). Calls
// come in request order: a key's first value types a new definition.
func (w *write) need(scope userdata.Scope, a userdata.Attributes) {
	w.defs.need(w.tn.ProjectID, scope, a)
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

// merge is an attribute map as the statements of a merge take it (see
// upsertSQL).
type merge struct {
	set json.RawMessage // the literal values and sets
	// del are the keys to remove, never nil: pgx sends a nil slice as
	// NULL, and jsonb minus NULL is NULL.
	del []string
	// ops are the other operations (Attributes.OpsJSON), nil if none, and
	// opKeys their keys.
	ops    json.RawMessage
	opKeys []string
}

func newMerge(a userdata.Attributes) (merge, error) {
	set, del, err := a.Split()
	if err != nil {
		return merge{}, err
	}
	if del == nil {
		del = []string{}
	}
	m := merge{set: set, del: del}
	if m.ops, err = a.OpsJSON(); err != nil || m.ops == nil {
		return m, err
	}
	members, err := userdata.SplitObject(m.ops)
	for _, f := range members {
		m.opKeys = append(m.opKeys, f.Key())
	}
	return m, err
}
