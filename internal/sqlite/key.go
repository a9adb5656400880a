package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"tourd/internal/userdata"
)

// Authenticate returns the tenant of the active key with the given hash.
func (s *Store) Authenticate(ctx context.Context, keyHash string) (userdata.Tenant, error) {
	return s.keys.Get(ctx, keyHash, s.lookupKey)
}

// lookupKey reads a key's tenant from the database.
func (s *Store) lookupKey(ctx context.Context, keyHash string) (userdata.Tenant, error) {
	var t userdata.Tenant
	err := s.r.QueryRowContext(ctx, `SELECT e.project_id, e.id FROM api_keys k
		JOIN environments e ON e.id = k.environment_id
		WHERE k.key_hash = ? AND k.active = 1`, keyHash).Scan(&t.ProjectID, &t.EnvironmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return t, userdata.Errorf(userdata.CodeForbidden, "Invalid API key provided")
	}
	return t, s.fault(err)
}

// CreateKey stores a new key, creating its project (seeded with the
// predefined definitions) and environment when missing.
func (s *Store) CreateKey(ctx context.Context, project, environment, keyHash, prefix string) (*userdata.APIKey, error) {
	k := &userdata.APIKey{ID: userdata.NewID(), Project: project, Environment: environment, Prefix: prefix, Active: true}
	err := s.write(ctx, func(w *wtx) error {
		projectID, err := w.findOrCreate("SELECT id FROM projects WHERE name = ?", []any{project},
			"INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)", project)
		if err != nil {
			return err
		}
		if projectID.created {
			if err := w.seedProject(projectID.id); err != nil {
				return err
			}
		}
		envID, err := w.findOrCreate("SELECT id FROM environments WHERE project_id = ? AND name = ?", []any{projectID.id, environment},
			"INSERT INTO environments (id, project_id, name, created_at) VALUES (?, ?, ?, ?)", projectID.id, environment)
		if err != nil {
			return err
		}
		k.CreatedAt = w.now
		_, err = w.exec(`INSERT INTO api_keys (id, environment_id, key_hash, prefix, active, created_at)
			VALUES (?, ?, ?, ?, 1, ?)`, k.ID, envID.id, keyHash, prefix, micros(w.now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

type found struct {
	id      string
	created bool
}

// findOrCreate looks a row up by the find query and, when missing, inserts
// it with a new id, the given values and the write's timestamp.
func (w *wtx) findOrCreate(find string, findArgs []any, insert string, values ...any) (found, error) {
	var f found
	err := w.q.QueryRowContext(w.ctx, find, findArgs...).Scan(&f.id)
	if !errors.Is(err, sql.ErrNoRows) {
		return f, err
	}
	f.id, f.created = userdata.NewID(), true
	args := append(append([]any{f.id}, values...), micros(w.now))
	_, err = w.exec(insert, args...)
	return f, err
}

// ListKeys returns every key, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]*userdata.APIKey, error) {
	keys, err := s.listKeys(ctx)
	return keys, s.fault(err)
}

func (s *Store) listKeys(ctx context.Context) ([]*userdata.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT k.id, p.name, e.name, k.prefix, k.active, k.created_at
		FROM api_keys k JOIN environments e ON e.id = k.environment_id JOIN projects p ON p.id = e.project_id
		ORDER BY k.created_at, k.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []*userdata.APIKey
	for rows.Next() {
		k := &userdata.APIKey{}
		var created int64
		if err := rows.Scan(&k.ID, &k.Project, &k.Environment, &k.Prefix, &k.Active, &created); err != nil {
			return nil, err
		}
		k.CreatedAt = fromMicros(created)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeKey deactivates the key with the given id or hash, and signals
// every process using the database to forget cached keys.
func (s *Store) RevokeKey(ctx context.Context, idOrHash string) error {
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.exec("UPDATE api_keys SET active = 0 WHERE id = ? OR key_hash = ?", idOrHash, idOrHash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = userdata.NotFound(userdata.ResourceKey)
		}
		return err
	})
	if err != nil {
		return err
	}
	return s.marker.bump()
}
