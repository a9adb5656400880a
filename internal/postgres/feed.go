package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// The feed (webhooks.md §4) reads the change log in the order of
// positions, (tx, seq): the writing transaction's id, then the change's
// place in it. (Transactions that did not overlap are in commit order;
// of two that did, the one that took its id first comes first.) Several processes commit at once, and a transaction that
// took its id earlier may commit later, so a reader that served every
// committed row could then miss the rows such a transaction commits behind
// the position it served. The feed therefore serves only the rows of
// transactions below the horizon, pg_snapshot_xmin of a snapshot: every
// transaction below it has ended, and every later one gets a greater id.
// Once a position has been served, nothing can commit before it.
//
// The cost: a change becomes readable only once every transaction that
// took its id before the change's has ended, in any database of the
// cluster (read-only ones take none). A long-running write (a bulk
// statement, a transaction left open, a prepared transaction) delays the
// feed, never loses from it. Reads wait up to maxSettle for the writes
// running when they start (see settle), so that a change committed before
// a read is in it; beyond that a read answers what is readable, and the
// reader comes back (ChangeSignal wakes it when the horizon passes more).

// position is a place in the change log. Its cursor is "<tx>-<seq>".
type position struct {
	tx  uint64
	seq int64
}

func (p position) String() string {
	return strconv.FormatUint(p.tx, 10) + "-" + strconv.FormatInt(p.seq, 10)
}

func (p position) before(q position) bool {
	return p.tx < q.tx || p.tx == q.tx && p.seq < q.seq
}

// parsePosition reads a cursor of the feed, which must be written as
// position.String writes it.
func parsePosition(cursor string) (position, bool) {
	tx, seq, ok := strings.Cut(cursor, "-")
	var p position
	var err1, err2 error
	p.tx, err1 = strconv.ParseUint(tx, 10, 64)
	p.seq, err2 = strconv.ParseInt(seq, 10, 64)
	return p, ok && err1 == nil && err2 == nil && p.seq >= 0 && p.String() == cursor
}

// maxSettle bounds how long a read of the feed waits for the writes
// running when it starts (see settle). It looks whether they have ended
// after settlePoll, then twice as long each time, up to maxSettlePoll.
const (
	maxSettle     = time.Second
	settlePoll    = time.Millisecond
	maxSettlePoll = 50 * time.Millisecond
)

const qHorizon = `SELECT pg_snapshot_xmin(s), pg_snapshot_xmax(s) FROM pg_current_snapshot() AS s`

// settle waits until every transaction that was writing when it was called
// has ended, or maxSettle has passed, and returns the horizon then, and
// target: the horizon that every transaction running at the call is below.
// When it returns horizon >= target, every change committed before the call
// is below the horizon.
func (s *Store) settle(ctx context.Context) (horizon, target uint64, err error) {
	if err := s.pool.QueryRow(ctx, qHorizon).Scan(&horizon, &target); err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(maxSettle)
	for pause := settlePoll; horizon < target; pause = min(2*pause, maxSettlePoll) {
		pause = min(pause, time.Until(deadline))
		if pause <= 0 {
			return horizon, target, nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, 0, ctx.Err()
		case <-t.C:
		}
		var next uint64
		if err := s.pool.QueryRow(ctx, qHorizon).Scan(&horizon, &next); err != nil {
			return 0, 0, err
		}
	}
	return horizon, target, nil
}

// qChanges reads the changes of environment $1 after a position that the
// type filter selects: those of the types $4, and those of a type that
// begins with one of $6 but for $5 (userdata.TypeFilter), with whether
// each is below the horizon.
const qChanges = `SELECT ` + changeColumns + `, c.tx < h.horizon
	FROM changes c, (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h
	WHERE c.environment_id = $1 AND (c.tx, c.seq) > ($2::xid8, $3::bigint)
	AND (c.type = ANY($4::text[]) OR (c.type <> $5 AND EXISTS (SELECT FROM unnest($6::text[]) AS p WHERE starts_with(c.type, p))))
	ORDER BY c.tx, c.seq LIMIT $7`

// Changes returns a page of the environment's change log (webhooks.md §4).
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
	for settled := false; ; settled = true {
		blocked, err := s.readChanges(ctx, envID, after, q, page)
		if err != nil {
			return nil, translate("read changes", err)
		}
		if len(page.Changes) > 0 || !blocked || settled {
			return page, nil
		}
		// Committed changes wait behind older writes: give those a moment.
		if _, _, err := s.settle(ctx); err != nil {
			return nil, translate("read changes", err)
		}
	}
}

