package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"tourd/internal/userdata"
)

// attributeDefinitionColumns are the columns scanAttributeDefinition reads.
const attributeDefinitionColumns = "id, scope, code_name, display_name, description, data_type, predefined, created_at"

func scanAttributeDefinition(r scanner) (*userdata.AttributeDefinition, error) {
	var d userdata.AttributeDefinition
	var created int64
	if err := r.Scan(&d.ID, &d.Scope, &d.CodeName, &d.DisplayName, &d.Description, &d.DataType, &d.Predefined, &created); err != nil {
		return nil, err
	}
	d.CreatedAt = fromMicros(created)
	return &d, nil
}

// attributeDefinition reads an attribute definition of a project, or
// returns CodeNotFound for ResourceAttributeDefinition.
func attributeDefinition(ctx context.Context, q querier, projectID, id string) (*userdata.AttributeDefinition, error) {
	d, err := scanAttributeDefinition(q.QueryRowContext(ctx,
		"SELECT "+attributeDefinitionColumns+" FROM attribute_definitions WHERE project_id = ? AND id = ?", projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceAttributeDefinition)
	}
	return d, err
}

// writableAttributeDefinition reads an attribute definition of a project
// that may be changed: CodeNotFound, then CodePredefined.
func (w *wtx) writableAttributeDefinition(projectID, id string) (*userdata.AttributeDefinition, error) {
	d, err := attributeDefinition(w.ctx, w.q, projectID, id)
	if err == nil && d.Predefined {
		err = userdata.ErrPredefined
	}
	return d, err
}

// GetAttributeDefinition returns an attribute definition of a project.
func (s *Store) GetAttributeDefinition(ctx context.Context, projectID, id string) (*userdata.AttributeDefinition, error) {
	d, err := attributeDefinition(ctx, s.r, projectID, id)
	return d, s.fault(err)
}

