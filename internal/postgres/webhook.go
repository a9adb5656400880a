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
	consecutive_failures, cooldown_until, auto_disabled_at, failing_since, created_at`

func scanWebhook(r pgx.Row) (*userdata.Webhook, error) {
	var wh userdata.Webhook
	var description *string
	var failures int32
	if err := r.Scan(&wh.ID, &wh.EnvironmentID, &wh.URL, &wh.Topics, &wh.Enabled, &description, &wh.Secret,
		&failures, &wh.CooldownUntil, &wh.AutoDisabledAt, &wh.FailingSince, &wh.CreatedAt); err != nil {
		return nil, err
	}
	if description != nil {
		wh.Description = *description
	}
	wh.ConsecutiveFailures = int(failures)
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
		int32(wh.ConsecutiveFailures), wh.CooldownUntil, wh.AutoDisabledAt, wh.FailingSince, wh.CreatedAt}
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

// CreateWebhook adds a webhook to the environment.
func (s *Store) CreateWebhook(ctx context.Context, tn userdata.Tenant, in *userdata.WebhookInput) (*userdata.Webhook, error) {
	var wh *userdata.Webhook
	err := s.transact(ctx, "create webhook", func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		wh = &userdata.Webhook{ID: userdata.NewID(), EnvironmentID: tn.EnvironmentID, URL: in.URL, Topics: in.Topics,
			Enabled: in.Enabled, Description: in.Description, Secret: in.Secret, CreatedAt: now}
		_, err := tx.Exec(ctx, "INSERT INTO webhooks ("+webhookColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
			webhookArgs(wh)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return wh, nil
}

// qUpdateWebhook writes a webhook's row from webhookArgs, whose id and
// environment ($1, $2) find it.
const qUpdateWebhook = `UPDATE webhooks SET url = $3, topics = $4, enabled = $5, description = $6, secret = $7,
	consecutive_failures = $8, cooldown_until = $9, auto_disabled_at = $10, failing_since = $11, created_at = $12
	WHERE id = $1 AND environment_id = $2`

// UpdateWebhook changes a webhook of the environment, its row locked from
// the read to the write.
func (s *Store) UpdateWebhook(ctx context.Context, tn userdata.Tenant, id string, u *userdata.WebhookUpdate) (*userdata.Webhook, error) {
	var wh *userdata.Webhook
	err := s.transact(ctx, "update webhook", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		old, err := readWebhook(ctx, tx, tn.EnvironmentID, id, " FOR NO KEY UPDATE")
		if err != nil {
			return err
		}
		wh = old.Apply(u)
		_, err = tx.Exec(ctx, qUpdateWebhook, webhookArgs(wh)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return wh, nil
}

// DeleteWebhook deletes a webhook of the environment.
func (s *Store) DeleteWebhook(ctx context.Context, tn userdata.Tenant, id string) error {
	if !storable(tn.EnvironmentID) || !storable(id) {
		return userdata.NotFound(userdata.ResourceWebhook)
	}
	return s.transact(ctx, "delete webhook", func(ctx context.Context, tx pgx.Tx, _ time.Time) error {
		tag, err := tx.Exec(ctx, "DELETE FROM webhooks WHERE environment_id = $1 AND id = $2", tn.EnvironmentID, id)
		if err == nil && tag.RowsAffected() == 0 {
			return userdata.NotFound(userdata.ResourceWebhook)
		}
		return err
	})
}
