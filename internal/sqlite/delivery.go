package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tourd/internal/userdata"
)

// Webhook deliveries (migration 0011): queued by FanOut, claimed for a
// lease and settled through the writer; the one server delivers.

// ActiveWebhooks returns the enabled webhooks of the live environments
// with their fan-out cursors.
func (s *Store) ActiveWebhooks(ctx context.Context) ([]*userdata.Fanout, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+webhookColumns+", fanout_cursor FROM webhooks WHERE enabled AND "+
		"environment_id IN (SELECT id FROM environments WHERE deleted_at IS NULL) ORDER BY created_at, id")
	if err != nil {
		return nil, s.fault(err)
	}
	defer rows.Close()
	var out []*userdata.Fanout
	for rows.Next() {
		f := &userdata.Fanout{}
		if f.Webhook, err = scanWebhook(rows, &f.Cursor); err != nil {
			return nil, s.fault(err)
		}
		out = append(out, f)
	}
	return out, s.fault(rows.Err())
}

const qQueueDelivery = `INSERT INTO deliveries (webhook_id, id, type, body, status, last_attempt, next_at, created_at)
	VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (webhook_id, id) DO NOTHING`

// FanOut queues msgs to the webhook of f and moves its cursor to next,
// if the cursor is still f's and the webhook enabled.
func (s *Store) FanOut(ctx context.Context, f *userdata.Fanout, next string, msgs []*userdata.Message, q userdata.Queueing) (bool, error) {
	var moved bool
	err := s.write(ctx, func(w *wtx) error {
		moved = false // the write may run again
		n, err := w.execCount("UPDATE webhooks SET fanout_cursor = ? WHERE id = ? AND fanout_cursor = ? AND enabled", next, f.Webhook.ID, f.Cursor)
		if err != nil || n == 0 {
			return err
		}
		for i, m := range msgs {
			due := q.Now
			if i < q.Leased {
				due = q.Until
			}
			if _, err := w.exec(qQueueDelivery, f.Webhook.ID, m.ID, m.Type, string(m.Body), q.LastAttempt, micros(due), micros(q.Now)); err != nil {
				return err
			}
		}
		moved = true
		return nil
	})
	return moved, err
}

// qDue reads the pending deliveries of webhook ?1 due at ?2, at most ?3,
// if the webhook may be sent to at ?2.
const qDue = `SELECT d.rowid, d.id, d.type, d.body, d.attempts, d.last_attempt, d.next_at, d.created_at, w.environment_id, w.url, w.secret
	FROM webhooks w JOIN deliveries d ON d.webhook_id = w.id
	WHERE w.id = ?1 AND w.enabled AND (w.cooldown_until IS NULL OR w.cooldown_until <= ?2)
		AND w.environment_id IN (SELECT id FROM environments WHERE deleted_at IS NULL)
		AND d.status = 'pending' AND d.next_at <= ?2
	ORDER BY d.next_at LIMIT ?3`

// ClaimDeliveries reads the due deliveries of each claim and then, in
// one write, leases those still as read.
func (s *Store) ClaimDeliveries(ctx context.Context, claims []userdata.Claim, now, until time.Time) ([]*userdata.Delivery, error) {
	var due []*userdata.Delivery
	var rowids []int64
	for _, c := range claims {
		rows, err := s.r.QueryContext(ctx, qDue, c.WebhookID, micros(now), c.N)
		if err != nil {
			return nil, s.fault(err)
		}
		for rows.Next() {
			d := &userdata.Delivery{WebhookID: c.WebhookID, Status: userdata.DeliveryPending, Lease: until}
			var rowid, next, created int64
			if err := rows.Scan(&rowid, &d.ID, &d.Type, &d.Body, &d.Attempts, &d.LastAttempt, &next, &created, &d.EnvironmentID, &d.URL, &d.Secret); err != nil {
				rows.Close()
				return nil, s.fault(err)
			}
			d.NextAt, d.CreatedAt = timePtr(sql.NullInt64{Int64: next, Valid: true}), fromMicros(created)
			due, rowids = append(due, d), append(rowids, rowid)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, s.fault(err)
		}
	}
	if len(due) == 0 {
		return nil, nil
	}
	var claimed []*userdata.Delivery
	err := s.write(ctx, func(w *wtx) error {
		claimed = claimed[:0]
		for i, d := range due {
			n, err := w.execCount("UPDATE deliveries SET next_at = ? WHERE rowid = ? AND status = 'pending' AND next_at = ?",
				micros(until), rowids[i], micros(*d.NextAt))
			if err != nil {
				return err
			}
			if n == 1 {
				claimed = append(claimed, d)
			}
		}
		return nil
	})
	for _, d := range claimed {
		d.NextAt = &until
	}
	return claimed, err
}

// qRecordAttempt settles a claimed delivery after an attempt, if its
// lease is still the claim's.
const qRecordAttempt = `UPDATE deliveries SET status = ?1, attempts = ?2, next_at = ?3, log = json_insert(log, '$[#]', json(?4))
	WHERE webhook_id = ?5 AND id = ?6 AND status = 'pending' AND next_at = ?7`

