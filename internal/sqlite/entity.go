package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"tourd/internal/userdata"
)

// entityTable is one of the two tables of attribute-carrying entities keyed
// by an external id: users and companies. Its queries are built once from
// fixed names.
type entityTable struct {
	scope                                         userdata.Scope
	resource                                      string
	hasEmail                                      bool // the table keeps attributes.email in an email column
	qGet, qInsert, qUpdate, qUpdateEmail, qDelete string
	changeTypes                                   [3]string // by userdata.ChangeKind
}

func newEntityTable(table string, scope userdata.Scope, resource string, hasEmail bool, changeTypes [3]string) *entityTable {
	email, insertCols, insertVals := "NULL", "", ""
	if hasEmail {
		email, insertCols, insertVals = "email", ", email", ", ?"
	}
	return &entityTable{
		scope:        scope,
		resource:     resource,
		hasEmail:     hasEmail,
		qGet:         "SELECT rowid, id, attributes, created_at, " + email + " FROM " + table + " WHERE environment_id = ? AND external_id = ?",
		qInsert:      "INSERT INTO " + table + " (id, environment_id, external_id, attributes, created_at" + insertCols + ") VALUES (?, ?, ?, ?, ?" + insertVals + ")",
		qUpdate:      "UPDATE " + table + " SET attributes = ? WHERE rowid = ?",
		qUpdateEmail: "UPDATE " + table + " SET attributes = ?, email = ? WHERE rowid = ?",
		qDelete:      "DELETE FROM " + table + " WHERE environment_id = ? AND external_id = ?",
		changeTypes:  changeTypes,
	}
}

var (
	usersTable = newEntityTable("users", userdata.ScopeUser, userdata.ResourceUser, true,
		[3]string{userdata.ChangeUserCreated, userdata.ChangeUserUpdated, userdata.ChangeUserDeleted})
	companiesTable = newEntityTable("companies", userdata.ScopeCompany, userdata.ResourceCompany, false,
		[3]string{userdata.ChangeCompanyCreated, userdata.ChangeCompanyUpdated, userdata.ChangeCompanyDeleted})
)

// entity is a stored user or company row.
type entity struct {
	rowid          int64
	id, externalID string
	attributes     json.RawMessage
	createdAt      time.Time
	email          sql.NullString // users' email column
}

func (e *entity) user() *userdata.User {
	return &userdata.User{ID: e.id, ExternalID: e.externalID, Attributes: e.attributes, CreatedAt: e.createdAt}
}

func (e *entity) company() *userdata.Company {
	return &userdata.Company{ID: e.id, ExternalID: e.externalID, Attributes: e.attributes, CreatedAt: e.createdAt}
}

// get reads one entity by external id, or returns CodeNotFound.
func (t *entityTable) get(ctx context.Context, q querier, envID, externalID string) (*entity, error) {
	e := &entity{externalID: externalID}
	var created int64
	var attrs []byte
	err := q.QueryRowContext(ctx, t.qGet, envID, externalID).Scan(&e.rowid, &e.id, &attrs, &created, &e.email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userdata.NotFound(t.resource)
	}
	if err != nil {
		return nil, err
	}
	e.attributes, e.createdAt = attrs, fromMicros(created)
	return e, nil
}

// premerge is a merge computed before the write, against the cached row,
// so that the writer goroutine (which every write waits for) need not do
// it. The writer uses it only if base is still the current row.
type premerge struct {
	base             *entity
	merged, previous json.RawMessage
	changed          bool
}

// premerge merges a into the cached row, if there is one.
func (s *Store) premerge(t *entityTable, envID, externalID string, a userdata.Attributes) *premerge {
	if s.rows == nil || len(a) == 0 {
		return nil
	}
	base, _ := s.rows.get(rowKey{t, envID, externalID})
	if base == nil {
		return nil
	}
	merged, previous, changed, err := a.MergeChange(base.attributes)
	if err != nil {
		return nil
	}
	return &premerge{base, merged, previous, changed}
}

