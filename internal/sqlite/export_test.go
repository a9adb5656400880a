package sqlite

import (
	"context"
	"errors"
	"time"
)

// SegmentMemberRows returns the rows of a segment's members in every
// environment, as storetest reads them: "environment/external id" each
// ("environment/?" for a row whose user or company is gone), in the order
// of segment_members_list.
func (s *Store) SegmentMemberRows(ctx context.Context, segmentID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.environment_id || '/' || coalesce(u.external_id, c.external_id, '?')
		FROM segment_members m LEFT JOIN users u ON u.id = m.user_id LEFT JOIN companies c ON c.id = m.company_id
		WHERE m.segment_id = ? ORDER BY m.environment_id, m.created_at, m.entity_id`, segmentID)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// BreakWebhook sets a webhook's breaker as deliveries failing since at
// would leave it: failures attempts failed in a row, cooling down until
// an hour after at, disabled at at.
func (s *Store) BreakWebhook(ctx context.Context, id string, failures int, at time.Time) error {
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`UPDATE webhooks SET enabled = 0, consecutive_failures = ?2, cooldown_until = ?3, auto_disabled_at = ?4,
			failing_since = ?4 WHERE id = ?1`, id, failures, micros(at.Add(time.Hour)), micros(at))
		return err
	})
}

// CountDeliveries counts the deliveries of every webhook.
func (s *Store) CountDeliveries(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM deliveries").Scan(&n)
	return n, err
}
