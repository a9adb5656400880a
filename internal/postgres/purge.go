package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// newPurger returns the store's purger (see userdata.Purger), not started.
// Every store purges: several may purge one environment at once, each
// batch skipping the rows another one holds.
func (s *Store) newPurger(grace time.Duration) *userdata.Purger {
	steps := userdata.PurgeSteps{Pending: s.pendingPurges, Batch: s.purgeBatch, Finish: s.finishPurge}
	return userdata.NewPurger(steps, grace, func() time.Time { return s.Now() }, s.log)
}

// AwaitPurge waits until no deleted environment awaits its purge, whichever
// process purges it, or ctx ends. Tests use it.
func (s *Store) AwaitPurge(ctx context.Context) error {
	return s.purger.Await(ctx)
}

const qPendingPurges = `SELECT id, deleted_at FROM environments
	WHERE deleted_at IS NOT NULL AND purged_at IS NULL ORDER BY deleted_at, id`

// pendingPurges lists the deleted environments whose purge is not done.
func (s *Store) pendingPurges(ctx context.Context) ([]userdata.DeletedEnvironment, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, _ := s.pool.Query(ctx, qPendingPurges)
	envs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (userdata.DeletedEnvironment, error) {
		var e userdata.DeletedEnvironment
		err := r.Scan(&e.ID, &e.DeletedAt)
		return e, err
	})
	return envs, translate("pending purges", err)
}

// The statements of a purge batch, each removing at most PurgeBatch rows
// ($1 is the environment, $2 the batch size) and skipping those another
// process's purge has locked. Events and segment members go first, so
// that no user's or company's removal cascades to many (the members are
// found through the segments of the environment's project, on
// segment_members_list); then the memberships of the first users, then
// those users once they have none left (a user's removal would otherwise
// take all of them at once); then companies, keys, the deliveries of the
// environment's webhooks, the webhooks and the change log.
const (
	qPurgeEvents         = `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE environment_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	qPurgeSegmentMembers = `DELETE FROM segment_members WHERE (segment_id, entity_id) IN (SELECT m.segment_id, m.entity_id FROM segments s
		JOIN segment_members m ON m.segment_id = s.id AND m.environment_id = $1
		WHERE s.project_id = (SELECT project_id FROM environments WHERE id = $1) LIMIT $2 FOR UPDATE OF m SKIP LOCKED)`
	qPurgeFirstUsers  = `SELECT id FROM users WHERE environment_id = $1 ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`
	qPurgeMemberships = `DELETE FROM memberships WHERE id IN (SELECT id FROM memberships WHERE user_id IN (` + qPurgeFirstUsers + `) LIMIT $2)`
	qPurgeUsers       = `DELETE FROM users WHERE id IN (` + qPurgeFirstUsers + `)`
	qPurgeCompanies   = `DELETE FROM companies WHERE id IN (SELECT id FROM companies WHERE environment_id = $1 ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)`
	qPurgeKeys        = `DELETE FROM api_keys WHERE id IN (SELECT id FROM api_keys WHERE environment_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	qPurgeDeliveries  = `DELETE FROM deliveries WHERE (webhook_id, id) IN (SELECT d.webhook_id, d.id FROM webhooks w
		JOIN deliveries d ON d.webhook_id = w.id WHERE w.environment_id = $1 LIMIT $2 FOR UPDATE OF d SKIP LOCKED)`
	qPurgeWebhooks = `DELETE FROM webhooks WHERE id IN (SELECT id FROM webhooks WHERE environment_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	qPurgeChanges  = `DELETE FROM changes WHERE (tx, seq) IN (SELECT tx, seq FROM changes WHERE environment_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	qPurgeCommits  = `DELETE FROM change_commits WHERE (environment_id, pos) IN (SELECT environment_id, pos FROM change_commits WHERE environment_id = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`
	// qFinishPurge marks the environment purged when none of its rows is
	// left (memberships, events and segment members reference users or
	// companies, which are gone), removing the mark of its pruned changes,
	// and returns whether it is purged, by this statement or before it.
	qFinishPurge = `WITH done AS (UPDATE environments SET purged_at = $2 WHERE id = $1 AND purged_at IS NULL
			AND NOT EXISTS (SELECT FROM users WHERE environment_id = $1)
			AND NOT EXISTS (SELECT FROM companies WHERE environment_id = $1)
			AND NOT EXISTS (SELECT FROM api_keys WHERE environment_id = $1)
			AND NOT EXISTS (SELECT FROM webhooks WHERE environment_id = $1)
			AND NOT EXISTS (SELECT FROM changes WHERE environment_id = $1)
			AND NOT EXISTS (SELECT FROM change_commits WHERE environment_id = $1)
			RETURNING 1),
		unmarked AS (DELETE FROM changes_pruned WHERE environment_id = $1 AND EXISTS (SELECT FROM done))
		SELECT EXISTS (SELECT FROM done) OR EXISTS (SELECT FROM environments WHERE id = $1 AND purged_at IS NOT NULL)`
)

// purgeBatch removes one batch of the environment's rows in one
// transaction, the first kind of rows left, and returns how many it
// removed.
func (s *Store) purgeBatch(ctx context.Context, envID string) (int64, error) {
	var n int64
	err := s.transact(ctx, "purge environment", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		run := func(query string) (int64, error) {
			tag, err := tx.Exec(ctx, query, envID, userdata.PurgeBatch)
			return tag.RowsAffected(), err
		}
		for _, step := range []func() (int64, error){
			func() (int64, error) { return run(qPurgeEvents) },
			func() (int64, error) { return run(qPurgeSegmentMembers) },
			func() (int64, error) {
				n, err := run(qPurgeMemberships)
				if err != nil || n == userdata.PurgeBatch {
					return n, err
				}
				users, err := run(qPurgeUsers)
				return n + users, err
			},
			func() (int64, error) { return run(qPurgeCompanies) },
			func() (int64, error) { return run(qPurgeKeys) },
			func() (int64, error) { return run(qPurgeDeliveries) },
			func() (int64, error) { return run(qPurgeWebhooks) },
			func() (int64, error) { return run(qPurgeChanges) },
			func() (int64, error) { return run(qPurgeCommits) },
		} {
			var err error
			if n, err = step(); err != nil || n > 0 {
				return err
			}
		}
		return nil
	})
	return n, err
}

// finishPurge marks the environment purged unless rows of it are left, and
// reports whether it is purged.
func (s *Store) finishPurge(ctx context.Context, envID string) (bool, error) {
	var purged bool
	err := s.transact(ctx, "finish purge", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		return tx.QueryRow(ctx, qFinishPurge, envID, now).Scan(&purged)
	})
	return purged, err
}
