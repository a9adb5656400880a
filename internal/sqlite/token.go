package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tourd/internal/userdata"
)

// CreateToken stores a new personal token of a project.
func (s *Store) CreateToken(ctx context.Context, in userdata.TokenInput) (*userdata.Token, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var tok *userdata.Token
	err := s.write(ctx, func(w *wtx) error {
		if err := projectExists(w.ctx, w.q, in.ProjectID); err != nil {
			return err
		}
		for _, id := range in.Environments {
			var one int
			err := w.q.QueryRowContext(w.ctx, "SELECT 1 FROM environments WHERE id = ? AND project_id = ? AND deleted_at IS NULL", id, in.ProjectID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return userdata.NotLiveEnvironment(id, in.ProjectID)
			}
			if err != nil {
				return err
			}
		}
		tok = in.Token(userdata.NewID(), w.now)
		scopes, envs := userdata.EncodeTokenLists(tok.Scopes, tok.Environments)
		_, err := w.exec(`INSERT INTO personal_tokens (id, project_id, name, token_hash, prefix, scopes, environments, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tok.ID, tok.ProjectID, tok.Name, in.Hash, tok.Prefix, scopes, envs, micros(tok.CreatedAt), nullMicros(tok.ExpiresAt))
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

const qListTokens = `SELECT id, project_id, name, prefix, scopes, environments, created_at, expires_at, last_used_at, revoked_at
	FROM personal_tokens`

// ListTokens returns the tokens of a project, or of every project, oldest
// first.
func (s *Store) ListTokens(ctx context.Context, projectID string) ([]*userdata.Token, error) {
	tokens, err := s.listTokens(ctx, projectID)
	return tokens, s.fault(err)
}

func (s *Store) listTokens(ctx context.Context, projectID string) ([]*userdata.Token, error) {
	query, args := qListTokens+" ORDER BY created_at, id", []any(nil)
	if projectID != "" {
		if err := projectExists(ctx, s.r, projectID); err != nil {
			return nil, err
		}
		query, args = qListTokens+" WHERE project_id = ? ORDER BY created_at, id", []any{projectID}
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tokens []*userdata.Token
	for rows.Next() {
		t := &userdata.Token{}
		var scopes string
		var envs sql.NullString
		var created int64
		var expires, used, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.ProjectID, &t.Name, &t.Prefix, &scopes, &envs, &created, &expires, &used, &revoked); err != nil {
			return nil, err
		}
		if t.Scopes, t.Environments, err = userdata.DecodeTokenLists(scopes, nullString(envs)); err != nil {
			return nil, err
		}
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMicros(created), timePtr(expires), timePtr(used), timePtr(revoked)
		tokens = append(tokens, t)
	}
	return tokens, rows.Err()
}

// RevokeToken revokes the token with the given id or hash, and signals
// every process using the database to forget cached tokens.
func (s *Store) RevokeToken(ctx context.Context, idOrHash string) error {
	return s.revoke(ctx, userdata.ResourceToken, func(w *wtx) (sql.Result, error) {
		return w.exec("UPDATE personal_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? OR token_hash = ?", micros(w.now), idOrHash, idOrHash)
	})
}

// AuthenticateToken returns the principal of the token with the given
// hash.
func (s *Store) AuthenticateToken(ctx context.Context, hash string) (userdata.Principal, error) {
	return s.tokens.Authenticate(ctx, hash, s.Now(), s.lookupToken)
}

// lookupToken reads a token's principal from the database, and records
// its use when due.
func (s *Store) lookupToken(ctx context.Context, hash string) (userdata.Principal, error) {
	var p userdata.Principal
	var scopes string
	var envs sql.NullString
	var expires, used sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT id, project_id, scopes, environments, expires_at, last_used_at
		FROM personal_tokens WHERE token_hash = ? AND revoked_at IS NULL`, hash).Scan(&p.TokenID, &p.ProjectID, &scopes, &envs, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return p, userdata.Errorf(userdata.CodeForbidden, "invalid token")
	}
	if err != nil {
		return p, s.fault(err)
	}
	if p.Scopes, p.Environments, err = userdata.DecodeTokenLists(scopes, nullString(envs)); err != nil {
		return p, err
	}
	p.ExpiresAt = timePtr(expires)
	if now := s.Now(); !p.Expired(now) && userdata.TouchDue(timePtr(used), now) {
		s.touches.Go(p.TokenID, func() { s.touchToken(p.TokenID, now) })
	}
	return p, nil
}

// touchToken records a token's use at now, unless a later use is recorded.
// It runs apart from the request that used the token, which does not wait.
func (s *Store) touchToken(id string, now time.Time) {
	err := s.write(context.Background(), func(w *wtx) error {
		_, err := w.exec("UPDATE personal_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)", micros(now), id, micros(now))
		return err
	})
	if err != nil {
		s.log.Debug("sqlite: recording a token's use failed", "token_id", id, "err", err)
	}
}

// nullMicros is the stored form of an optional time.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// timePtr reads an optional stored time.
func timePtr(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}

func nullString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}
