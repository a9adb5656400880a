package postgres

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// The feed (webhooks.md §4) reads the change log in the order of
// positions, (pos, seq): the pos of the change's transaction, taken by its
// last statement after every row lock it takes (sealSQL, change_commits in
// 0010_changes.sql), then the change's place in it. Of two transactions
// that change one object, the one that locked its row first committed
// first and took its pos before the other could lock the row: the changes
// of one object are in commit order. Several processes commit at once, and
// a transaction that took its pos earlier may commit later (or roll back,
// leaving a gap), so a reader that served every committed change could
// then miss those such a transaction commits behind the position it
// served. The feed therefore serves only up to a settled watermark: a pos
// M such that every transaction that took a pos up to M has ended, so
// that every change up to M is committed and visible, or gone for good.
// Once a position has been served, nothing can commit before it.
//
// A store settles watermarks thus (see poll). It reads a mark: M, the last
// value of changes_pos, then N, the id the next transaction will take.
// Every transaction that took a pos up to M took its id before (the
// column's default takes the id first), so below N. Once the horizon
// pg_snapshot_xmin of a later snapshot is at least N, every transaction
// below N has ended (a snapshot's xmin is below every transaction running
// then, up to its xmax, which the horizon bounds): M is settled. (N is
// read without taking an id: age(xid) is relative to the next id when the
// reading transaction has none. pg_snapshot_xmax would not do: it is one
// past the latest transaction to end, and newer ones may be running.)
// Each store keeps the greatest settled M and the marks it read that have
// yet to settle; nodes settle on their own, and a position means the same
// on each. A store that settles marks while someone waits on it (see
// watchChanges) also publishes its watermark in changes_settled, where
// the others read it: a store that has just started, or that has read no
// mark for a while, may then serve what others have settled, when a
// transaction left open would keep its own marks from settling.
//
// The cost: a change becomes readable only once every transaction that
// was writing when a mark after it was read has ended, in any database of
// the cluster. A long-running write (a bulk statement, a transaction left
// open, a prepared transaction) delays the feed, never loses from it.
// Reads wait up to maxSettle for the writes running when they start (see
// settle), so that a change committed before a read is in it; beyond that
// a read answers what is settled, and the reader comes back (ChangeSignal
// wakes it when the watermark moves).

// position is a place in the change log. Its cursor is "<pos>-<seq>".
type position struct {
	pos int64
	seq int64
}

func (p position) String() string {
	return strconv.FormatInt(p.pos, 10) + "-" + strconv.FormatInt(p.seq, 10)
}

func (p position) before(q position) bool {
	return p.pos < q.pos || p.pos == q.pos && p.seq < q.seq
}

// parsePosition reads a cursor of the feed, which must be written as
// position.String writes it.
func parsePosition(cursor string) (position, bool) {
	pos, seq, ok := strings.Cut(cursor, "-")
	var p position
	var err1, err2 error
	p.pos, err1 = strconv.ParseInt(pos, 10, 64)
	p.seq, err2 = strconv.ParseInt(seq, 10, 64)
	return p, ok && err1 == nil && err2 == nil && p.pos >= 0 && p.seq >= 0 && p.String() == cursor
}

// maxSettle bounds how long a read of the feed waits for the writes
// running when it starts (see settle). It looks whether they have ended
// at once, then after settlePoll, then twice as long each time, up to
// maxSettlePoll.
const (
	maxSettle     = time.Second
	settlePoll    = time.Millisecond
	maxSettlePoll = 50 * time.Millisecond
	// maxPendingMarks bounds the marks a store keeps waiting to settle
	// (while a long transaction holds them all back): beyond it, a new
	// mark replaces the newest, which only delays it.
	maxPendingMarks = 64
)

// mark is a watermark, a pos, that settles once the horizon reaches xid
// (see the feed's comment).
type mark struct {
	pos int64
	xid uint64
}

