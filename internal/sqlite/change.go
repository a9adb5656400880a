package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"tourd/internal/userdata"
)

// The change log (migration 0009): writes queue their changes with
// record, and the commit of their transaction inserts the rows of the
// whole batch, in the order of its writes, before COMMIT (insertChanges):
// a few multi-row INSERTs rather than one statement per change, which on
// the hot path of upserts costs a third as much. The syncer signals the
// commits that recorded changes once they are durable, and the feed reads
// the log in seq order.

// changeColumnCount is the number of values of a row of changes that
// insertChanges binds.
const changeColumnCount = 11

// changeRowsPerInsert is the most rows one INSERT of insertChanges
// carries: 64 rows of 11 values, well below SQLite's 32,766 parameters.
const changeRowsPerInsert = 64

// record queues c, whose ID, Type, EnvironmentID, CreatedAt and object
// are set, for the log: its row, as insertChanges binds it.
func (w *wtx) record(c *userdata.Change) {
	var objectID string
	var created time.Time
	var attrs []byte
	var userID, companyID, definitionID any // NULL unless set
	switch {
	case c.User != nil:
		objectID, created, attrs = c.User.ExternalID, c.User.CreatedAt, c.User.Attributes
	case c.Company != nil:
		objectID, created, attrs = c.Company.ExternalID, c.Company.CreatedAt, c.Company.Attributes
	case c.Membership != nil:
		m := c.Membership
		objectID, created, attrs = m.ID, m.CreatedAt, m.Attributes
		userID, companyID = m.UserID, m.CompanyID
	case c.Event != nil:
		e := c.Event
		objectID, created, attrs = e.ID, e.CreatedAt, e.Attributes
		userID, definitionID = e.UserID, e.DefinitionID
		if e.CompanyID != "" {
			companyID = e.CompanyID
		}
	}
	var previous any
	if c.Previous != nil {
		previous = string(c.Previous)
	}
	w.changes = append(w.changes, c.ID, c.EnvironmentID, c.Type, micros(c.CreatedAt), objectID, micros(created),
		userID, companyID, definitionID, string(attrs), previous)
}

// insertChanges inserts the rows the writes of a batch queued, in order.
func (t *batchTx) insertChanges(ok []*job) error {
	var rows []any
	for _, j := range ok {
		rows = append(rows, j.w.changes...)
	}
	for len(rows) > 0 {
		n := min(len(rows)/changeColumnCount, changeRowsPerInsert)
		q := qInsertChanges[n-1]
		if _, err := t.s.w.ExecContext(context.Background(), q, rows[:n*changeColumnCount]...); err != nil {
			return err
		}
		rows = rows[n*changeColumnCount:]
	}
	return nil
}

