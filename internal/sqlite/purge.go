package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tourd/internal/userdata"
)

// The purge of a deleted environment (userdata.Purger) runs only in the
// store that holds the server lock (Options.Exclusive): its row cache must
// hear of every user and company removed, or a request still in flight
// for the deleted environment could update, by a rowid SQLite reuses, a
// row of another one.

// newPurger returns the store's purger, not started.
func (s *Store) newPurger(grace time.Duration) *userdata.Purger {
	steps := userdata.PurgeSteps{Pending: s.pendingPurges, Batch: s.purgeBatch, Finish: s.finishPurge}
	return userdata.NewPurger(steps, grace, func() time.Time { return s.Now() }, s.log)
}

// AwaitPurge waits until no deleted environment awaits its purge, or ctx
// ends. Tests use it.
func (s *Store) AwaitPurge(ctx context.Context) error {
	return s.purger.Await(ctx)
}

// pendingPurges lists the deleted environments whose purge is not done.
func (s *Store) pendingPurges(ctx context.Context) ([]userdata.DeletedEnvironment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, deleted_at FROM environments
		WHERE deleted_at IS NOT NULL AND purged_at IS NULL ORDER BY deleted_at, id`)
	if err != nil {
		return nil, s.fault(err)
	}
	defer rows.Close()
	var envs []userdata.DeletedEnvironment
	for rows.Next() {
		var e userdata.DeletedEnvironment
		var at int64
		if err := rows.Scan(&e.ID, &at); err != nil {
			return nil, s.fault(err)
		}
		e.DeletedAt = fromMicros(at)
		envs = append(envs, e)
	}
	return envs, s.fault(rows.Err())
}

// The statements of a purge batch, each removing at most PurgeBatch rows
// ($1 is the environment, $2 the batch size). Events and segment members
// go first, so that no user's or company's removal cascades to many (the
// members are found through the segments of the environment's project, on
// segment_members_list); then the memberships of the first users, then
// those users once they have none left (a user's removal would otherwise
// take all of them at once); then companies, keys, the deliveries of the
// environment's webhooks and the webhooks.
const (
	qPurgeEvents         = `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE environment_id = ?1 LIMIT ?2)`
	qPurgeSegmentMembers = `DELETE FROM segment_members WHERE rowid IN (SELECT m.rowid FROM segments s
		JOIN segment_members m ON m.segment_id = s.id AND m.environment_id = ?1
		WHERE s.project_id = (SELECT project_id FROM environments WHERE id = ?1) LIMIT ?2)`
	qPurgeFirstUsers  = `SELECT id FROM users WHERE environment_id = ?1 ORDER BY created_at, id LIMIT ?2`
	qPurgeMemberships = `DELETE FROM memberships WHERE id IN (SELECT id FROM memberships WHERE user_id IN (` + qPurgeFirstUsers + `) LIMIT ?2)`
	qPurgeUsers       = `DELETE FROM users WHERE id IN (` + qPurgeFirstUsers + `) RETURNING external_id`
	qPurgeCompanies   = `DELETE FROM companies WHERE id IN (SELECT id FROM companies WHERE environment_id = ?1 ORDER BY created_at, id LIMIT ?2) RETURNING external_id`
	qPurgeKeys        = `DELETE FROM api_keys WHERE id IN (SELECT id FROM api_keys WHERE environment_id = ?1 LIMIT ?2)`
	qPurgeChanges     = `DELETE FROM changes WHERE seq IN (SELECT seq FROM changes WHERE environment_id = ?1 LIMIT ?2)`
	qPurgeDeliveries  = `DELETE FROM deliveries WHERE rowid IN (SELECT d.rowid FROM webhooks w JOIN deliveries d ON d.webhook_id = w.id
		WHERE w.environment_id = ?1 LIMIT ?2)`
	qPurgeWebhooks = `DELETE FROM webhooks WHERE id IN (SELECT id FROM webhooks WHERE environment_id = ?1 LIMIT ?2)`
	// qFinishPurge marks the environment purged when none of its rows is
	// left: memberships, events and segment members reference users or
	// companies, which are gone.
	qFinishPurge = `UPDATE environments SET purged_at = ?2 WHERE id = ?1 AND purged_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM users WHERE environment_id = ?1)
		AND NOT EXISTS (SELECT 1 FROM companies WHERE environment_id = ?1)
		AND NOT EXISTS (SELECT 1 FROM api_keys WHERE environment_id = ?1)
		AND NOT EXISTS (SELECT 1 FROM changes WHERE environment_id = ?1)
		AND NOT EXISTS (SELECT 1 FROM webhooks WHERE environment_id = ?1)`
)

// purgeBatch removes one batch of the environment's rows in one write,
// the first kind of rows left, and returns how many it removed.
func (s *Store) purgeBatch(ctx context.Context, envID string) (int64, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) (err error) {
		for _, step := range []func() (int64, error){
			func() (int64, error) { return w.execCount(qPurgeEvents, envID, userdata.PurgeBatch) },
			func() (int64, error) { return w.execCount(qPurgeSegmentMembers, envID, userdata.PurgeBatch) },
			func() (int64, error) {
				n, err := w.execCount(qPurgeMemberships, envID, userdata.PurgeBatch)
				if err != nil || n == userdata.PurgeBatch {
					return n, err
				}
				users, err := w.purgeEntities(usersTable, qPurgeUsers, envID)
				return n + users, err
			},
			func() (int64, error) { return w.purgeEntities(companiesTable, qPurgeCompanies, envID) },
			func() (int64, error) { return w.execCount(qPurgeKeys, envID, userdata.PurgeBatch) },
			func() (int64, error) { return w.execCount(qPurgeChanges, envID, userdata.PurgeBatch) },
			func() (int64, error) { return w.execCount(qPurgeDeliveries, envID, userdata.PurgeBatch) },
			func() (int64, error) { return w.execCount(qPurgeWebhooks, envID, userdata.PurgeBatch) },
		} {
			if n, err = step(); err != nil || n > 0 {
				return err
			}
		}
		return nil
	})
	return n, err
}

// execCount runs a statement of the write and returns how many rows it
// changed.
func (w *wtx) execCount(query string, args ...any) (int64, error) {
	res, err := w.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// purgeEntities runs query, which deletes users or companies of the
// environment and returns their external ids, and records them gone for
// the row cache.
func (w *wtx) purgeEntities(t *entityTable, query, envID string) (int64, error) {
	rows, err := w.q.QueryContext(w.ctx, query, envID, userdata.PurgeBatch)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var ext string
		if err := rows.Scan(&ext); err != nil {
			return n, err
		}
		w.changed = true
		w.wrote(t, envID, ext, gone)
		n++
	}
	return n, rows.Err()
}

// finishPurge marks the environment purged unless rows of it are left, and
// reports whether it is purged.
func (s *Store) finishPurge(ctx context.Context, envID string) (bool, error) {
	var purged bool
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(qFinishPurge, envID, micros(w.now)); err != nil {
			return err
		}
		if _, err := w.exec("DELETE FROM changes_pruned WHERE environment_id = ?", envID); err != nil {
			return err
		}
		err := w.q.QueryRowContext(w.ctx, "SELECT purged_at IS NOT NULL FROM environments WHERE id = ?", envID).Scan(&purged)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return purged, err
}
