package feed

import (
	"context"
	"log/slog"
	"time"

	"tourd/internal/userdata"
)

// DefaultRetention is how long the log keeps a change (webhooks.md §4).
const DefaultRetention = 30 * 24 * time.Hour

// pruneBatch is the most changes one PruneChanges call removes, so that
// no write waits long behind a pruning.
const pruneBatch = 10_000

// PruneInterval is how often Prune looks for changes past the retention.
const PruneInterval = 10 * time.Minute

// Prune removes the changes older than retention from the log now and
// every PruneInterval, in batches, until ctx is done. Several nodes may
// prune one database at once.
func Prune(ctx context.Context, l userdata.ChangeLog, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(PruneInterval)
	defer t.Stop()
	for {
		var total int64
		for {
			n, err := l.PruneChanges(ctx, time.Now().Add(-retention), pruneBatch)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("changes: pruning failed; trying again later", "err", err)
				}
				break
			}
			if total += n; n < pruneBatch {
				break
			}
		}
		if total > 0 {
			log.Info("changes: pruned changes past the retention", "removed", total, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