// qInsertChanges[n-1] inserts n rows of changes.
var qInsertChanges = func() []string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", changeColumnCount), ", ") + ")"
	qs := make([]string, changeRowsPerInsert)
	for n := range qs {
		qs[n] = `INSERT INTO changes (id, environment_id, type, created_at, object_id, object_created_at,
			user_id, company_id, definition_id, attributes, previous) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n+1), ", ")
	}
	return qs
}()

// recordEntity records a change of kind of the user or company e of t:
// its creation, update (with previous, its previousAttributes) or
// deletion (e as it was).
func (w *wtx) recordEntity(t *entityTable, envID string, e *entity, kind userdata.ChangeKind, previous json.RawMessage) {
	c := &userdata.Change{ID: userdata.NewChangeID(), Type: t.changeTypes[kind], EnvironmentID: envID, CreatedAt: w.now, Previous: previous}
	if t.scope == userdata.ScopeUser {
		c.User = e.user()
	} else {
		c.Company = e.company()
	}
	w.record(c)
}

// recordMembership records a change of the membership m: its creation,
// update (with previous) or removal (m as it was).
func (w *wtx) recordMembership(envID string, m *userdata.Membership, typ string, previous json.RawMessage) {
	w.record(&userdata.Change{ID: userdata.NewChangeID(), Type: typ, EnvironmentID: envID, CreatedAt: w.now, Membership: m, Previous: previous})
}

// changeColumns are the columns scanChange reads.
const changeColumns = "seq, id, type, created_at, object_id, object_created_at, user_id, company_id, definition_id, attributes, previous"

// scanChange reads a change of the environment envID and its position.
func scanChange(r scanner, envID string) (*userdata.Change, int64, error) {
	var seq, at, objectAt int64
	var objectID string
	var userID, companyID, definitionID, previous sql.NullString
	var attrs []byte
	c := &userdata.Change{EnvironmentID: envID}
	if err := r.Scan(&seq, &c.ID, &c.Type, &at, &objectID, &objectAt, &userID, &companyID, &definitionID, &attrs, &previous); err != nil {
		return nil, 0, err
	}
	c.CreatedAt = fromMicros(at)
	c.SetObject(objectID, fromMicros(objectAt), attrs, userID.String, companyID.String, definitionID.String)
	if previous.Valid {
		c.Previous = []byte(previous.String)
	}
	return c, seq, nil
}

// Changes returns a page of the environment's change log (webhooks.md §4).
func (s *Store) Changes(ctx context.Context, envID string, q userdata.ChangeQuery) (*userdata.ChangePage, error) {
	after, err := s.changePosition(ctx, envID, q.After)
	if err != nil {
		return nil, err
	}
	where, args := typeWhere(q.Types)
	rows, err := s.r.QueryContext(ctx, "SELECT "+changeColumns+" FROM changes WHERE environment_id = ? AND seq > ? AND "+where+" ORDER BY seq LIMIT ?",
		append(append([]any{envID, after}, args...), q.Limit)...)
	if err != nil {
		return nil, s.fault(err)
	}
	defer rows.Close()
	page := &userdata.ChangePage{Changes: []*userdata.Change{}}
	for rows.Next() {
		c, seq, err := scanChange(rows, envID)
		if err != nil {
			return nil, s.fault(err)
		}
		page.Changes, after = append(page.Changes, c), seq
	}
	if err := rows.Err(); err != nil {
		return nil, s.fault(err)
	}
	page.Next = strconv.FormatInt(after, 10)
	return page, nil
}

// typeWhere returns the condition that f selects a change's type.
func typeWhere(f userdata.TypeFilter) (string, []any) {
	var terms []string
	var args []any
	if len(f.Exact) > 0 {
		terms = append(terms, "type IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Exact)), ", ")+")")
		for _, t := range f.Exact {
			args = append(args, t)
		}
	}
	if len(f.Prefixes) > 0 {
		var prefixes []string
		for _, p := range f.Prefixes {
			prefixes = append(prefixes, "substr(type, 1, ?) = ?")
			args = append(args, len(p), p)
		}
		terms = append(terms, "(("+strings.Join(prefixes, " OR ")+") AND type <> ?)")
		args = append(args, userdata.PageViewed)
	}
	if len(terms) == 0 {
		return "FALSE", nil
	}
	return "(" + strings.Join(terms, " OR ") + ")", args
}

// ChangeSignal returns a channel closed once a commit that recorded
// changes is durable.
func (s *Store) ChangeSignal() <-chan struct{} { return s.changes.C() }

// changePosition returns the seq a cursor of the feed stands for: "" the
// start of the log, "now" its end. It returns CodeInvalidCursor for a
// cursor that is not a position, and CodeCursorExpired for one before
// changes of the environment that were pruned.
func (s *Store) changePosition(ctx context.Context, envID, cursor string) (int64, error) {
	var pruned int64
	err := s.r.QueryRowContext(ctx, "SELECT through FROM changes_pruned WHERE environment_id = ?", envID).Scan(&pruned)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, s.fault(err)
	}
	switch cursor {
	case "":
		return pruned, nil
	case userdata.CursorNow:
		var head int64
		err := s.r.QueryRowContext(ctx, qHead).Scan(&head)
		return head, s.fault(err)
	}
	seq, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || seq < 0 || strconv.FormatInt(seq, 10) != cursor {
		return 0, userdata.Errorf(userdata.CodeInvalidCursor, "invalid cursor")
	}
	if seq < pruned {
		return 0, userdata.Errorf(userdata.CodeCursorExpired, "expired cursor")
	}
	return seq, nil
}

// qPruneable selects the seq of the changes PruneChanges may remove: of
// the first ?2 in seq order, those committed before ?1, but the newest
// change of the log, which keeps seq from going back (migration 0009),
// and those an enabled webhook of their environment has yet to fan out
// (after its cursor).
const qPruneable = `SELECT seq, environment_id FROM (SELECT seq, environment_id, created_at FROM changes ORDER BY seq LIMIT ?2) c
	WHERE created_at < ?1 AND seq < (SELECT max(seq) FROM changes)
		AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.environment_id = c.environment_id AND w.enabled AND CAST(w.fanout_cursor AS INTEGER) < c.seq)`

// PruneChanges removes at most limit changes committed before before,
// oldest first, but those an enabled webhook has yet to fan out, and
// notes the newest position pruned from each environment. It returns how
// many it removed.
func (s *Store) PruneChanges(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO changes_pruned (environment_id, through)
			SELECT environment_id, max(seq) FROM (`+qPruneable+`) WHERE TRUE GROUP BY environment_id
			ON CONFLICT (environment_id) DO UPDATE SET through = max(through, excluded.through)`, micros(before), limit); err != nil {
			return err
		}
		var err error
		n, err = w.execCount(`DELETE FROM changes WHERE seq IN (SELECT seq FROM (`+qPruneable+`))`, micros(before), limit)
		return err
	})
	return n, s.fault(err)
}
