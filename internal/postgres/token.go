package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

const (
	qLiveEnvironment = `SELECT EXISTS (SELECT FROM environments WHERE id = $1 AND project_id = $2 AND deleted_at IS NULL)`
	qInsertToken     = `INSERT INTO personal_tokens (id, project_id, name, token_hash, prefix, scopes, environments, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
)

// CreateToken stores a new personal token of a project.
func (s *Store) CreateToken(ctx context.Context, in userdata.TokenInput) (*userdata.Token, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var tok *userdata.Token
	err := s.transact(ctx, "create token", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		if err := projectExists(ctx, tx, in.ProjectID); err != nil {
			return err
		}
		for _, id := range in.Environments {
			var live bool
			if err := tx.QueryRow(ctx, qLiveEnvironment, id, in.ProjectID).Scan(&live); err != nil {
				return err
			}
			if !live {
				return userdata.NotLiveEnvironment(id, in.ProjectID)
			}
		}
		tok = in.Token(userdata.NewID(), now)
		scopes, envs := userdata.EncodeTokenLists(tok.Scopes, tok.Environments)
		_, err := tx.Exec(ctx, qInsertToken, tok.ID, tok.ProjectID, tok.Name, in.Hash, tok.Prefix, scopes, envs, tok.CreatedAt, tok.ExpiresAt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

const qListTokens = `SELECT id, project_id, name, prefix, scopes, environments, created_at, expires_at, last_used_at, revoked_at
	FROM personal_tokens WHERE $1 = '' OR project_id = $1 ORDER BY created_at, id`

// ListTokens returns the tokens of a project, or of every project, oldest
// first.
func (s *Store) ListTokens(ctx context.Context, projectID string) ([]*userdata.Token, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if projectID != "" {
		if !storable(projectID) {
			return nil, userdata.NotFound(userdata.ResourceProject)
		}
		if err := projectExists(ctx, s.pool, projectID); err != nil {
			return nil, translate("list tokens", err)
		}
	}
	rows, _ := s.pool.Query(ctx, qListTokens, projectID)
	tokens, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.Token, error) {
		t := &userdata.Token{}
		var scopes string
		var envs *string
		err := r.Scan(&t.ID, &t.ProjectID, &t.Name, &t.Prefix, &scopes, &envs, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
		if err == nil {
			t.Scopes, t.Environments, err = userdata.DecodeTokenLists(scopes, envs)
		}
		return t, err
	})
	return tokens, translate("list tokens", err)
}

// qRevokeToken revokes tokens, keeping a first revocation's time, and
// notifies as qRevokeKey does.
const qRevokeToken = `WITH revoked AS (UPDATE personal_tokens SET revoked_at = coalesce(revoked_at, $2)
	WHERE id = $1 OR token_hash = $1 RETURNING 1)
	SELECT count(*), pg_notify('` + keysChannel + `', '') FROM revoked`

// RevokeToken revokes the token with the given id or hash. It returns
// CodeNotFound for ResourceToken when neither matches a token.
func (s *Store) RevokeToken(ctx context.Context, idOrHash string) error {
	return s.revoke(ctx, "revoke token", userdata.ResourceToken, qRevokeToken, idOrHash, s.now())
}

// AuthenticateToken returns the principal of the token with the given
// hash. It returns CodeUnavailable when the token is not cached and the
// database cannot be asked.
func (s *Store) AuthenticateToken(ctx context.Context, hash string) (userdata.Principal, error) {
	return s.tokens.Authenticate(ctx, hash, s.Now(), s.lookupToken)
}

const qAuthenticateToken = `SELECT id, project_id, scopes, environments, expires_at, last_used_at
	FROM personal_tokens WHERE token_hash = $1 AND revoked_at IS NULL`

// lookupToken reads a token's principal from the database, and records
// its use when due.
func (s *Store) lookupToken(ctx context.Context, hash string) (userdata.Principal, error) {
	var p userdata.Principal
	if !storable(hash) {
		return p, userdata.Errorf(userdata.CodeForbidden, "invalid token")
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var scopes string
	var envs *string
	var used *time.Time
	err := s.pool.QueryRow(ctx, qAuthenticateToken, hash).Scan(&p.TokenID, &p.ProjectID, &scopes, &envs, &p.ExpiresAt, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, userdata.Errorf(userdata.CodeForbidden, "invalid token")
	}
	if err != nil {
		return p, translate("authenticate token", err)
	}
	if p.Scopes, p.Environments, err = userdata.DecodeTokenLists(scopes, envs); err != nil {
		return p, err
	}
	if now := s.now(); !p.Expired(now) && userdata.TouchDue(used, now) {
		s.touches.Go(p.TokenID, func() { s.touchToken(p.TokenID, now) })
	}
	return p, nil
}

const qTouchToken = `UPDATE personal_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`

// touchToken records a token's use at now, unless a later use is recorded.
// It runs apart from the request that used the token, which does not wait.
func (s *Store) touchToken(id string, now time.Time) {
	ctx, cancel := s.bound(context.Background())
	defer cancel()
	if _, err := s.pool.Exec(ctx, qTouchToken, id, now); err != nil {
		s.log.Debug("postgres: recording a token's use failed", "token_id", id, "err", err)
	}
}
