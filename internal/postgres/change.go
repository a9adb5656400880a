package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// The change log (0010_changes.sql) is written in the transaction of each
// write. An upsert's statements answer with the row they leave and the
// attributes it had before (see upsertSQL, membershipSQL); from these the
// write makes its changes in Go (newChange), in the order of its requests,
// and inserts them before it commits (see Store.commit). A deletion or an
// event, which need no previous attributes, inserts its change in its own
// statement (entityTable.qRemove, qDeleteMembership, qInsertEvent). The
// feed's reads, positions and signal are in feed.go.

// changeTypes are the types of the changes of one kind of object: created,
// updated, deleted.
type changeTypes [3]string

var (
	userChanges       = changeTypes{userdata.ChangeUserCreated, userdata.ChangeUserUpdated, userdata.ChangeUserDeleted}
	companyChanges    = changeTypes{userdata.ChangeCompanyCreated, userdata.ChangeCompanyUpdated, userdata.ChangeCompanyDeleted}
	membershipChanges = changeTypes{userdata.ChangeMembershipCreated, userdata.ChangeMembershipUpdated, userdata.ChangeMembershipDeleted}
)

// errConflict fails a write whose upsert met a row that another
// transaction created after the statement's snapshot was taken, so that it
// could not read what the row held before the merge. It is retryable: the
// next attempt sees the row.
var errConflict = errors.New("postgres: a row was created concurrently")

// before returns the attributes an upsert's object had before the write,
// as its statement answered them (old): nil when the statement created it.
// It returns errConflict when the statement merged into a row it could not
// read first.
func before(created bool, old []byte) (json.RawMessage, error) {
	switch {
	case created:
		return nil, nil
	case old == nil:
		return nil, errConflict
	}
	return compact(old), nil
}

// newChange returns the change, recorded now, of an object of envID whose
// attributes went from before (nil when the write created it) to after,
// without its object; nil when the attributes are the same, which is no
// change.
func newChange(types changeTypes, envID string, now time.Time, before, after json.RawMessage) (*userdata.Change, error) {
	c := &userdata.Change{ID: userdata.NewChangeID(), Type: types[0], EnvironmentID: envID, CreatedAt: now}
	if before == nil {
		return c, nil
	}
	if bytes.Equal(before, after) {
		return nil, nil
	}
	c.Type = types[1]
	var err error
	c.Previous, err = userdata.PreviousAttributes(before, after)
	return c, err
}

// qInsertChanges inserts changes made in Go, in the order given: seq, the
// change's place among those of its transaction, is taken in that order.
const qInsertChanges = `INSERT INTO changes (id, environment_id, type, created_at, object_id, object_created_at,
	user_id, company_id, attributes, previous)
	SELECT c.id, c.environment_id, c.type, c.created_at, c.object_id, c.object_created_at,
		c.user_id, c.company_id, c.attributes::jsonb, c.previous::json
	FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[],
		$7::text[], $8::text[], $9::text[], $10::text[])
		WITH ORDINALITY AS c(id, environment_id, type, created_at, object_id, object_created_at,
			user_id, company_id, attributes, previous, n)
	ORDER BY c.n`

// changeRows are the columns of changes to insert with qInsertChanges.
type changeRows struct {
	id, envID, typ, objectID, attributes []string
	userID, companyID, previous          []*string
	at, objectAt                         []time.Time
}

// add adds a change of a user, company or membership.
func (r *changeRows) add(c *userdata.Change) {
	var objectID string
	var objectAt time.Time
	var attrs json.RawMessage
	var userID, companyID, previous *string
	switch {
	case c.User != nil:
		objectID, objectAt, attrs = c.User.ExternalID, c.User.CreatedAt, c.User.Attributes
	case c.Company != nil:
		objectID, objectAt, attrs = c.Company.ExternalID, c.Company.CreatedAt, c.Company.Attributes
	case c.Membership != nil:
		m := c.Membership
		objectID, objectAt, attrs = m.ID, m.CreatedAt, m.Attributes
		userID, companyID = &m.UserID, &m.CompanyID
	}
	if c.Previous != nil {
		previous = new(string)
		*previous = string(c.Previous)
	}
	r.id, r.envID, r.typ, r.at = append(r.id, c.ID), append(r.envID, c.EnvironmentID), append(r.typ, c.Type), append(r.at, c.CreatedAt)
	r.objectID, r.objectAt, r.attributes = append(r.objectID, objectID), append(r.objectAt, objectAt), append(r.attributes, string(attrs))
	r.userID, r.companyID, r.previous = append(r.userID, userID), append(r.companyID, companyID), append(r.previous, previous)
}

// queueChanges queues the insertion of the changes that writes recorded,
// in the order of writes and of each write's, and reports whether there
// were any.
func queueChanges(b *pgx.Batch, writes []*write) bool {
	var r changeRows
	for _, w := range writes {
		for _, c := range w.changes {
			if c != nil {
				r.add(c)
			}
		}
	}
	if len(r.id) == 0 {
		return false
	}
	b.Queue(qInsertChanges, r.id, r.envID, r.typ, r.at, r.objectID, r.objectAt, r.userID, r.companyID, r.attributes, r.previous)
	return true
}

// changeColumns are the columns scanChange reads, and whether the change
// is below the horizon (see qChanges).
const changeColumns = `c.tx, c.seq, c.id, c.type, c.created_at, c.object_id, c.object_created_at,
	c.user_id, c.company_id, c.definition_id, c.attributes, c.previous`

// scanChange reads a change of the environment envID, its position, and
// whether it may be served.
func scanChange(r pgx.Row, envID string) (*userdata.Change, position, bool, error) {
	var p position
	var objectID string
	var created time.Time
	var userID, companyID, definitionID *string
	var attrs, previous []byte
	var ready bool
	c := &userdata.Change{EnvironmentID: envID}
	err := r.Scan(&p.tx, &p.seq, &c.ID, &c.Type, &c.CreatedAt, &objectID, &created, &userID, &companyID, &definitionID, &attrs, &previous, &ready)
	if err != nil {
		return nil, p, false, err
	}
	attrs = compact(attrs)
	switch {
	case strings.HasPrefix(c.Type, "user."):
		c.User = &userdata.User{ExternalID: objectID, Attributes: attrs, CreatedAt: created}
	case strings.HasPrefix(c.Type, "company."):
		c.Company = &userdata.Company{ExternalID: objectID, Attributes: attrs, CreatedAt: created}
	case strings.HasPrefix(c.Type, "membership."):
		c.Membership = &userdata.Membership{ID: objectID, UserID: deref(userID), CompanyID: deref(companyID), Attributes: attrs, CreatedAt: created}
	default:
		c.Event = &userdata.Event{ID: objectID, Name: strings.TrimPrefix(c.Type, userdata.ChangeEventTracked), UserID: deref(userID),
			CompanyID: deref(companyID), DefinitionID: deref(definitionID), Attributes: attrs, CreatedAt: created}
	}
	if previous != nil {
		c.Previous = previous
	}
	return c, p, ready, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
