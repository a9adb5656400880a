package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
)

// webhookColumns are the columns scanWebhook reads.
const webhookColumns = `id, environment_id, url, topics, enabled, description, secret,
	consecutive_failures, cooldown_until, auto_disabled_at, failing_since, created_at, cooldowns`

// scanWebhook reads a webhook's columns, and extra ones into extra.
func scanWebhook(r pgx.Row, extra ...any) (*userdata.Webhook, error) {
	var wh userdata.Webhook
	var description *string
	var failures, cooldowns int32
	if err := r.Scan(append([]any{&wh.ID, &wh.EnvironmentID, &wh.URL, &wh.Topics, &wh.Enabled, &description, &wh.Secret,
		&failures, &wh.CooldownUntil, &wh.AutoDisabledAt, &wh.FailingSince, &wh.CreatedAt, &cooldowns}, extra...)...); err != nil {
		return nil, err
	}
	if description != nil {
		wh.Description = *description
	}
	wh.ConsecutiveFailures, wh.Cooldowns = int(failures), int(cooldowns)
	return &wh, nil
}

// readWebhook reads a webhook of an environment, with lock (a locking
// clause such as " FOR UPDATE", or "") on its row, or returns CodeNotFound
// for ResourceWebhook.
func readWebhook(ctx context.Context, q rowQuerier, envID, id, lock string) (*userdata.Webhook, error) {
	if !storable(envID) || !storable(id) {
		return nil, userdata.NotFound(userdata.ResourceWebhook)
	}
	wh, err := scanWebhook(q.QueryRow(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE environment_id = $1 AND id = $2"+lock, envID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, userdata.NotFound(userdata.ResourceWebhook)
	}
	return wh, err
}

// webhookArgs are the values of a webhook's columns, in the order of
// webhookColumns.
func webhookArgs(wh *userdata.Webhook) []any {
	var description *string
	if wh.Description != "" {
		description = &wh.Description
	}
	return []any{wh.ID, wh.EnvironmentID, wh.URL, wh.Topics, wh.Enabled, description, wh.Secret,
		int32(wh.ConsecutiveFailures), wh.CooldownUntil, wh.AutoDisabledAt, wh.FailingSince, wh.CreatedAt, int32(wh.Cooldowns)}
}

// ListWebhooks returns a page of the environment's webhooks. It returns
// CodeInvalidCursor when the cursor is not a webhook of the environment
// or selects an empty page.
func (s *Store) ListWebhooks(ctx context.Context, tn userdata.Tenant, p userdata.PageRequest) (*userdata.List[*userdata.Webhook], error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l := newListing("webhooks", "environment_id", tn.EnvironmentID)
	if !storable(tn.EnvironmentID) {
		l.where("false")
	}
	hooks, err := list(ctx, s, l, p, webhookColumns, func(r pgx.Row) (*userdata.Webhook, string, error) {
		wh, err := scanWebhook(r)
		if err != nil {
			return nil, "", err
		}
		return wh, wh.ID, nil
	})
	return hooks, translate("list webhooks", err)
}

// GetWebhook returns a webhook of the environment.
func (s *Store) GetWebhook(ctx context.Context, tn userdata.Tenant, id string) (*userdata.Webhook, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	wh, err := readWebhook(ctx, s.pool, tn.EnvironmentID, id, "")
	return wh, translate("get webhook", err)
}

// CreateWebhook adds a webhook to the environment, its fan-out cursor at
// the head of the change log.
func (s *Store) CreateWebhook(ctx context.Context, tn userdata.Tenant, in *userdata.WebhookInput) (*userdata.Webhook, error) {
	head, err := s.changeHead(ctx, tn.EnvironmentID)
	if err != nil {
		return nil, err
	}
	var wh *userdata.Webhook
	err = s.transact(ctx, "create webhook", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		wh = &userdata.Webhook{ID: userdata.NewID(), EnvironmentID: tn.EnvironmentID, URL: in.URL, Topics: in.Topics,
			Enabled: in.Enabled, Description: in.Description, Secret: in.Secret, CreatedAt: now}
		_, err := tx.Exec(ctx, "INSERT INTO webhooks ("+webhookColumns+", fanout_cursor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
			append(webhookArgs(wh), head)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return wh, nil
}

// qUpdateWebhook writes a webhook's row from webhookArgs, whose id and
// environment ($1, $2) find it, and its fan-out cursor, when $14 is not
// null.
const qUpdateWebhook = `UPDATE webhooks SET url = $3, topics = $4, enabled = $5, description = $6, secret = $7,
	consecutive_failures = $8, cooldown_until = $9, auto_disabled_at = $10, failing_since = $11, created_at = $12,
	cooldowns = $13, fanout_cursor = coalesce($14, fanout_cursor)
	WHERE id = $1 AND environment_id = $2`

// UpdateWebhook changes a webhook of the environment, its row locked from
// the read to the write; enabling it moves its fan-out cursor to the head
// of the change log.
func (s *Store) UpdateWebhook(ctx context.Context, tn userdata.Tenant, id string, u *userdata.WebhookUpdate) (*userdata.Webhook, error) {
	// The head is read before the transaction, which would otherwise wait
	// for itself to end (see head).
	var head string
	if u.Enabled != nil && *u.Enabled {
		var err error
		if head, err = s.changeHead(ctx, tn.EnvironmentID); err != nil {
			return nil, err
		}
	}
	var wh *userdata.Webhook
	err := s.transact(ctx, "update webhook", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		old, err := readWebhook(ctx, tx, tn.EnvironmentID, id, " FOR NO KEY UPDATE")
		if err != nil {
			return err
		}
		wh = old.Apply(u)
		var cursor *string
		if wh.Enabled && !old.Enabled {
			cursor = &head
		}
		_, err = tx.Exec(ctx, qUpdateWebhook, append(webhookArgs(wh), cursor)...)
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
	if !storable(tn.EnvironmentID) || !storable(id) {
		return userdata.NotFound(userdata.ResourceWebhook)
	}
	return s.transact(ctx, "delete webhook", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		tag, err := tx.Exec(ctx, "DELETE FROM webhooks WHERE environment_id = $1 AND id = $2", tn.EnvironmentID, id)
		switch {
		case err != nil:
			return err
		case tag.RowsAffected() == 0:
			return userdata.NotFound(userdata.ResourceWebhook)
		}
		_, err = tx.Exec(ctx, "INSERT INTO deleted_webhooks (id) VALUES ($1) ON CONFLICT DO NOTHING", id)
		return err
	})
}
