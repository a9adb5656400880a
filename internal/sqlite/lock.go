package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// lockWait is how long Open waits for another server to release the
// database, as when a restarted server starts before the old one has quite
// finished shutting down.
var lockWait = 15 * time.Second

// errLocked is lockFile's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockServer takes the server lock of the database at path: an exclusive
// lock on path-lock, held as long as the returned file is open. It waits
// up to lockWait for another process to release it, saying so at once.
func lockServer(ctx context.Context, path string, log *slog.Logger) (*os.File, error) {
	f, err := os.OpenFile(path+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: server lock: %w", err)
	}
	deadline := time.Now().Add(lockWait)
	for first := true; ; first = false {
		err := lockFile(f, false)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("sqlite: server lock: %w", err)
		}
		if first {
			log.Warn("sqlite: another tourd server holds the database; waiting for it to stop",
				"path", path, "lock", path+"-lock", "wait", lockWait)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("sqlite: %s is in use by another tourd server (run several servers on PostgreSQL instead)", path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