// readChanges reads into page the changes after a position that may be
// served, and reports whether changes that may not be yet follow them.
func (s *Store) readChanges(ctx context.Context, envID string, after position, q userdata.ChangeQuery, page *userdata.ChangePage) (bool, error) {
	exact, prefixes := q.Types.Exact, q.Types.Prefixes
	if exact == nil {
		exact = []string{}
	}
	if prefixes == nil {
		prefixes = []string{}
	}
	rows, _ := s.pool.Query(ctx, qChanges, envID, after.tx, after.seq, exact, userdata.PageViewed, prefixes, q.Limit)
	defer rows.Close()
	blocked := false
	for rows.Next() {
		c, p, ready, err := scanChange(rows, envID)
		if err != nil {
			return false, err
		}
		if !ready {
			blocked = true
			break
		}
		page.Changes, page.Next = append(page.Changes, c), p.String()
	}
	rows.Close()
	return blocked, rows.Err()
}

// changePosition returns the position a cursor of the feed stands for: ""
// the start of the environment's log, CursorNow the end of the log (see
// head). It returns CodeInvalidCursor for a cursor that is not a position,
// and CodeCursorExpired for one before changes of the environment that
// were pruned.
func (s *Store) changePosition(ctx context.Context, envID, cursor string) (position, error) {
	if cursor == userdata.CursorNow {
		return s.head(ctx)
	}
	after, ok := parsePosition(cursor)
	if cursor != "" && !ok {
		return position{}, userdata.Errorf(userdata.CodeInvalidCursor, "invalid cursor")
	}
	var pruned position
	err := s.pool.QueryRow(ctx, "SELECT tx, seq FROM changes_pruned WHERE environment_id = $1", envID).Scan(&pruned.tx, &pruned.seq)
	switch {
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return position{}, err
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
// too long, the head is the horizon, before which nothing can commit: a
// reader from it may then also read a few changes committed just before
// the call, but misses none after it.
func (s *Store) head(ctx context.Context) (position, error) {
	horizon, target, err := s.settle(ctx)
	return position{tx: min(horizon, target)}, err
}

// qPruneChanges removes at most $2 changes below the horizon committed
// before $1, oldest first, skipping those another process is removing, and
// notes the newest position removed from each environment.
const qPruneChanges = `WITH gone AS (
		DELETE FROM changes WHERE (tx, seq) IN (SELECT tx, seq FROM changes
			WHERE created_at < $1 AND tx < pg_snapshot_xmin(pg_current_snapshot())
			ORDER BY created_at, tx, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING environment_id, tx, seq),
	marked AS (
		INSERT INTO changes_pruned AS p (environment_id, tx, seq)
		SELECT DISTINCT ON (environment_id) environment_id, tx, seq FROM gone ORDER BY environment_id, tx DESC, seq DESC
		ON CONFLICT (environment_id) DO UPDATE SET tx = excluded.tx, seq = excluded.seq
		WHERE (excluded.tx, excluded.seq) > (p.tx, p.seq))
	SELECT count(*) FROM gone`

// PruneChanges removes at most limit changes committed before before,
// oldest first, and notes the newest position pruned from each
// environment. It returns how many it removed. Only changes below the
// horizon are removed (it waits for it as reads do, see settle): a change
// that commits later behind a removed one would be lost to every reader.
func (s *Store) PruneChanges(ctx context.Context, before time.Time, limit int) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, _, err := s.settle(ctx); err != nil {
		return 0, translate("prune changes", err)
	}
	var n int64
	err := s.retry(ctx, "prune changes", func() error {
		return s.pool.QueryRow(ctx, qPruneChanges, before, limit).Scan(&n)
	})
	return n, translate("prune changes", err)
}

// changePoll is how often the store looks whether changes became readable
// while someone waits for them (see ChangeSignal).
const changePoll = 50 * time.Millisecond

// qReadableHead is the greatest transaction with changes below the
// horizon: it grows when the horizon passes changes, which become
// readable.
const qReadableHead = `SELECT coalesce(max(tx), '0') FROM changes WHERE tx < pg_snapshot_xmin(pg_current_snapshot())`

// ChangeSignal returns a channel closed when changes may have become
// readable: at once when this store commits changes, and within about
// changePoll when the horizon passes changes, whichever process wrote
// them.
func (s *Store) ChangeSignal() <-chan struct{} {
	ch := s.changes.C()
	s.watching.Store(true) // after C: a notification that missed the flag closes ch
	return ch
}

// watchChanges looks every changePoll, while someone waits on a channel
// of ChangeSignal, whether more changes are readable, and then wakes the
// waiters. It returns when ctx ends.
func (s *Store) watchChanges(ctx context.Context) {
	defer close(s.watchDone)
	tick := time.NewTicker(changePoll)
	defer tick.Stop()
	var head uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !s.watching.Load() {
			continue
		}
		var h uint64
		qctx, cancel := s.bound(ctx)
		err := s.pool.QueryRow(qctx, qReadableHead).Scan(&h)
		cancel()
		if err != nil {
			continue // the next tick tries again; reads report outages
		}
		if h != head {
			head = h
			s.watching.Store(false)
			s.changes.Notify()
		}
	}
}
