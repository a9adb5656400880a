package postgres

import (
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// The change log (0010_changes.sql) is written by the statements of each
// write, in its transaction: an upsert's statement records the change it
// makes (recordSQL), with the object's attributes before and after it;
// a deletion's or an event's records its own (entityTable.qRemove,
// qDeleteMembership, qInsertEvent). The previousAttributes of an update
// are computed from these when the change is read (scanChange), by
// userdata.PreviousAttributes: the rule lives in Go only. The feed's
// reads, positions and signal are in feed.go.

// changeTypes are the types of the changes of one kind of object: created,
// updated, deleted.
type changeTypes [3]string

var (
	userChanges       = changeTypes{userdata.ChangeUserCreated, userdata.ChangeUserUpdated, userdata.ChangeUserDeleted}
	companyChanges    = changeTypes{userdata.ChangeCompanyCreated, userdata.ChangeCompanyUpdated, userdata.ChangeCompanyDeleted}
	membershipChanges = changeTypes{userdata.ChangeMembershipCreated, userdata.ChangeMembershipUpdated, userdata.ChangeMembershipDeleted}
)

// recordSQL returns rec, the part of an upsert's statement that records
// the change of the row it created or updated, if any: the row of up,
// whose created says which (xmax = 0: it has no earlier version), with
// the attributes before from old. object is the row's object_id, user_id
// and company_id; now the change's time; the change's id is the parameter
// after the statement's nargs. The change takes its seq (the column's
// default, 0010_changes.sql) as it is inserted, from a row of up: after
// the statement has locked the row it changes.
//
// old holds no row for an update only when the row was created by a
// transaction that committed after the statement's snapshot was taken,
// which the upsert waited for: what the row held before is then unknown,
// and the statement fails as a serialization failure (tourd_conflict),
// which the write retries with a snapshot that sees the row.
func recordSQL(types changeTypes, now string, nargs int, object string) string {
	id := "$" + strconv.Itoa(nargs+1)
	return `rec AS (INSERT INTO changes (id, environment_id, type, created_at, object_id, user_id, company_id,
			object_created_at, attributes, before)
		SELECT ` + id + `, $2, CASE WHEN up.created THEN '` + types[0] + `'
			WHEN old.attributes IS NULL THEN tourd_conflict() ELSE '` + types[1] + `' END,
			` + now + `, ` + object + `, up.created_at, up.attributes, old.attributes
		FROM up LEFT JOIN old ON true)`
}

// nextSeq returns the next number of the process's sequence of
// statements: a write's statements are numbered in the order of its
// requests, and a transaction runs those on one row in the order of their
// numbers (see stmt), whichever writes share it. (A change's seq, its
// position in the feed, is another number: see 0010_changes.sql.)
func (s *Store) nextSeq() int64 { return s.seq.Add(1) }

// noteRecorded makes q, a statement that answers with the number of
// changes it recorded, note them in the write.
func (w *write) noteRecorded(q *pgx.QueuedQuery) {
	q.QueryRow(func(row pgx.Row) error {
		var n int64
		err := row.Scan(&n)
		w.recorded = w.recorded || n > 0
		return err
	})
}

// changeColumns are the columns scanChange reads.
const changeColumns = `c.seq, c.id, c.type, c.created_at, c.object_id, c.object_created_at,
	c.user_id, c.company_id, c.definition_id, c.attributes, c.before`

// scanChange reads a change of the environment envID and its seq.
func scanChange(r pgx.Row, envID string) (*userdata.Change, int64, error) {
	var seq int64
	var objectID string
	var created time.Time
	var userID, companyID, definitionID *string
	var attrs, before []byte
	c := &userdata.Change{EnvironmentID: envID}
	err := r.Scan(&seq, &c.ID, &c.Type, &c.CreatedAt, &objectID, &created, &userID, &companyID, &definitionID, &attrs, &before)
	if err != nil {
		return nil, 0, err
	}
	attrs = compact(attrs)
	c.SetObject(objectID, created, attrs, deref(userID), deref(companyID), deref(definitionID))
	if before != nil {
		if c.Previous, err = userdata.PreviousAttributes(compact(before), attrs); err != nil {
			return nil, 0, err
		}
	}
	return c, seq, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