// upsert creates the entity with seeded timestamps, or merges a into the
// stored attributes (§8), and makes sure a's keys have definitions. pre
// may hold the merge, computed in advance.
func (t *entityTable) upsert(w *wtx, tn userdata.Tenant, externalID string, a userdata.Attributes, pre *premerge) (*entity, bool, error) {
	old, err := w.entity(t, tn.EnvironmentID, externalID)
	created := userdata.IsNotFound(err, t.resource)
	var e *entity
	switch {
	case created:
		e = &entity{id: userdata.NewID(), externalID: externalID, createdAt: w.now}
		if e.attributes, err = a.Create(userdata.SeedAttributes(w.now)); err != nil {
			return nil, false, err
		}
		args := []any{e.id, tn.EnvironmentID, externalID, string(e.attributes), micros(w.now)}
		if t.hasEmail {
			e.email = emailOf(e.attributes)
			args = append(args, e.email)
		}
		var res sql.Result
		if res, err = w.exec(t.qInsert, args...); err == nil {
			e.rowid, err = res.LastInsertId()
		}
		if err == nil {
			w.recordEntity(t, tn.EnvironmentID, e, userdata.ChangeCreated, nil)
		}
	case err == nil:
		e = &entity{rowid: old.rowid, id: old.id, externalID: externalID, createdAt: old.createdAt, email: old.email} // cached rows are never modified
		var changed bool
		var previous json.RawMessage
		if pre != nil && pre.base == old {
			e.attributes, previous, changed = pre.merged, pre.previous, pre.changed
		} else {
			e.attributes, previous, changed, err = a.MergeChange(old.attributes)
		}
		if err == nil && changed {
			err = t.update(w, e, old.email)
		}
		if err == nil && changed {
			w.recordEntity(t, tn.EnvironmentID, e, userdata.ChangeUpdated, previous)
		}
	}
	if err != nil {
		return nil, false, err
	}
	w.wrote(t, tn.EnvironmentID, externalID, e)
	if err := w.ensureDefinitions(tn.ProjectID, t.scope, a); err != nil {
		return nil, false, err
	}
	return e, created, nil
}

// emailOf is the email column's value for attrs.
func emailOf(attrs json.RawMessage) sql.NullString {
	email, ok := userdata.StringAttribute(attrs, "email")
	return sql.NullString{String: email, Valid: ok}
}

// update writes e's new attributes, and its email column when the email
// changed from was (so that the email index is touched only then).
func (t *entityTable) update(w *wtx, e *entity, was sql.NullString) error {
	if t.hasEmail {
		e.email = emailOf(e.attributes)
	}
	var err error
	if e.email != was {
		_, err = w.exec(t.qUpdateEmail, string(e.attributes), e.email, e.rowid)
	} else {
		_, err = w.exec(t.qUpdate, string(e.attributes), e.rowid)
	}
	return err
}

// remove deletes the entity, recording its deletion; its memberships and
// segment memberships go with it (ON DELETE CASCADE), recording nothing.
func (t *entityTable) remove(w *wtx, envID, externalID string) error {
	old, err := w.entity(t, envID, externalID)
	if err != nil {
		return err
	}
	if _, err := w.exec(t.qDelete, envID, externalID); err != nil {
		return err
	}
	w.wrote(t, envID, externalID, gone)
	w.recordEntity(t, envID, old, userdata.ChangeDeleted, nil)
	return nil
}

// entityColumns are the columns scanEntity reads.
const entityColumns = "id, external_id, attributes, created_at"

func scanEntity(r scanner) (*entity, error) {
	var e entity
	var created int64
	var attrs []byte
	if err := r.Scan(&e.id, &e.externalID, &attrs, &created); err != nil {
		return nil, err
	}
	e.attributes, e.createdAt = attrs, fromMicros(created)
	return &e, nil
}
