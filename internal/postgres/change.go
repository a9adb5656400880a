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
// and company_id; now the change's time; the change's id and seq are the
// parameters after the statement's nargs.
//
// old holds no row for an update only when the row was created by a
// transaction that committed after the statement's snapshot was taken,
// which the upsert waited for: what the row held before is then unknown,
// and the statement fails as a serialization failure (tourd_conflict),
// which the write retries with a snapshot that sees the row.
func recordSQL(types changeTypes, now string, nargs int, object string) string {
	id, seq := "$"+strconv.Itoa(nargs+1), "$"+strconv.Itoa(nargs+2)
	return `rec AS (INSERT INTO changes (id, environment_id, type, created_at, seq, object_id, user_id, company_id,
			object_created_at, attributes, before)
		SELECT ` + id + `, $2, CASE WHEN up.created THEN '` + types[0] + `'
			WHEN old.attributes IS NULL THEN tourd_conflict() ELSE '` + types[1] + `' END,
			` + now + `, ` + seq + `, ` + object + `, up.created_at, up.attributes, old.attributes
		FROM up LEFT JOIN old ON true)`
}

// sealSQL is the last statement of a transaction that may have recorded
// changes of the environments $1: it gives the changes of each its
// position in the feed, a pos taken now, after every row lock the
// transaction takes (see 0010_changes.sql and feed.go).
const sealSQL = `INSERT INTO change_commits (environment_id)
	SELECT e FROM unnest($1::text[]) AS e
	WHERE EXISTS (SELECT FROM changes WHERE tx = pg_current_xact_id_if_assigned() AND environment_id = e)`

// sealCTE is sealSQL as the last part of a statement that records
// changes, as rec, that returns their environment_id.
const sealCTE = `sealed AS (INSERT INTO change_commits (environment_id) SELECT DISTINCT environment_id FROM rec)`

// nextSeq returns the next number of the process's sequence of
// statements. A change takes the number of the statement that records it
// as its place among the changes of its transaction: a write's statements
// are numbered in the order of its requests, and a transaction runs those
// on one row in the order of their numbers (see stmt), whichever writes
// share it.
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

// changeColumns are the columns scanChange reads, of a change c of the
// transaction of change_commits t.
const changeColumns = `t.pos, c.seq, c.id, c.type, c.created_at, c.object_id, c.object_created_at,
	c.user_id, c.company_id, c.definition_id, c.attributes, c.before`

// scanChange reads a change of the environment envID and its position.
func scanChange(r pgx.Row, envID string) (*userdata.Change, position, error) {
	var p position
	var objectID string
	var created time.Time
	var userID, companyID, definitionID *string
	var attrs, before []byte
	c := &userdata.Change{EnvironmentID: envID}
	err := r.Scan(&p.pos, &p.seq, &c.ID, &c.Type, &c.CreatedAt, &objectID, &created, &userID, &companyID, &definitionID, &attrs, &before)
	if err != nil {
		return nil, p, err
	}
	attrs = compact(attrs)
	c.SetObject(objectID, created, attrs, deref(userID), deref(companyID), deref(definitionID))
	if before != nil {
		if c.Previous, err = userdata.PreviousAttributes(compact(before), attrs); err != nil {
			return nil, p, err
		}
	}
	return c, p, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