// CreateAttributeDefinition adds an attribute definition to a project.
func (s *Store) CreateAttributeDefinition(ctx context.Context, projectID string, in *userdata.AttributeDefinitionInput) (*userdata.AttributeDefinition, error) {
	var d *userdata.AttributeDefinition
	err := s.write(ctx, func(w *wtx) error {
		if err := projectExists(w.ctx, w.q, projectID); err != nil {
			return err
		}
		d = &userdata.AttributeDefinition{ID: userdata.NewID(), Scope: in.Scope, CodeName: in.CodeName, DisplayName: in.DisplayName,
			Description: in.Description, DataType: in.DataType, CreatedAt: w.now}
		res, err := w.exec(`INSERT INTO attribute_definitions
			(id, project_id, scope, code_name, display_name, description, data_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, scope, code_name) DO NOTHING`,
			d.ID, projectID, int(d.Scope), d.CodeName, d.DisplayName, d.Description, int(d.DataType), micros(w.now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = userdata.DefinitionExists(in.Scope, in.CodeName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// UpdateAttributeDefinition changes an attribute definition. The check of
// a new type runs in the writer, so that no write comes between it and the
// change: it reads every value the writer's transaction sees, those of the
// writes batched before it included, and the writes after it see the new
// type.
func (s *Store) UpdateAttributeDefinition(ctx context.Context, projectID, id string, u *userdata.AttributeDefinitionUpdate) (*userdata.AttributeDefinition, error) {
	var d *userdata.AttributeDefinition
	retyped := false
	err := s.write(ctx, func(w *wtx) (err error) {
		if d, err = w.writableAttributeDefinition(projectID, id); err != nil {
			return err
		}
		if u.DataType != nil && *u.DataType != d.DataType {
			if err := w.checkStoredValues(projectID, d.Scope, d.CodeName, *u.DataType); err != nil {
				return err
			}
			d.DataType, retyped = *u.DataType, true
		}
		if u.DisplayName != nil {
			d.DisplayName = *u.DisplayName
		}
		if u.Description != nil {
			d.Description = *u.Description
		}
		_, err = w.exec("UPDATE attribute_definitions SET display_name = ?, description = ?, data_type = ? WHERE id = ?",
			d.DisplayName, d.Description, int(d.DataType), d.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if retyped { // every process forgets the types it knows (AttributeTypes)
		return d, s.marker.bump()
	}
	return d, nil
}

// AttributeTypes returns the types of the keys defined in a project's
// scope, from the type cache or one query.
func (s *Store) AttributeTypes(ctx context.Context, projectID string, scope userdata.Scope, keys []string) (map[string]userdata.DataType, error) {
	return s.types.Types(ctx, projectID, scope, keys, func(ctx context.Context, missing []string) (map[string]userdata.DataType, error) {
		names, err := json.Marshal(missing)
		if err != nil {
			return nil, err
		}
		rows, err := s.r.QueryContext(ctx, `SELECT code_name, data_type FROM attribute_definitions
			WHERE project_id = ? AND scope = ? AND code_name IN (SELECT value FROM json_each(?))`, projectID, int(scope), string(names))
		if err != nil {
			return nil, s.fault(err)
		}
		defer rows.Close()
		out := map[string]userdata.DataType{}
		for rows.Next() {
			var name string
			var t userdata.DataType
			if err := rows.Scan(&name, &t); err != nil {
				return nil, s.fault(err)
			}
			out[name] = t
		}
		return out, s.fault(rows.Err())
	})
}

// qStoredValues select, for each scope, the non-null values of a key ($2)
// stored in the live environments of a project ($1), as
// userdata.CheckStoredValues reads them. json_each finds the key whatever
// characters it has; its fullkey is the key as a path that -> can take.
// Memberships are found through the companies of each environment, the
// way their indexes go.
var qStoredValues = map[userdata.Scope]string{
	userdata.ScopeUser: `SELECT u.environment_id, u.external_id, '', '', u.attributes -> j.fullkey
		FROM environments e JOIN users u ON u.environment_id = e.id, json_each(u.attributes) j
		WHERE e.project_id = ? AND e.deleted_at IS NULL AND j.key = ? AND j.type <> 'null'`,
	userdata.ScopeCompany: `SELECT c.environment_id, '', c.external_id, '', c.attributes -> j.fullkey
		FROM environments e JOIN companies c ON c.environment_id = e.id, json_each(c.attributes) j
		WHERE e.project_id = ? AND e.deleted_at IS NULL AND j.key = ? AND j.type <> 'null'`,
	userdata.ScopeMembership: `SELECT c.environment_id, u.external_id, c.external_id, '', m.attributes -> j.fullkey
		FROM environments e JOIN companies c ON c.environment_id = e.id JOIN memberships m ON m.company_id = c.id
			JOIN users u ON u.id = m.user_id, json_each(m.attributes) j
		WHERE e.project_id = ? AND e.deleted_at IS NULL AND j.key = ? AND j.type <> 'null'`,
	userdata.ScopeEvent: `SELECT ev.environment_id, u.external_id, '', ev.id, ev.attributes -> j.fullkey
		FROM environments e JOIN events ev ON ev.environment_id = e.id JOIN users u ON u.id = ev.user_id, json_each(ev.attributes) j
		WHERE e.project_id = ? AND e.deleted_at IS NULL AND j.key = ? AND j.type <> 'null'`,
}

// checkStoredValues returns RetypeRefused for the first stored value of
// the definition (scope, codeName) that does not fit t. SQLite steps
// through the rows as they are read, so that only one is in memory.
func (w *wtx) checkStoredValues(projectID string, scope userdata.Scope, codeName string, t userdata.DataType) error {
	rows, err := w.q.QueryContext(w.ctx, qStoredValues[scope], projectID, codeName)
	if err != nil {
		return err
	}
	_, err = userdata.CheckStoredValues(rows, scope, codeName, t)
	return errors.Join(err, rows.Close())
}

// DeleteAttributeDefinition deletes an attribute definition and its links
// to events, which their foreign key cascades to. The writer forgets it
// at once, so that the next write of the key, in this batch or a later
// one, defines it again; other processes forget the definitions they know
// when the key marker moves (see batchTx.run).
func (s *Store) DeleteAttributeDefinition(ctx context.Context, projectID, id string) error {
	err := s.write(ctx, func(w *wtx) error {
		d, err := w.writableAttributeDefinition(projectID, id)
		if err != nil {
			return err
		}
		if _, err := w.exec("DELETE FROM attribute_definitions WHERE id = ?", d.ID); err != nil {
			return err
		}
		key := defKey{projectID, d.Scope, d.CodeName}
		delete(w.s.defs, key)
		w.goneDefs = append(w.goneDefs, key)
		return nil
	})
	if err != nil {
		return err
	}
	return s.marker.bump()
}
