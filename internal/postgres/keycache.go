package postgres

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// keysChannel is the NOTIFY channel on which a revocation (of a key or a
// personal token), a change of an environment or the deletion of an
// attribute definition reaches every tourd process, which then forgets
// the keys, tokens, environments and definitions it caches.
const keysChannel = "tourd_keys"

// RevokeKey returns once every running tourd process has heard of the
// revocation: it waits until its own listener hears the notification (or
// notifyWait passes), which PostgreSQL sends every listener at the same
// time, then revocationGrace more for the other processes to read it.
const (
	notifyWait      = 2 * time.Second
	revocationGrace = 100 * time.Millisecond
)

// maxKeyAge bounds how long a cached key lives even while notifications
// flow: a listening connection that died without an error cannot keep a
// revoked key alive longer than this.
const maxKeyAge = 30 * time.Second

// keyEpoch is the epoch of the store's key cache: it changes with every
// notification on keysChannel, and while no connection listens it changes
// on every read, which turns the cache off.
type keyEpoch struct {
	gen       atomic.Int64
	listening atomic.Bool
	heard     atomic.Int64 // notifications received
}

func (e *keyEpoch) epoch() int64 {
	if !e.listening.Load() {
		return e.gen.Add(1)
	}
	return e.gen.Load()
}

// listenKeys keeps a connection listening on keysChannel until ctx ends,
// reconnecting after failures. While the database is down it logs once
// that it stopped listening and once that it listens again, not each
// failed attempt in between.
func (s *Store) listenKeys(ctx context.Context, cfg *pgx.ConnConfig) {
	defer close(s.listenDone)
	for attempt := 1; ; attempt++ {
		listened, err := s.listenOnce(ctx, cfg, attempt > 1)
		if ctx.Err() != nil {
			return
		}
		if listened {
			attempt = 1
		}
		if attempt == 1 {
			s.log.Warn("postgres: not listening for key revocations; keys are not cached until it works again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff(min(attempt, 7))):
		}
	}
}

// listenOnce listens on one connection until it fails, and reports whether
// it listened at all. again says that a failure was logged before.
func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, again bool) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+keysChannel); err != nil {
		return false, err
	}
	if again {
		s.log.Info("postgres: listening for key revocations again")
	}
	s.keyEpoch.listening.Store(true)
	s.keyEpoch.gen.Add(1) // after: entries read before listening are void
	defer func() {
		s.keyEpoch.listening.Store(false)
		s.keyEpoch.gen.Add(1)
	}()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		s.keyEpoch.gen.Add(1)
		s.keyEpoch.heard.Add(1)
		s.purger.Kick() // an environment deleted by another process is purged here too
	}
}

// awaitRevocation waits, after a revocation committed, until this process's
// listener has heard more than heard notifications, then revocationGrace.
func (s *Store) awaitRevocation(ctx context.Context, heard int64) {
	deadline := time.Now().Add(notifyWait)
	for s.keyEpoch.listening.Load() && s.keyEpoch.heard.Load() <= heard && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(revocationGrace):
	}
}