// watermarks is a store's settled watermark and the marks pending.
type watermarks struct {
	mu      sync.Mutex
	settled int64
	pending []mark
}

func (w *watermarks) get() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.settled
}

// update settles the pending marks that the horizon has reached, and the
// watermark shared, which another store settled, adds m (when ok), and
// returns the settled watermark.
func (w *watermarks) update(horizon uint64, m mark, ok bool, shared int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settled = max(w.settled, shared)
	keep := w.pending[:0]
	for _, p := range w.pending {
		switch {
		case p.xid <= horizon:
			w.settled = max(w.settled, p.pos)
		case p.pos > w.settled:
			keep = append(keep, p)
		}
	}
	w.pending = keep
	switch n := len(w.pending); {
	case !ok || m.pos <= w.settled:
	case n > 0 && w.pending[n-1].pos == m.pos: // the older one settles first
	case n >= maxPendingMarks:
		w.pending[n-1] = m
	default:
		w.pending = append(w.pending, m)
	}
	return w.settled
}

// qMark reads a mark (see the feed's comment): the last pos taken, then
// the next transaction id, as the xmax of the statement's snapshot and
// the age of its 32 bits (the MATERIALIZED CTE reads the sequence before
// the select list computes the age), the snapshot's horizon (taken when
// the statement began, before the sequence was read), and the watermark
// published.
const qMark = `WITH m AS MATERIALIZED (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS pos FROM changes_pos)
	SELECT m.pos, pg_snapshot_xmax(s), age(xid(pg_snapshot_xmax(s))), pg_snapshot_xmin(s),
		(SELECT coalesce(max(pos), 0) FROM changes_settled)
	FROM m, pg_current_snapshot() AS s`

// poll reads a mark, settles the pending marks the horizon has reached,
// and returns the mark read and the settled watermark.
func (s *Store) poll(ctx context.Context) (mark, int64, error) {
	m, settled, _, err := s.pollShared(ctx)
	return m, settled, err
}

// pollShared is poll, also returning the watermark published in
// changes_settled.
func (s *Store) pollShared(ctx context.Context) (m mark, settled, shared int64, err error) {
	var xmax, horizon uint64
	var age int64
	if err := s.pool.QueryRow(ctx, qMark).Scan(&m.pos, &xmax, &age, &horizon, &shared); err != nil {
		return mark{}, 0, 0, err
	}
	// age is MaxInt32 for the few special ids that wrap around at times
	// (the mark is then left out; the next one will do).
	ok := age >= 0 && age < math.MaxInt32
	m.xid = xmax + uint64(age)
	return m, s.marks.update(horizon, m, ok, shared), shared, nil
}

// qPublish publishes a settled watermark $1 in changes_settled, without
// waiting for its commit to be flushed (losing it loses nothing).
const qPublish = `WITH c AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
	UPDATE changes_settled SET pos = $1 FROM c WHERE pos < $1`

// settle waits until every transaction that had taken a pos when it was
// called has ended, or maxSettle has passed, and returns the settled
// watermark then. When complete, every change committed before the call
// is at or below it.
func (s *Store) settle(ctx context.Context) (settled int64, complete bool, err error) {
	target, settled, err := s.poll(ctx)
	if err != nil {
		return 0, false, err
	}
	deadline := time.Now().Add(maxSettle)
	for pause := time.Duration(0); settled < target.pos; pause = min(max(2*pause, settlePoll), maxSettlePoll) {
		if pause > 0 {
			pause = min(pause, time.Until(deadline))
			if pause <= 0 {
				return settled, false, nil
			}
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, false, ctx.Err()
			case <-t.C:
			}
		}
		if _, settled, err = s.poll(ctx); err != nil {
			return 0, false, err
		}
	}
	return settled, true, nil
}

