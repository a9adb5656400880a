package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"tourd/internal/userdata"
)

// webhookColumns are the columns scanWebhook reads.
const webhookColumns = `id, environment_id, url, topics, enabled, description, secret,
	consecutive_failures, cooldown_until, auto_disabled_at, failing_since, created_at, cooldowns`

// scanWebhook reads a webhook's columns, and extra ones into extra.
func scanWebhook(r scanner, extra ...any) (*userdata.Webhook, error) {
	var wh userdata.Webhook
	var topics string
	var description sql.NullString
	var cooldown, disabled, failing sql.NullInt64
	var created int64
	if err := r.Scan(append([]any{&wh.ID, &wh.EnvironmentID, &wh.URL, &topics, &wh.Enabled, &description, &wh.Secret,
		&wh.ConsecutiveFailures, &cooldown, &disabled, &failing, &created, &wh.Cooldowns}, extra...)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(topics), &wh.Topics); err != nil {
		return nil, err
	}
	wh.Description = description.String
	wh.CooldownUntil, wh.AutoDisabledAt, wh.FailingSince = timePtr(cooldown), timePtr(disabled), timePtr(failing)
	wh.CreatedAt = fromMicros(created)
	return &wh, nil
}

// readWebhook reads a webhook of an environment, or returns CodeNotFound
// for ResourceWebhook.
func readWebhook(ctx context.Context, q querier, envID, id string) (*userdata.Webhook, error) {
	wh, err := scanWebhook(q.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE environment_id = ? AND id = ?", envID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceWebhook)
	}
	return wh, err
}

// webhookArgs are the values of a webhook's columns, in the order of
// webhookColumns.
func webhookArgs(wh *userdata.Webhook) []any {
	topics, _ := json.Marshal(wh.Topics) // strings always encode
	return []any{wh.ID, wh.EnvironmentID, wh.URL, string(topics), wh.Enabled, sql.NullString{String: wh.Description, Valid: wh.Description != ""},
		wh.Secret, wh.ConsecutiveFailures, nullMicros(wh.CooldownUntil), nullMicros(wh.AutoDisabledAt), nullMicros(wh.FailingSince), micros(wh.CreatedAt), wh.Cooldowns}
}

// ListWebhooks returns a page of the environment's webhooks.
func (s *Store) ListWebhooks(ctx context.Context, tn userdata.Tenant, p userdata.PageRequest) (*userdata.List[*userdata.Webhook], error) {
	l := &listing{table: "webhooks", scopeCol: "environment_id", scope: tn.EnvironmentID}
	hooks, err := list(ctx, s.r, l, p, webhookColumns, func(r scanner) (*userdata.Webhook, string, error) {
		wh, err := scanWebhook(r)
		if err != nil {
			return nil, "", err
		}
		return wh, wh.ID, nil
	})
	return hooks, s.fault(err)
}

// GetWebhook returns a webhook of the environment.
func (s *Store) GetWebhook(ctx context.Context, tn userdata.Tenant, id string) (*userdata.Webhook, error) {
	wh, err := readWebhook(ctx, s.r, tn.EnvironmentID, id)
	return wh, s.fault(err)
}

// CreateWebhook adds a webhook to the environment, its fan-out cursor at
// the head of the change log.
func (s *Store) CreateWebhook(ctx context.Context, tn userdata.Tenant, in *userdata.WebhookInput) (*userdata.Webhook, error) {
	var wh *userdata.Webhook
	err := s.write(ctx, func(w *wtx) error {
		wh = &userdata.Webhook{ID: userdata.NewID(), EnvironmentID: tn.EnvironmentID, URL: in.URL, Topics: in.Topics,
			Enabled: in.Enabled, Description: in.Description, Secret: in.Secret, CreatedAt: w.now}
		_, err := w.exec("INSERT INTO webhooks ("+webhookColumns+", fanout_cursor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ("+qHead+"))",
			webhookArgs(wh)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return wh, nil
}

// qUpdateWebhook writes a webhook's row from webhookArgs, whose id and
// environment (?1, ?2) find it; enabling it (?5 when the row is not)
// moves its fan-out cursor to the head of the change log.
const qUpdateWebhook = `UPDATE webhooks SET url = ?3, topics = ?4, enabled = ?5, description = ?6, secret = ?7,
	consecutive_failures = ?8, cooldown_until = ?9, auto_disabled_at = ?10, failing_since = ?11, created_at = ?12, cooldowns = ?13,
	fanout_cursor = CASE WHEN ?5 AND NOT enabled THEN (` + qHead + `) ELSE fanout_cursor END
	WHERE id = ?1 AND environment_id = ?2`

// qHead is the head of the change log: the position of its newest change,
// which pruning keeps (migration 0009). In the writer's transaction, the
// changes of its writes are not in the log yet: they are inserted at its
// commit, so they follow the head read before.
const qHead = `SELECT coalesce(max(seq), 0) FROM changes`

// UpdateWebhook changes a webhook of the environment.
func (s *Store) UpdateWebhook(ctx context.Context, tn userdata.Tenant, id string, u *userdata.WebhookUpdate) (*userdata.Webhook, error) {
	var wh *userdata.Webhook
	err := s.write(ctx, func(w *wtx) error {
		old, err := readWebhook(w.ctx, w.q, tn.EnvironmentID, id)
		if err != nil {
			return err
		}
		wh = old.Apply(u)
		_, err = w.exec(qUpdateWebhook, webhookArgs(wh)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return wh, nil
}

// DeleteWebhook deletes a webhook of the environment, leaving its
// deliveries to PruneDeliveries.
func (s *Store) DeleteWebhook(ctx context.Context, tn userdata.Tenant, id string) error {
	return s.write(ctx, func(w *wtx) error {
		n, err := w.execCount("DELETE FROM webhooks WHERE environment_id = ? AND id = ?", tn.EnvironmentID, id)
		switch {
		case err != nil:
			return err
		case n == 0:
			return userdata.NotFound(userdata.ResourceWebhook)
		}
		_, err = w.exec("INSERT INTO deleted_webhooks (id) VALUES (?) ON CONFLICT DO NOTHING", id)
		return err
	})
}
