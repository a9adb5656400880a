package userdata

import (
	"context"
	"sync"
	"time"
)

// maxCachedKeys bounds a KeyCache.
const maxCachedKeys = 10000

// KeyCache remembers which tenant a key hash opens, so that most requests
// authenticate without a query. Revocation must reach every process at
// once, so each backend supplies an epoch: a number that changes whenever
// any process revokes a key (and whenever the backend cannot tell). An
// entry is good only in the epoch it was read in. Unknown keys are never
// cached, so new keys need no signal.
type KeyCache struct {
	epoch  func() int64
	maxAge time.Duration // 0: entries live as long as their epoch
	mu     sync.RWMutex
	m      map[string]cachedKey
}

type cachedKey struct {
	tenant Tenant
	epoch  int64
	at     time.Time
}

// NewKeyCache returns a cache whose entries last while epoch returns the
// value it returned when they were read, and at most maxAge (if not 0).
func NewKeyCache(epoch func() int64, maxAge time.Duration) *KeyCache {
	return &KeyCache{epoch: epoch, maxAge: maxAge, m: map[string]cachedKey{}}
}

// Authenticate answers from the cache or, on a miss, from lookup.
func (c *KeyCache) Authenticate(ctx context.Context, hash string, lookup func(context.Context, string) (Tenant, error)) (Tenant, error) {
	epoch := c.epoch()
	c.mu.RLock()
	e, ok := c.m[hash]
	c.mu.RUnlock()
	if ok && e.epoch == epoch && (c.maxAge == 0 || time.Since(e.at) < c.maxAge) {
		return e.tenant, nil
	}
	t, err := lookup(ctx, hash)
	if err != nil {
		return t, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	e = cachedKey{tenant: t, epoch: epoch}
	if c.maxAge > 0 {
		e.at = time.Now()
	}
	c.m[hash] = e
	c.mu.Unlock()
	return t, nil
}
