package postgres

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tourd/internal/userdata"
)

// SetLanes sets how many groups of writes, and of reads, s runs at once.
// Call it before any write or read.
func SetLanes(s *Store, n int) { s.writes.lanes, s.reads.lanes = n, n }

// QueuedWrites reports how many writes wait for a lane.
func QueuedWrites(s *Store) int {
	s.writes.mu.Lock()
	defer s.writes.mu.Unlock()
	return len(s.writes.queue)
}

// Lookup is one get of LookupGroup.
type Lookup struct {
	Company    bool // a company, else a user
	ExternalID string
}

// LookupGroup runs the gets as one group, in one round trip, and returns
// the attributes of what each found (nil where it found nothing).
func LookupGroup(ctx context.Context, s *Store, tn userdata.Tenant, gets []Lookup) ([][]byte, error) {
	group := make([]*call[*lookup], len(gets))
	for i, g := range gets {
		t := usersTable
		if g.Company {
			t = companiesTable
		}
		group[i] = &call[*lookup]{ctx: ctx, item: &lookup{table: t, envID: tn.EnvironmentID, externalID: g.ExternalID}}
	}
	s.runLookups(ctx, group)
	found := make([][]byte, len(gets))
	for i, c := range group {
		if c.err != nil {
			return nil, c.err
		}
		if e := c.item.found; e != nil {
			found[i] = e.attributes
		}
	}
	return found, nil
}

// Listening reports whether s listens for key revocations.
func Listening(s *Store) bool { return s.keyEpoch.listening.Load() }

// MigrateTo applies the pending migrations up to version last.
func MigrateTo(ctx context.Context, cfg *pgxpool.Config, last int) error {
	return migrate(ctx, cfg.ConnConfig, slog.New(slog.NewTextHandler(io.Discard, nil)), last)
}

// SegmentMemberRows returns the rows of a segment's members in every
// environment, as storetest reads them: "environment/external id" each
// ("environment/?" for a row whose user or company is gone), in the order
// of segment_members_list.
func (s *Store) SegmentMemberRows(ctx context.Context, segmentID string) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT m.environment_id || '/' || coalesce(u.external_id, c.external_id, '?')
		FROM segment_members m LEFT JOIN users u ON u.id = m.user_id LEFT JOIN companies c ON c.id = m.company_id
		WHERE m.segment_id = $1 ORDER BY m.environment_id, m.created_at, m.entity_id`, segmentID)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// BreakWebhook sets a webhook's breaker as deliveries failing since at
// would leave it: failures attempts failed in a row, cooling down until
// an hour after at, disabled at at.
func (s *Store) BreakWebhook(ctx context.Context, id string, failures int, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhooks SET enabled = false, consecutive_failures = $2, cooldown_until = $3, auto_disabled_at = $4,
		failing_since = $4 WHERE id = $1`, id, failures, at.Add(time.Hour), at)
	return err
}

// CountDeliveries counts the deliveries of every webhook.
func (s *Store) CountDeliveries(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM deliveries").Scan(&n)
	return n, err
}

// SealSQL is sealSQL, for tests that record changes as writes do.
const SealSQL = sealSQL