// qChanges reads the changes of environment $1 after position ($2, $3) and
// up to the watermark $8 that the type filter selects: those of the types
// $4, and those of a type that begins with one of $6 but for $5
// (userdata.TypeFilter).
const qChanges = `SELECT ` + changeColumns + `
	FROM change_commits t JOIN changes c ON c.tx = t.tx AND c.environment_id = t.environment_id
	WHERE t.environment_id = $1 AND t.pos >= $2 AND (t.pos, c.seq) > ($2, $3) AND t.pos <= $8
	AND (c.type = ANY($4::text[]) OR (c.type <> $5 AND EXISTS (SELECT FROM unnest($6::text[]) AS p WHERE starts_with(c.type, p))))
	ORDER BY t.pos, c.seq LIMIT $7`

// Changes returns a page of the environment's change log (webhooks.md §4):
// the changes after the cursor up to the settled watermark (see settle).
// It returns CodeInvalidCursor for a cursor that is not a position, and
// CodeCursorExpired for one before changes that PruneChanges removed.
func (s *Store) Changes(ctx context.Context, envID string, q userdata.ChangeQuery) (*userdata.ChangePage, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	after, err := s.changePosition(ctx, envID, q.After)
	if err != nil {
		return nil, translate("read changes", err)
	}
	page := &userdata.ChangePage{Changes: []*userdata.Change{}, Next: after.String()}
	settled, _, err := s.settle(ctx)
	if err != nil || settled < after.pos {
		return page, translate("read changes", err)
	}
	exact, prefixes := q.Types.Exact, q.Types.Prefixes
	if exact == nil {
		exact = []string{}
	}
	if prefixes == nil {
		prefixes = []string{}
	}
	rows, _ := s.pool.Query(ctx, qChanges, envID, after.pos, after.seq, exact, userdata.PageViewed, prefixes, q.Limit, settled)
	defer rows.Close()
	for rows.Next() {
		c, p, err := scanChange(rows, envID)
		if err != nil {
			return nil, translate("read changes", err)
		}
		page.Changes, page.Next = append(page.Changes, c), p.String()
	}
	if err := rows.Err(); err != nil {
		return nil, translate("read changes", err)
	}
	return page, nil
}

// changePosition returns the position a cursor of the feed stands for: ""
// the start of the environment's log, CursorNow the end of the log (see
// head). It returns CodeInvalidCursor for a cursor that is not a position,
// and CodeCursorExpired for one before changes of the environment that
// were pruned.
func (s *Store) changePosition(ctx context.Context, envID, cursor string) (position, error) {
	after, ok := parsePosition(cursor)
	if cursor != "" && cursor != userdata.CursorNow && !ok {
		return position{}, userdata.Errorf(userdata.CodeInvalidCursor, "invalid cursor")
	}
	var pruned position
	err := s.pool.QueryRow(ctx, "SELECT pos, seq FROM changes_pruned WHERE environment_id = $1", envID).Scan(&pruned.pos, &pruned.seq)
	switch {
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return position{}, err
	case cursor == userdata.CursorNow:
		head, err := s.head(ctx)
		if head.before(pruned) {
			head = pruned
		}
		return head, err
	case cursor == "":
		return pruned, nil
	case after.before(pruned):
		return position{}, userdata.Errorf(userdata.CodeCursorExpired, "expired cursor")
	}
	return after, nil
}

// head returns the end of the log: the changes after it are those that
// commit after the call. It first lets the writes running at the call end
// (see settle): their changes count as committed before it. If some run
// too long, the head is the settled watermark, before which nothing can
// commit: a reader from it may then also read a few changes committed
// before the call, but misses none after it.
func (s *Store) head(ctx context.Context) (position, error) {
	settled, _, err := s.settle(ctx)
	return position{pos: settled, seq: math.MaxInt64}, err
}

