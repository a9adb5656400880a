package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"tourd/internal/userdata"
)

// Authenticate returns the tenant of the active key with the given hash,
// whose environment is live.
func (s *Store) Authenticate(ctx context.Context, keyHash string) (userdata.Tenant, error) {
	return s.keys.Get(ctx, keyHash, s.lookupKey)
}

// lookupKey reads a key's tenant from the database.
func (s *Store) lookupKey(ctx context.Context, keyHash string) (userdata.Tenant, error) {
	var t userdata.Tenant
	err := s.r.QueryRowContext(ctx, `SELECT e.project_id, e.id FROM api_keys k
		JOIN environments e ON e.id = k.environment_id
		WHERE k.key_hash = ? AND k.active = 1 AND e.deleted_at IS NULL`, keyHash).Scan(&t.ProjectID, &t.EnvironmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return t, userdata.Errorf(userdata.CodeForbidden, "Invalid API key provided")
	}
	return t, s.fault(err)
}

// CreateKey stores a new key of the project and environment given by id or
// name, creating them (a new project seeded with the predefined
// definitions, its first environment primary) when no name matches.
func (s *Store) CreateKey(ctx context.Context, project, environment, keyHash, prefix string) (*userdata.APIKey, error) {
	k := &userdata.APIKey{ID: userdata.NewID(), Prefix: prefix, Active: true}
	err := s.write(ctx, func(w *wtx) error {
		p, e, err := w.keyTenant(project, environment)
		if err != nil {
			return err
		}
		k.ProjectID, k.Project, k.EnvironmentID, k.Environment, k.CreatedAt = p.ID, p.Name, e.ID, e.Name, w.now
		_, err = w.exec(`INSERT INTO api_keys (id, environment_id, key_hash, prefix, active, created_at)
			VALUES (?, ?, ?, ?, 1, ?)`, k.ID, e.ID, keyHash, prefix, micros(w.now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// qFindEnvironments selects the environments keys create may name: by id
// (a deleted one counts as no project's) or, among the project's live
// ones, by name.
const qFindEnvironments = `SELECT id, name, CASE WHEN deleted_at IS NULL THEN project_id ELSE '' END FROM environments
	WHERE id = ? OR (project_id = ? AND name = ? AND deleted_at IS NULL) ORDER BY created_at, id`

// keyTenant finds the project and environment keys create names, each by
// id or name, or creates them.
func (w *wtx) keyTenant(project, environment string) (p, e userdata.Named, err error) {
	p, found, err := w.resolve("project", project, "",
		"SELECT id, name, '' FROM projects WHERE id = ? OR name = ? ORDER BY created_at, id", project, project)
	if err != nil {
		return p, e, err
	}
	if !found {
		created, err := w.createProject(project, environment)
		if err != nil {
			return p, e, err
		}
		env := created.Environments[0]
		return userdata.Named{ID: created.ID, Name: created.Name}, userdata.Named{ID: env.ID, Name: env.Name, Project: created.ID}, nil
	}
	e, found, err = w.resolve("environment", environment, p.ID, qFindEnvironments, environment, p.ID, environment)
	if err != nil || found {
		return p, e, err
	}
	env, err := w.createEnvironment(p.ID, environment, false)
	if err != nil {
		return p, e, err
	}
	return p, userdata.Named{ID: env.ID, Name: env.Name, Project: p.ID}, nil
}

// ListKeys returns every key, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]*userdata.APIKey, error) {
	keys, err := s.listKeys(ctx)
	return keys, s.fault(err)
}

func (s *Store) listKeys(ctx context.Context) ([]*userdata.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT k.id, p.id, p.name, e.id, e.name, k.prefix, k.active, k.created_at
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
		if err := rows.Scan(&k.ID, &k.ProjectID, &k.Project, &k.EnvironmentID, &k.Environment, &k.Prefix, &k.Active, &created); err != nil {
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
	return s.revoke(ctx, userdata.ResourceKey, func(w *wtx) (sql.Result, error) {
		return w.exec("UPDATE api_keys SET active = 0 WHERE id = ? OR key_hash = ?", idOrHash, idOrHash)
	})
}

// revoke runs update, which revokes keys or tokens, and then tells every
// process using the database to forget what it caches (keys, tokens and
// environments: see keyMarker). It returns CodeNotFound for resource when
// update changes no row.
func (s *Store) revoke(ctx context.Context, resource string, update func(w *wtx) (sql.Result, error)) error {
	err := s.write(ctx, func(w *wtx) error {
		res, err := update(w)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = userdata.NotFound(resource)
		}
		return err
	})
	if err != nil {
		return err
	}
	return s.marker.bump()
}
