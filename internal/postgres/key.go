package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

const qAuthenticate = `SELECT e.project_id, e.id FROM api_keys k
	JOIN environments e ON e.id = k.environment_id
	WHERE k.key_hash = $1 AND k.active`

// Authenticate returns the tenant of the active key with the given hash. It
// returns CodeForbidden for an unknown or revoked key, and CodeUnavailable
// when the key is not cached and the database cannot be asked.
func (s *Store) Authenticate(ctx context.Context, keyHash string) (userdata.Tenant, error) {
	return s.keys.Get(ctx, keyHash, s.lookupKey)
}

// lookupKey reads a key's tenant from the database.
func (s *Store) lookupKey(ctx context.Context, keyHash string) (userdata.Tenant, error) {
	var t userdata.Tenant
	if !storable(keyHash) {
		return t, userdata.Errorf(userdata.CodeForbidden, "Invalid API key provided")
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.pool.QueryRow(ctx, qAuthenticate, keyHash).Scan(&t.ProjectID, &t.EnvironmentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, userdata.Errorf(userdata.CodeForbidden, "Invalid API key provided")
	}
	return t, translate("authenticate", err)
}

// The inserts that create a project or an environment do nothing when a
// concurrent transaction created it first; the lookup then finds it.
const (
	qInsertProject     = `INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id`
	qFindProject       = `SELECT id FROM projects WHERE name = $1`
	qInsertEnvironment = `INSERT INTO environments (id, project_id, name, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (project_id, name) DO NOTHING RETURNING id`
	qFindEnvironment = `SELECT id FROM environments WHERE project_id = $1 AND name = $2`
	qInsertKey       = `INSERT INTO api_keys (id, environment_id, key_hash, prefix, active, created_at) VALUES ($1, $2, $3, $4, true, $5)`
)

// CreateKey stores a new key, creating its project (seeded with the
// predefined definitions) and environment when missing, in one
// transaction. Processes creating the same project at once agree on one
// project, seeded once.
func (s *Store) CreateKey(ctx context.Context, project, environment, keyHash, prefix string) (*userdata.APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	k := &userdata.APIKey{ID: userdata.NewID(), Project: project, Environment: environment, Prefix: prefix, Active: true}
	err := s.retry(ctx, "create key", func() error {
		k.CreatedAt = s.now()
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			return createKey(ctx, tx, k, keyHash)
		})
	})
	if err != nil {
		return nil, translate("create key", err)
	}
	return k, nil
}

func createKey(ctx context.Context, tx pgx.Tx, k *userdata.APIKey, keyHash string) error {
	now := k.CreatedAt
	projectID, created, err := insertOrFind(ctx, tx, qInsertProject, []any{userdata.NewID(), k.Project, now},
		qFindProject, []any{k.Project})
	if err != nil {
		return err
	}
	if created {
		if err := seedProject(ctx, tx, projectID, now); err != nil {
			return err
		}
	}
	envID, _, err := insertOrFind(ctx, tx, qInsertEnvironment, []any{userdata.NewID(), projectID, k.Environment, now},
		qFindEnvironment, []any{projectID, k.Environment})
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, qInsertKey, k.ID, envID, keyHash, k.Prefix, now)
	return err
}

// insertOrFind runs insert, which returns the new row's id or nothing when
// the row exists, and otherwise looks the existing row's id up with find.
func insertOrFind(ctx context.Context, tx pgx.Tx, insert string, insertArgs []any, find string, findArgs []any) (id string, created bool, err error) {
	err = tx.QueryRow(ctx, insert, insertArgs...).Scan(&id)
	if !errors.Is(err, pgx.ErrNoRows) {
		return id, err == nil, err
	}
	err = tx.QueryRow(ctx, find, findArgs...).Scan(&id)
	return id, false, err
}

const qListKeys = `SELECT k.id, p.name, e.name, k.prefix, k.active, k.created_at
	FROM api_keys k JOIN environments e ON e.id = k.environment_id JOIN projects p ON p.id = e.project_id
	ORDER BY k.created_at, k.id`

// ListKeys returns every key, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]*userdata.APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, _ := s.pool.Query(ctx, qListKeys)
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.APIKey, error) {
		k := &userdata.APIKey{}
		err := r.Scan(&k.ID, &k.Project, &k.Environment, &k.Prefix, &k.Active, &k.CreatedAt)
		return k, err
	})
	return keys, translate("list keys", err)
}

// qRevokeKey deactivates keys and, on commit, tells every tourd process
// listening (see listenKeys) to forget its cached keys.
const qRevokeKey = `WITH revoked AS (UPDATE api_keys SET active = false WHERE id = $1 OR key_hash = $1 RETURNING 1)
	SELECT count(*), pg_notify('` + keysChannel + `', '') FROM revoked`

// RevokeKey deactivates the key with the given id or hash. It returns
// CodeNotFound for ResourceKey when neither matches a key.
func (s *Store) RevokeKey(ctx context.Context, idOrHash string) error {
	if !storable(idOrHash) {
		return userdata.NotFound(userdata.ResourceKey)
	}
	var n int64
	heard := s.keyEpoch.heard.Load()
	qctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.retry(qctx, "revoke key", func() error {
		return s.pool.QueryRow(qctx, qRevokeKey, idOrHash).Scan(&n, nil)
	})
	if err == nil && n == 0 {
		err = userdata.NotFound(userdata.ResourceKey)
	}
	if err != nil {
		return translate("revoke key", err)
	}
	s.keyEpoch.gen.Add(1) // this process forgets at once
	s.awaitRevocation(ctx, heard)
	return nil
}