// qPruneChanges removes at most $2 changes of transactions up to the
// settled watermark $3 committed before $1, oldest first, skipping those
// another process is removing and those an enabled webhook of their
// environment has yet to fan out (after its cursor), and notes the newest position removed from
// each environment; it removes the positions of the oldest of those
// transactions whose changes an earlier call removed. It answers with the
// number of changes removed.
const qPruneChanges = `WITH doomed AS (
		SELECT c.tx, c.seq, t.environment_id, t.pos FROM change_commits t JOIN changes c ON c.tx = t.tx AND c.environment_id = t.environment_id
		WHERE t.created_at < $1 AND t.pos <= $3
			AND NOT EXISTS (SELECT FROM webhooks w WHERE w.environment_id = t.environment_id AND w.enabled
				AND (t.pos, c.seq) > (split_part(w.fanout_cursor, '-', 1)::bigint, split_part(w.fanout_cursor, '-', 2)::bigint))
		ORDER BY t.created_at, t.pos, c.seq LIMIT $2 FOR UPDATE OF c SKIP LOCKED),
	gone AS (
		DELETE FROM changes c USING doomed d WHERE c.tx = d.tx AND c.seq = d.seq
		RETURNING d.environment_id, d.pos, d.seq),
	marked AS (
		INSERT INTO changes_pruned AS p (environment_id, pos, seq)
		SELECT DISTINCT ON (environment_id) environment_id, pos, seq FROM gone ORDER BY environment_id, pos DESC, seq DESC
		ON CONFLICT (environment_id) DO UPDATE SET pos = excluded.pos, seq = excluded.seq
		WHERE (excluded.pos, excluded.seq) > (p.pos, p.seq)),
	emptied AS (
		DELETE FROM change_commits WHERE (environment_id, pos) IN (SELECT environment_id, pos FROM change_commits t
			WHERE created_at < $1 AND pos <= $3
			AND NOT EXISTS (SELECT FROM changes c WHERE c.tx = t.tx AND c.environment_id = t.environment_id)
			ORDER BY created_at, pos LIMIT $2 FOR UPDATE SKIP LOCKED))
	SELECT count(*) FROM gone`

// PruneChanges removes at most limit changes committed before before,
// oldest first, and notes the newest position pruned from each
// environment. It returns how many it removed.
// Only changes up to the settled watermark are removed (it waits for it
// as reads do, see settle): a change that commits later behind a removed
// one would be lost to every reader.
func (s *Store) PruneChanges(ctx context.Context, before time.Time, limit int) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	settled, _, err := s.settle(ctx)
	if err != nil {
		return 0, translate("prune changes", err)
	}
	var n int64
	err = s.retry(ctx, "prune changes", func() error {
		return s.pool.QueryRow(ctx, qPruneChanges, before, limit, settled).Scan(&n)
	})
	return n, translate("prune changes", err)
}

// changePoll is how often the store looks whether changes became readable
// while someone waits for them (see ChangeSignal).
const changePoll = 50 * time.Millisecond

// ChangeSignal returns a channel closed when changes may have become
// readable: at once when this store commits changes, and within about
// two changePoll when the settled watermark moves, whichever process
// wrote them.
func (s *Store) ChangeSignal() <-chan struct{} {
	ch := s.changes.C()
	s.watching.Store(true) // after C: a notification that missed the flag closes ch
	return ch
}

// watchChanges reads a mark every changePoll, while someone waits on a
// channel of ChangeSignal, and wakes the waiters when the settled
// watermark has moved since it last did. It returns when ctx ends.
func (s *Store) watchChanges(ctx context.Context) {
	defer close(s.watchDone)
	tick := time.NewTicker(changePoll)
	defer tick.Stop()
	var head int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !s.watching.Load() {
			continue
		}
		qctx, cancel := s.bound(ctx)
		_, settled, shared, err := s.pollShared(qctx)
		if err == nil && settled > shared {
			_, err = s.pool.Exec(qctx, qPublish, settled)
		}
		cancel()
		if err != nil {
			continue // the next tick tries again; reads report outages
		}
		if settled != head {
			head = settled
			s.watching.Store(false)
			s.changes.Notify()
		}
	}
}
