package postgres

import (
	"context"
	"errors"
	"time"

	"tourd/internal/userdata"
)

// TODO(change log): the PostgreSQL change log; this placeholder only lets
// the tree build while it is written, and fails the shared suite.

var errNoChangeLog = errors.New("postgres: the change log is not written yet")

func (s *Store) Changes(ctx context.Context, environmentID string, q userdata.ChangeQuery) (*userdata.ChangePage, error) {
	return nil, errNoChangeLog
}

func (s *Store) ChangeSignal() <-chan struct{} { return nil }

func (s *Store) PruneChanges(ctx context.Context, before time.Time, limit int) (int64, error) {
	return 0, errNoChangeLog
}
