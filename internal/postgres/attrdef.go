package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// rowQuerier is what a pool and a transaction have in common for reading
// one row.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// attributeDefinitionColumns are the columns scanAttributeDefinition reads.
const attributeDefinitionColumns = "id, scope, code_name, display_name, description, data_type, predefined, created_at"

func scanAttributeDefinition(r pgx.Row) (*userdata.AttributeDefinition, error) {
	var d userdata.AttributeDefinition
	if err := r.Scan(&d.ID, &d.Scope, &d.CodeName, &d.DisplayName, &d.Description, &d.DataType, &d.Predefined, &d.CreatedAt); err != nil {
		return nil, err
	}
	return &d, nil
}

// attributeDefinition reads an attribute definition of a project, with
// lock (" FOR UPDATE", or "") on its row, or returns CodeNotFound for
// ResourceAttributeDefinition.
func attributeDefinition(ctx context.Context, q rowQuerier, projectID, id, lock string) (*userdata.AttributeDefinition, error) {
	if !storable(projectID) || !storable(id) {
		return nil, userdata.NotFound(userdata.ResourceAttributeDefinition)
	}
	d, err := scanAttributeDefinition(q.QueryRow(ctx,
		"SELECT "+attributeDefinitionColumns+" FROM attribute_definitions WHERE project_id = $1 AND id = $2"+lock, projectID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceAttributeDefinition)
	}
	return d, err
}

// writableAttributeDefinition reads an attribute definition that may be
// changed, as attributeDefinition: CodeNotFound, then CodePredefined.
func writableAttributeDefinition(ctx context.Context, tx pgx.Tx, projectID, id, lock string) (*userdata.AttributeDefinition, error) {
	d, err := attributeDefinition(ctx, tx, projectID, id, lock)
	if err == nil && d.Predefined {
		err = userdata.ErrPredefined
	}
	return d, err
}

// GetAttributeDefinition returns an attribute definition of a project.
func (s *Store) GetAttributeDefinition(ctx context.Context, projectID, id string) (*userdata.AttributeDefinition, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	d, err := attributeDefinition(ctx, s.pool, projectID, id, "")
	return d, translate("get attribute definition", err)
}