// RecordAttempts settles claimed deliveries and moves their webhooks'
// breakers, in one write.
func (s *Store) RecordAttempts(ctx context.Context, results []*userdata.Result) ([]*userdata.BreakerChange, error) {
	var trips []*userdata.BreakerChange
	err := s.write(ctx, func(w *wtx) error {
		var recorded []*userdata.Result
		for _, r := range results {
			var next sql.NullInt64
			if r.Status == userdata.DeliveryPending {
				next = sql.NullInt64{Int64: micros(r.NextAt), Valid: true}
			}
			d := r.Delivery
			n, err := w.execCount(qRecordAttempt, string(r.Status), r.Attempt.Number, next, string(userdata.EncodeAttempt(&r.Attempt)),
				d.WebhookID, d.ID, micros(d.Lease))
			if err != nil {
				return err
			}
			if n == 1 {
				recorded = append(recorded, r)
			}
		}
		var err error
		trips, err = userdata.NoteAttempts(recorded, func(id string) (*userdata.Webhook, error) {
			wh, err := scanWebhook(w.q.QueryRowContext(w.ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id = ?", id))
			if errors.Is(err, sql.ErrNoRows) {
				return nil, nil
			}
			return wh, err
		}, func(wh *userdata.Webhook) error {
			_, err := w.exec(`UPDATE webhooks SET consecutive_failures = ?2, cooldowns = ?3, cooldown_until = ?4, failing_since = ?5,
				enabled = ?6, auto_disabled_at = ?7 WHERE id = ?1`, wh.ID, wh.ConsecutiveFailures, wh.Cooldowns,
				nullMicros(wh.CooldownUntil), nullMicros(wh.FailingSince), wh.Enabled, nullMicros(wh.AutoDisabledAt))
			return err
		})
		return err
	})
	return trips, err
}

// deliveryColumns are the columns scanDelivery reads (not the body).
const deliveryColumns = "webhook_id, id, type, status, attempts, last_attempt, next_at, log, created_at"

func scanDelivery(r scanner) (*userdata.Delivery, error) {
	d := &userdata.Delivery{}
	var next sql.NullInt64
	var created int64
	var log []byte
	if err := r.Scan(&d.WebhookID, &d.ID, &d.Type, &d.Status, &d.Attempts, &d.LastAttempt, &next, &log, &created); err != nil {
		return nil, err
	}
	var err error
	d.NextAt, d.CreatedAt = timePtr(next), fromMicros(created)
	d.Log, err = userdata.DecodeLog(log)
	return d, err
}

// QueueDelivery queues msg to a webhook of the environment for one
// attempt, leased until until.
func (s *Store) QueueDelivery(ctx context.Context, tn userdata.Tenant, id string, msg *userdata.Message, now, until time.Time) (*userdata.Delivery, error) {
	var d *userdata.Delivery
	err := s.write(ctx, func(w *wtx) error {
		wh, err := readWebhook(w.ctx, w.q, tn.EnvironmentID, id)
		if err != nil {
			return err
		}
		d = userdata.LeasedDelivery(wh, msg, 1, now, until)
		_, err = w.exec(qQueueDelivery, id, msg.ID, msg.Type, string(msg.Body), d.LastAttempt, micros(until), micros(now))
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// readDelivery reads the delivery of a message to a webhook, or returns
// CodeNotFound for ResourceWebhookMessage.
func readDelivery(ctx context.Context, q querier, id, messageID string) (*userdata.Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, "SELECT "+deliveryColumns+" FROM deliveries WHERE webhook_id = ? AND id = ?", id, messageID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceWebhookMessage)
	}
	return d, err
}

// ResendDelivery queues a settled delivery again for one more attempt.
func (s *Store) ResendDelivery(ctx context.Context, tn userdata.Tenant, id, messageID string, now time.Time) (*userdata.Delivery, error) {
	var d *userdata.Delivery
	err := s.write(ctx, func(w *wtx) error {
		if _, err := readWebhook(w.ctx, w.q, tn.EnvironmentID, id); err != nil {
			return err
		}
		var err error
		if d, err = readDelivery(w.ctx, w.q, id, messageID); err != nil {
			return err
		}
		if err := d.Resend(now); err != nil {
			return err
		}
		_, err = w.exec("UPDATE deliveries SET status = ?, last_attempt = ?, next_at = ? WHERE webhook_id = ? AND id = ?",
			string(d.Status), d.LastAttempt, micros(now), id, messageID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ListDeliveries returns a page of a webhook's deliveries.
func (s *Store) ListDeliveries(ctx context.Context, tn userdata.Tenant, id string, status userdata.DeliveryStatus, p userdata.PageRequest) (*userdata.List[*userdata.Delivery], error) {
	if _, err := readWebhook(ctx, s.r, tn.EnvironmentID, id); err != nil {
		return nil, s.fault(err)
	}
	l := &listing{table: "deliveries", scopeCol: "webhook_id", scope: id}
	if status != "" {
		l.where("status = ?", string(status))
	}
	ds, err := list(ctx, s.r, l, p, deliveryColumns, func(r scanner) (*userdata.Delivery, string, error) {
		d, err := scanDelivery(r)
		if err != nil {
			return nil, "", err
		}
		d.EnvironmentID = tn.EnvironmentID
		return d, d.ID, nil
	})
	return ds, s.fault(err)
}

// PruneDeliveries removes, in one write, at most limit deliveries of
// deleted webhooks (forgetting those webhooks once none is left) and at
// most limit settled deliveries queued before before.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		orphans, err := w.execCount(`DELETE FROM deliveries WHERE rowid IN
			(SELECT d.rowid FROM deleted_webhooks g JOIN deliveries d ON d.webhook_id = g.id LIMIT ?)`, limit)
		if err != nil {
			return err
		}
		if _, err := w.exec("DELETE FROM deleted_webhooks WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_id = deleted_webhooks.id)"); err != nil {
			return err
		}
		old, err := w.execCount(`DELETE FROM deliveries WHERE rowid IN (SELECT d.rowid FROM webhooks w
			JOIN deliveries d ON d.webhook_id = w.id AND d.created_at < ? WHERE d.status <> 'pending' LIMIT ?)`, micros(before), limit)
		n = orphans + old
		return err
	})
	return n, err
}
