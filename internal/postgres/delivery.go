package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// Webhook deliveries (migration 0012): queued by FanOut under a
// compare-and-set of the webhook's cursor, claimed with FOR UPDATE SKIP
// LOCKED and a lease, so that any number of nodes deliver together, each
// message by one node at a time.

// changeHead returns the head of an environment's change log, the
// position of a new or enabled webhook's fan-out cursor.
func (s *Store) changeHead(ctx context.Context, envID string) (string, error) {
	p, err := s.Changes(ctx, envID, userdata.ChangeQuery{After: userdata.CursorNow, Limit: 1})
	if err != nil {
		return "", err
	}
	return p.Next, nil
}

// ActiveWebhooks returns the enabled webhooks of the live environments
// with their fan-out cursors.
func (s *Store) ActiveWebhooks(ctx context.Context) ([]*userdata.Fanout, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, _ := s.pool.Query(ctx, "SELECT "+webhookColumns+", fanout_cursor FROM webhooks WHERE enabled AND "+
		"environment_id IN (SELECT id FROM environments WHERE deleted_at IS NULL) ORDER BY created_at, id")
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.Fanout, error) {
		f := &userdata.Fanout{}
		var err error
		f.Webhook, err = scanWebhook(r, &f.Cursor)
		return f, err
	})
	return out, translate("active webhooks", err)
}

// qQueueDeliveries queues messages ($2 ids, $3 types, $4 bodies) to
// webhook $1, the first $8 due at $6 (leased), the others at $7, when they
// are queued.
const qQueueDeliveries = `INSERT INTO deliveries (webhook_id, id, type, body, status, last_attempt, next_at, created_at)
	SELECT $1, m.id, m.type, m.body, 'pending', $5, CASE WHEN m.n <= $8::bigint THEN $6::timestamptz ELSE $7::timestamptz END, $7
	FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m(id, type, body, n)
	ON CONFLICT (webhook_id, id) DO NOTHING`

// FanOut queues msgs to the webhook of f and moves its cursor to next, if
// the cursor is still f's and the webhook enabled: the update of the
// cursor locks the row, so that of two nodes fanning out the same range
// the second finds the cursor moved.
func (s *Store) FanOut(ctx context.Context, f *userdata.Fanout, next string, msgs []*userdata.Message, q userdata.Queueing) (bool, error) {
	var moved bool
	err := s.transact(ctx, "fan out", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		moved = false // the transaction may run again
		tag, err := tx.Exec(ctx, "UPDATE webhooks SET fanout_cursor = $3 WHERE id = $1 AND fanout_cursor = $2 AND enabled", f.Webhook.ID, f.Cursor, next)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if len(msgs) > 0 {
			ids, types, bodies := make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs))
			for i, m := range msgs {
				ids[i], types[i], bodies[i] = m.ID, m.Type, string(m.Body)
			}
			if _, err := tx.Exec(ctx, qQueueDeliveries, f.Webhook.ID, ids, types, bodies, q.LastAttempt, q.Until, q.Now, q.Leased); err != nil {
				return err
			}
		}
		moved = true
		return nil
	})
	return moved && err == nil, err
}

// qClaim leases, for each webhook of $1 that may be sent to at $3, up to
// its number of $2 of its pending deliveries due at $3, oldest due first,
// until $4, skipping those another node is claiming.
const qClaim = `WITH picked AS (
		SELECT x.webhook_id, x.id FROM unnest($1::text[], $2::int[]) AS want(id, n)
		JOIN webhooks w ON w.id = want.id AND w.enabled AND (w.cooldown_until IS NULL OR w.cooldown_until <= $3)
		JOIN environments e ON e.id = w.environment_id AND e.deleted_at IS NULL
		CROSS JOIN LATERAL (SELECT d.webhook_id, d.id FROM deliveries d
			WHERE d.webhook_id = want.id AND d.status = 'pending' AND d.next_at <= $3
			ORDER BY d.next_at LIMIT want.n FOR UPDATE OF d SKIP LOCKED) x)
	UPDATE deliveries d SET next_at = $4 FROM picked p, webhooks w
	WHERE d.webhook_id = p.webhook_id AND d.id = p.id AND w.id = d.webhook_id
	RETURNING d.webhook_id, d.id, d.type, d.body, d.attempts, d.last_attempt, d.created_at, w.environment_id, w.url, w.secret`

