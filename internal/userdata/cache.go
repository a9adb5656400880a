package userdata

import (
	"context"
	"sync"
	"time"
)

// maxCached bounds a Cache.
const maxCached = 10000

// Cache remembers what a store looked up by a string (a key's hash, a
// personal token's hash, an environment's id), so that most requests
// authenticate and find their environment without a query. Revocations and
// changes must reach every process at once, so each backend supplies an
// epoch: a number that changes whenever any process revokes a key or a
// token or changes an environment (and whenever the backend cannot tell).
// An entry is good only in the epoch it was read in. Failed lookups are
// never cached, so new keys, tokens and environments need no signal.
type Cache[V any] struct {
	epoch   func() int64
	maxAge  time.Duration             // 0: entries live as long as their epoch
	expires func(V) (time.Time, bool) // nil, or when an entry must go at the latest
	mu      sync.RWMutex
	m       map[string]cached[V]
}

type cached[V any] struct {
	v     V
	epoch int64
	until time.Time // zero: as long as the epoch
}

// NewCache returns a cache whose entries last while epoch returns the value
// it returned when they were read, and at most maxAge (if not 0).
func NewCache[V any](epoch func() int64, maxAge time.Duration) *Cache[V] {
	return &Cache[V]{epoch: epoch, maxAge: maxAge, m: map[string]cached[V]{}}
}

// Get answers from the cache or, on a miss, from lookup.
func (c *Cache[V]) Get(ctx context.Context, key string, lookup func(context.Context, string) (V, error)) (V, error) {
	epoch := c.epoch()
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if ok && e.epoch == epoch && (e.until.IsZero() || time.Now().Before(e.until)) {
		return e.v, nil
	}
	v, err := lookup(ctx, key)
	if err != nil {
		return v, err
	}
	e = cached[V]{v: v, epoch: epoch}
	if c.maxAge > 0 {
		e.until = time.Now().Add(c.maxAge)
	}
	if c.expires != nil {
		if at, ok := c.expires(v); ok && (e.until.IsZero() || at.Before(e.until)) {
			e.until = at
		}
	}
	c.mu.Lock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[key] = e
	c.mu.Unlock()
	return v, nil
}
