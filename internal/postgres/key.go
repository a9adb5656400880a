package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

const qAuthenticate = `SELECT e.project_id, e.id FROM api_keys k
	JOIN environments e ON e.id = k.environment_id
	WHERE k.key_hash = $1 AND k.active AND e.deleted_at IS NULL`

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

// tenantsLock is the pg_advisory_xact_lock key that serializes the
// transactions of keys create ("tourd_tn" in ASCII), so that processes
// creating a project or environment of one name at once agree on one,
// created once, now that names need not be unique.
const tenantsLock int64 = 0x746f7572645f746e

const (
	qLockTenants  = `SELECT pg_advisory_xact_lock($1)`
	qFindProjects = `SELECT id, name, '' FROM projects WHERE id = $1 OR name = $1 ORDER BY created_at, id`
	// qFindEnvs selects the environments keys create may name: by id (a
	// deleted one counts as no project's) or, among the project's live
	// ones, by name.
	qFindEnvs = `SELECT id, name, CASE WHEN deleted_at IS NULL THEN project_id ELSE '' END FROM environments
		WHERE id = $1 OR (project_id = $2 AND name = $1 AND deleted_at IS NULL) ORDER BY created_at, id`
	qInsertKey = `INSERT INTO api_keys (id, environment_id, key_hash, prefix, active, created_at) VALUES ($1, $2, $3, $4, true, $5)`
)

// CreateKey stores a new key of the project and environment given by id or
// name, creating them (a new project seeded with the predefined
// definitions, its first environment primary) when no name matches, in one
// transaction.
func (s *Store) CreateKey(ctx context.Context, project, environment, keyHash, prefix string) (*userdata.APIKey, error) {
	k := &userdata.APIKey{ID: userdata.NewID(), Prefix: prefix, Active: true}
	err := s.transact(ctx, "create key", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		p, e, err := keyTenant(ctx, tx, project, environment, now)
		if err != nil {
			return err
		}
		k.ProjectID, k.Project, k.EnvironmentID, k.Environment, k.CreatedAt = p.ID, p.Name, e.ID, e.Name, now
		_, err = tx.Exec(ctx, qInsertKey, k.ID, e.ID, keyHash, k.Prefix, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// keyTenant finds the project and environment keys create names, each by
// id or name, or creates them.
func keyTenant(ctx context.Context, tx pgx.Tx, project, environment string, now time.Time) (p, e userdata.Named, err error) {
	if _, err := tx.Exec(ctx, qLockTenants, tenantsLock); err != nil {
		return p, e, err
	}
	p, found, err := resolve(ctx, tx, "project", project, "", qFindProjects, project)
	if err != nil {
		return p, e, err
	}
	if !found {
		created, err := createProject(ctx, tx, project, environment, now)
		if err != nil {
			return p, e, err
		}
		env := created.Environments[0]
		return userdata.Named{ID: created.ID, Name: created.Name}, userdata.Named{ID: env.ID, Name: env.Name, Project: created.ID}, nil
	}
	e, found, err = resolve(ctx, tx, "environment", environment, p.ID, qFindEnvs, environment, p.ID)
	if err != nil || found {
		return p, e, err
	}
	env, err := createEnvironment(ctx, tx, p.ID, environment, false, now)
	if err != nil {
		return p, e, err
	}
	return p, userdata.Named{ID: env.ID, Name: env.Name, Project: p.ID}, nil
}

const qListKeys = `SELECT k.id, p.id, p.name, e.id, e.name, k.prefix, k.active, k.created_at
	FROM api_keys k JOIN environments e ON e.id = k.environment_id JOIN projects p ON p.id = e.project_id
	ORDER BY k.created_at, k.id`

// ListKeys returns every key, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]*userdata.APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, _ := s.pool.Query(ctx, qListKeys)
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.APIKey, error) {
		k := &userdata.APIKey{}
		err := r.Scan(&k.ID, &k.ProjectID, &k.Project, &k.EnvironmentID, &k.Environment, &k.Prefix, &k.Active, &k.CreatedAt)
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
	return s.revoke(ctx, "revoke key", userdata.ResourceKey, qRevokeKey, idOrHash)
}

// revoke runs query, which revokes the keys or tokens idOrHash names (its
// $1; args follow), counts them and notifies every process listening to
// forget what it caches (keys, tokens and environments). It returns once
// this process forgot, and its listener heard the notification (see
// awaitRevocation); CodeNotFound for resource when nothing was revoked.
func (s *Store) revoke(ctx context.Context, op, resource, query, idOrHash string, args ...any) error {
	if !storable(idOrHash) {
		return userdata.NotFound(resource)
	}
	return s.notifying(ctx, func(ctx context.Context) error {
		var n int64
		err := s.retry(ctx, op, func() error {
			return s.pool.QueryRow(ctx, query, append([]any{idOrHash}, args...)...).Scan(&n, nil)
		})
		if err == nil && n == 0 {
			err = userdata.NotFound(resource)
		}
		return translate(op, err)
	})
}

// notifying runs change, which changes what the caches of keys, tokens,
// environments and definitions hold and notifies keysChannel when it
// commits, under the store's deadline. Once it has succeeded, this process
// forgets at once, and notifying returns when its listener has heard the
// notification (see awaitRevocation).
func (s *Store) notifying(ctx context.Context, change func(ctx context.Context) error) error {
	heard := s.keyEpoch.heard.Load()
	qctx, cancel := s.bound(ctx)
	defer cancel()
	if err := change(qctx); err != nil {
		return err
	}
	s.keyEpoch.gen.Add(1)
	s.awaitRevocation(ctx, heard)
	return nil
}
