package postgres

import (
	"context"
	"errors"
	"time"

	"tourd/internal/userdata"
)

// TODO(deliver): written once the change log is merged.

var errNoDeliveries = errors.New("postgres: deliveries are not written yet")

func (s *Store) ActiveWebhooks(ctx context.Context) ([]*userdata.Fanout, error) {
	return nil, errNoDeliveries
}
func (s *Store) FanOut(ctx context.Context, f *userdata.Fanout, next string, msgs []*userdata.Message, lastAttempt int, now time.Time) (bool, error) {
	return false, errNoDeliveries
}
func (s *Store) ClaimDeliveries(ctx context.Context, claims []userdata.Claim, now, until time.Time) ([]*userdata.Delivery, error) {
	return nil, errNoDeliveries
}
func (s *Store) RecordAttempts(ctx context.Context, results []*userdata.Result) ([]*userdata.BreakerChange, error) {
	return nil, errNoDeliveries
}
func (s *Store) QueueDelivery(ctx context.Context, t userdata.Tenant, id string, msg *userdata.Message, now, until time.Time) (*userdata.Delivery, error) {
	return nil, errNoDeliveries
}
func (s *Store) ResendDelivery(ctx context.Context, t userdata.Tenant, id, messageID string, now time.Time) (*userdata.Delivery, error) {
	return nil, errNoDeliveries
}
func (s *Store) ListDeliveries(ctx context.Context, t userdata.Tenant, id string, status userdata.DeliveryStatus, p userdata.PageRequest) (*userdata.List[*userdata.Delivery], error) {
	return nil, errNoDeliveries
}
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	return 0, errNoDeliveries
}
