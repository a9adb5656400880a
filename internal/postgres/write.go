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
// server as one batch, which PostgreSQL runs as one implicit transaction:
// all of it commits or none of it does, in one round trip, and row locks
// are held only while the server executes it. Statements therefore find
// rows written earlier in the batch by their external ids rather than by
// ids read back.
type write struct {
	s     *Store
	tn    userdata.Tenant
	now   time.Time
	stmts []stmt
	defs  pendingDefs
	// recorded says that a statement of the write recorded a change: its
	// commit wakes the feed's readers.
	recorded bool
	// mayRecord says that a statement of the write may record a change:
	// its transaction ends by sealing them (see sealSQL).
	mayRecord bool
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
// keep the order they were queued in, by any of the writes sharing the
// transaction (seq), and a membership comes after the user and the company
// it joins, which it finds by their external ids.
type stmt struct {
	phase phase
	key   string // environment and external id of the row locked
	// seq is the statement's place in the order of the process's
	// statements; a change the statement records takes it as its place
	// among the changes of its transaction (see Store.nextSeq).
	seq int64
	q   *pgx.QueuedQuery
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
	w.stmts = append(w.stmts, stmt{p, key, w.s.nextSeq(), q})
	return q
}

// queueChange adds a statement that may record a change to the write: its
// arguments are args, then the change's id and seq.
func (w *write) queueChange(p phase, key, sql string, args ...any) *pgx.QueuedQuery {
	q := w.queue(p, key, sql, args...)
	q.Arguments = append(q.Arguments, userdata.NewChangeID(), w.stmts[len(w.stmts)-1].seq)
	w.mayRecord = true
	return q
}

// batch returns the statements of writes, run as one transaction, in lock
// order (see stmt), then the checks of their data_types (see typeCheck).
func batch(writes ...*write) *pgx.Batch {
	n := 1
	for _, w := range writes {
		n += len(w.stmts)
	}
	stmts := make([]stmt, 0, n)
	for _, w := range writes {
		stmts = append(stmts, w.stmts...)
	}
	slices.SortFunc(stmts, func(a, b stmt) int {
		return cmp.Or(cmp.Compare(a.phase, b.phase), strings.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq))
	})
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, n)}
	for _, st := range stmts {
		b.QueuedQueries = append(b.QueuedQueries, st.q)
	}
	queueDefinitions(b, writes)
	queueTypeChecks(b, writes)
	var envs []string
	for _, w := range writes {
		if w.mayRecord && !slices.Contains(envs, w.tn.EnvironmentID) {
			envs = append(envs, w.tn.EnvironmentID)
		}
	}
	if envs != nil {
		b.Queue(sealSQL, envs)
	}
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
		if w.recorded {
			s.changes.Notify()
		}
		return nil
	}
	shared := true
	return s.retry(ctx, op, func() error {
		if shared {
			shared = false
			return attempt(func(w *write) error { return s.writes.do(ctx, w) })
		}
		return attempt(func(w *write) error { return s.pool.SendBatch(ctx, batch(w)).Close() })
	})
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
	err := s.pool.SendBatch(ctx, batch(writes...)).Close()
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