// ClaimDeliveries leases the due deliveries of each claim in one
// statement.
func (s *Store) ClaimDeliveries(ctx context.Context, claims []userdata.Claim, now, until time.Time) ([]*userdata.Delivery, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ids, ns := make([]string, 0, len(claims)), make([]int32, 0, len(claims))
	for _, c := range claims {
		if storable(c.WebhookID) {
			ids, ns = append(ids, c.WebhookID), append(ns, int32(c.N))
		}
	}
	var out []*userdata.Delivery
	err := s.retry(ctx, "claim deliveries", func() error {
		rows, _ := s.pool.Query(ctx, qClaim, ids, ns, now, until)
		var err error
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*userdata.Delivery, error) {
			d := &userdata.Delivery{Status: userdata.DeliveryPending, Lease: until, NextAt: &until}
			var attempts, last int32
			var body string
			err := r.Scan(&d.WebhookID, &d.ID, &d.Type, &body, &attempts, &last, &d.CreatedAt, &d.EnvironmentID, &d.URL, &d.Secret)
			d.Body, d.Attempts, d.LastAttempt = []byte(body), int(attempts), int(last)
			return d, err
		})
		return err
	})
	return out, translate("claim deliveries", err)
}

// qRecordAttempts settles claimed deliveries ($1 webhooks, $2 ids) after
// an attempt, each if its lease ($3) is still the claim's, and returns
// those it settled.
const qRecordAttempts = `UPDATE deliveries d SET status = r.status, attempts = r.attempts, next_at = r.next_at, log = d.log || r.entry
	FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::int[], $6::timestamptz[], $7::jsonb[])
		AS r(webhook_id, id, lease, status, attempts, next_at, entry)
	WHERE d.webhook_id = r.webhook_id AND d.id = r.id AND d.status = 'pending' AND d.next_at = r.lease
	RETURNING d.webhook_id, d.id`

// RecordAttempts settles claimed deliveries and moves their webhooks'
// breakers, in one transaction.
func (s *Store) RecordAttempts(ctx context.Context, results []*userdata.Result) ([]*userdata.BreakerChange, error) {
	n := len(results)
	hooks, ids, statuses, entries := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	leases, next, attempts := make([]time.Time, n), make([]*time.Time, n), make([]int32, n)
	for i, r := range results {
		hooks[i], ids[i], leases[i], statuses[i] = r.Delivery.WebhookID, r.Delivery.ID, r.Delivery.Lease, string(r.Status)
		attempts[i], entries[i] = int32(r.Attempt.Number), string(userdata.EncodeAttempt(&r.Attempt))
		if r.Status == userdata.DeliveryPending {
			next[i] = &r.NextAt
		}
	}
	var trips []*userdata.BreakerChange
	err := s.transact(ctx, "record attempts", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		rows, _ := tx.Query(ctx, qRecordAttempts, hooks, ids, leases, statuses, attempts, next, entries)
		settled := map[[2]string]bool{}
		var key [2]string
		_, err := pgx.ForEachRow(rows, []any{&key[0], &key[1]}, func() error {
			settled[key] = true
			return nil
		})
		if err != nil {
			return err
		}
		var recorded []*userdata.Result
		for _, r := range results {
			if settled[[2]string{r.Delivery.WebhookID, r.Delivery.ID}] {
				recorded = append(recorded, r)
			}
		}
		trips, err = userdata.NoteAttempts(recorded, func(id string) (*userdata.Webhook, error) {
			wh, err := scanWebhook(tx.QueryRow(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id = $1 FOR NO KEY UPDATE", id))
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, nil
			}
			return wh, err
		}, func(wh *userdata.Webhook) error {
			_, err := tx.Exec(ctx, `UPDATE webhooks SET consecutive_failures = $2, cooldowns = $3, cooldown_until = $4, failing_since = $5,
				enabled = $6, auto_disabled_at = $7 WHERE id = $1`, wh.ID, int32(wh.ConsecutiveFailures), int32(wh.Cooldowns),
				wh.CooldownUntil, wh.FailingSince, wh.Enabled, wh.AutoDisabledAt)
			return err
		})
		return err
	})
	return trips, err
}

// deliveryColumns are the columns scanDelivery reads (not the body).
const deliveryColumns = "webhook_id, id, type, status, attempts, last_attempt, next_at, log, created_at"