// CreateAttributeDefinition adds an attribute definition to a project. A
// definition a write creates meanwhile wins, as an earlier one would.
func (s *Store) CreateAttributeDefinition(ctx context.Context, projectID string, in *userdata.AttributeDefinitionInput) (*userdata.AttributeDefinition, error) {
	if !storable(projectID) {
		return nil, userdata.NotFound(userdata.ResourceProject)
	}
	var d *userdata.AttributeDefinition
	err := s.transact(ctx, "create attribute definition", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		if err := projectExists(ctx, tx, projectID); err != nil {
			return err
		}
		d = &userdata.AttributeDefinition{ID: userdata.NewID(), Scope: in.Scope, CodeName: in.CodeName, DisplayName: in.DisplayName,
			Description: in.Description, DataType: in.DataType, CreatedAt: now}
		tag, err := tx.Exec(ctx, `INSERT INTO attribute_definitions
			(id, project_id, scope, code_name, display_name, description, data_type, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (project_id, scope, code_name) DO NOTHING`,
			d.ID, projectID, int32(d.Scope), d.CodeName, d.DisplayName, d.Description, int32(d.DataType), now)
		if err == nil && tag.RowsAffected() == 0 {
			err = userdata.DefinitionExists(in.Scope, in.CodeName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// scopeTables are the tables holding the values of each scope's
// attributes.
var scopeTables = map[userdata.Scope]string{
	userdata.ScopeUser:       "users",
	userdata.ScopeCompany:    "companies",
	userdata.ScopeMembership: "memberships",
	userdata.ScopeEvent:      "events",
}

// UpdateAttributeDefinition changes an attribute definition.
//
// A retype locks the table of the definition's scope in SHARE mode before
// it checks the stored values: the lock waits for the transactions writing
// to that table to end, and holds off new ones until the change commits,
// so the check sees every value written before it and the writes after it
// see the new type. Writers of other tables go on, and readers are never
// blocked. The lock comes first, before the definition's row lock, so that
// a writer never holds the table while waiting for a lock the retype
// holds; the definition is read once before only to find its scope.
func (s *Store) UpdateAttributeDefinition(ctx context.Context, projectID, id string, u *userdata.AttributeDefinitionUpdate) (*userdata.AttributeDefinition, error) {
	var d *userdata.AttributeDefinition
	// A retype notifies keysChannel on commit, so that every process
	// forgets the types it knows (AttributeTypes); other changes need not.
	change := s.notifying
	if u.DataType == nil {
		change = func(ctx context.Context, f func(context.Context) error) error { return f(ctx) }
	}
	err := change(ctx, func(ctx context.Context) error {
		return s.updateAttributeDefinition(ctx, projectID, id, u, &d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Store) updateAttributeDefinition(ctx context.Context, projectID, id string, u *userdata.AttributeDefinitionUpdate, out **userdata.AttributeDefinition) error {
	var d *userdata.AttributeDefinition
	err := s.transact(ctx, "update attribute definition", func(ctx context.Context, tx pgx.Tx, _ time.Time) (err error) {
		retype := u.DataType != nil
		if retype {
			if d, err = writableAttributeDefinition(ctx, tx, projectID, id, ""); err != nil {
				return err
			}
			if retype = *u.DataType != d.DataType; retype {
				if _, err := tx.Exec(ctx, "LOCK TABLE "+scopeTables[d.Scope]+" IN SHARE MODE"); err != nil {
					return err
				}
			}
		}
		if d, err = writableAttributeDefinition(ctx, tx, projectID, id, " FOR UPDATE"); err != nil {
			return err
		}
		if retype && *u.DataType != d.DataType {
			if err := checkStoredValues(ctx, tx, projectID, d.Scope, d.CodeName, *u.DataType); err != nil {
				return err
			}
			d.DataType = *u.DataType
			if _, err := tx.Exec(ctx, "SELECT pg_notify('"+keysChannel+"', '')"); err != nil {
				return err
			}
		}
		if u.DisplayName != nil {
			d.DisplayName = *u.DisplayName
		}
		if u.Description != nil {
			d.Description = *u.Description
		}
		_, err = tx.Exec(ctx, "UPDATE attribute_definitions SET display_name = $1, description = $2, data_type = $3 WHERE id = $4",
			d.DisplayName, d.Description, int32(d.DataType), d.ID)
		return err
	})
	*out = d
	return err
}

// AttributeTypes returns the types of the keys defined in a project's
// scope, from the type cache or one query.
func (s *Store) AttributeTypes(ctx context.Context, projectID string, scope userdata.Scope, keys []string) (map[string]userdata.DataType, error) {
	return s.types.Types(ctx, projectID, scope, keys, func(ctx context.Context, missing []string) (map[string]userdata.DataType, error) {
		ctx, cancel := s.bound(ctx)
		defer cancel()
		rows, _ := s.pool.Query(ctx, `SELECT code_name, data_type FROM attribute_definitions
			WHERE project_id = $1 AND scope = $2 AND code_name = ANY($3)`, projectID, int32(scope), missing)
		out := map[string]userdata.DataType{}
		var name string
		var t int32
		_, err := pgx.ForEachRow(rows, []any{&name, &t}, func() error {
			out[name] = userdata.DataType(t)
			return nil
		})
		if err != nil {
			return nil, translate("attribute types", err)
		}
		return out, nil
	})
}

// qStoredValues select, for each scope, the non-null values of a key ($2)
// stored in the live environments of a project ($1), as
// userdata.CheckStoredValues reads them. Memberships are found through
// the companies of each environment, the way their indexes go.
var qStoredValues = map[userdata.Scope]string{
	userdata.ScopeUser: `SELECT u.environment_id, u.external_id, '', '', u.attributes -> $2
		FROM environments e JOIN users u ON u.environment_id = e.id
		WHERE e.project_id = $1 AND e.deleted_at IS NULL AND jsonb_typeof(u.attributes -> $2) <> 'null'`,
	userdata.ScopeCompany: `SELECT c.environment_id, '', c.external_id, '', c.attributes -> $2
		FROM environments e JOIN companies c ON c.environment_id = e.id
		WHERE e.project_id = $1 AND e.deleted_at IS NULL AND jsonb_typeof(c.attributes -> $2) <> 'null'`,
	userdata.ScopeMembership: `SELECT c.environment_id, u.external_id, c.external_id, '', m.attributes -> $2
		FROM environments e JOIN companies c ON c.environment_id = e.id JOIN memberships m ON m.company_id = c.id
			JOIN users u ON u.id = m.user_id
		WHERE e.project_id = $1 AND e.deleted_at IS NULL AND jsonb_typeof(m.attributes -> $2) <> 'null'`,
	userdata.ScopeEvent: `SELECT ev.environment_id, u.external_id, '', ev.id, ev.attributes -> $2
		FROM environments e JOIN events ev ON ev.environment_id = e.id JOIN users u ON u.id = ev.user_id
		WHERE e.project_id = $1 AND e.deleted_at IS NULL AND jsonb_typeof(ev.attributes -> $2) <> 'null'`,
}

// storedValuesPage is how many stored values checkStoredValues fetches at
// a time.
const storedValuesPage = 1000

// checkStoredValues returns RetypeRefused for the first stored value of
// the definition (scope, codeName) that does not fit t. It reads them
// through a cursor, a page at a time, so that memory stays bounded and a
// misfit found early ends the scan without reading the rest.
func checkStoredValues(ctx context.Context, tx pgx.Tx, projectID string, scope userdata.Scope, codeName string, t userdata.DataType) error {
	if _, err := tx.Exec(ctx, "DECLARE stored_values NO SCROLL CURSOR FOR "+qStoredValues[scope], projectID, codeName); err != nil {
		return err
	}
	for {
		rows, _ := tx.Query(ctx, "FETCH "+strconv.Itoa(storedValuesPage)+" FROM stored_values")
		n, err := userdata.CheckStoredValues(rows, scope, codeName, t)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil || n < storedValuesPage {
			return err
		}
	}
}

// DeleteAttributeDefinition deletes an attribute definition and its links
// to events, which their foreign key cascades to, and notifies keysChannel
// on commit, so that every process forgets the definitions it knows (see
// knownDefs and notifying).
func (s *Store) DeleteAttributeDefinition(ctx context.Context, projectID, id string) error {
	return s.notifying(ctx, func(ctx context.Context) error {
		return s.transact(ctx, "delete attribute definition", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
			d, err := writableAttributeDefinition(ctx, tx, projectID, id, " FOR UPDATE")
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DELETE FROM attribute_definitions WHERE id = $1", d.ID); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, "SELECT pg_notify('"+keysChannel+"', '')")
			return err
		})
	})
}