func scanDelivery(r pgx.Row) (*userdata.Delivery, error) {
	d := &userdata.Delivery{}
	var attempts, last int32
	var log []byte
	if err := r.Scan(&d.WebhookID, &d.ID, &d.Type, &d.Status, &attempts, &last, &d.NextAt, &log, &d.CreatedAt); err != nil {
		return nil, err
	}
	d.Attempts, d.LastAttempt = int(attempts), int(last)
	var err error
	d.Log, err = userdata.DecodeLog(log)
	return d, err
}

// QueueDelivery queues msg to a webhook of the environment for one
// attempt, leased until until.
func (s *Store) QueueDelivery(ctx context.Context, tn userdata.Tenant, id string, msg *userdata.Message, now, until time.Time) (*userdata.Delivery, error) {
	var d *userdata.Delivery
	err := s.transact(ctx, "queue delivery", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		wh, err := readWebhook(ctx, tx, tn.EnvironmentID, id, " FOR KEY SHARE")
		if err != nil {
			return err
		}
		d = userdata.LeasedDelivery(wh, msg, 1, now, until)
		_, err = tx.Exec(ctx, qQueueDeliveries, id, []string{msg.ID}, []string{msg.Type}, []string{string(msg.Body)}, d.LastAttempt, until, now, 1)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ResendDelivery queues a settled delivery again for one more attempt.
func (s *Store) ResendDelivery(ctx context.Context, tn userdata.Tenant, id, messageID string, now time.Time) (*userdata.Delivery, error) {
	var d *userdata.Delivery
	err := s.transact(ctx, "resend delivery", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		if _, err := readWebhook(ctx, tx, tn.EnvironmentID, id, " FOR KEY SHARE"); err != nil {
			return err
		}
		if !storable(messageID) {
			return userdata.NotFound(userdata.ResourceWebhookMessage)
		}
		var err error
		d, err = scanDelivery(tx.QueryRow(ctx, "SELECT "+deliveryColumns+" FROM deliveries WHERE webhook_id = $1 AND id = $2 FOR UPDATE", id, messageID))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return userdata.NotFound(userdata.ResourceWebhookMessage)
		case err != nil:
			return err
		}
		if err := d.Resend(now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE deliveries SET status = $3, last_attempt = $4, next_at = $5 WHERE webhook_id = $1 AND id = $2",
			id, messageID, string(d.Status), int32(d.LastAttempt), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ListDeliveries returns a page of a webhook's deliveries.
func (s *Store) ListDeliveries(ctx context.Context, tn userdata.Tenant, id string, status userdata.DeliveryStatus, p userdata.PageRequest) (*userdata.List[*userdata.Delivery], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := readWebhook(ctx, s.pool, tn.EnvironmentID, id, ""); err != nil {
		return nil, translate("list deliveries", err)
	}
	l := newListing("deliveries", "webhook_id", id)
	if status != "" {
		l.where("status = " + l.arg(string(status)))
	}
	ds, err := list(ctx, s, l, p, deliveryColumns, func(r pgx.Row) (*userdata.Delivery, string, error) {
		d, err := scanDelivery(r)
		if err != nil {
			return nil, "", err
		}
		d.EnvironmentID = tn.EnvironmentID
		return d, d.ID, nil
	})
	return ds, translate("list deliveries", err)
}

// qPruneDeliveries removes at most $2 deliveries of deleted webhooks, then
// forgets the deleted webhooks that have none left, then removes at most
// $2 settled deliveries queued before $1; it returns how many deliveries
// it removed.
const qPruneDeliveries = `WITH orphans AS (
		DELETE FROM deliveries WHERE (webhook_id, id) IN (SELECT d.webhook_id, d.id FROM deleted_webhooks g
			JOIN deliveries d ON d.webhook_id = g.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
		RETURNING 1),
	forgotten AS (
		DELETE FROM deleted_webhooks g WHERE NOT EXISTS (SELECT FROM deliveries d WHERE d.webhook_id = g.id)),
	old AS (
		DELETE FROM deliveries WHERE (webhook_id, id) IN (SELECT d.webhook_id, d.id FROM webhooks w
			JOIN deliveries d ON d.webhook_id = w.id AND d.created_at < $1 WHERE d.status <> 'pending' LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
		RETURNING 1)
	SELECT (SELECT count(*) FROM orphans) + (SELECT count(*) FROM old)`

// PruneDeliveries removes deliveries of deleted webhooks and settled old
// ones, in one statement.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var n int64
	err := s.retry(ctx, "prune deliveries", func() error {
		return s.pool.QueryRow(ctx, qPruneDeliveries, before, limit).Scan(&n)
	})
	return n, translate("prune deliveries", err)
}
