package sqlite

import (
	"context"
	"fmt"
	"os"
	"sync"

	"tourd/internal/userdata"
)

// maxCachedKeys bounds the authentication cache.
const maxCachedKeys = 10000

// keyCache remembers which tenant a key hash opens, so that authenticating
// a request costs a stat(2) instead of a query. Any process that revokes a
// key (the server, or `tourd keys revoke` while the server runs) appends a
// byte to a marker file beside the database after committing; the
// marker's size is the cache epoch, and an entry is good only for the
// epoch it was read in. Keys that are created need no signal: unknown
// hashes are never cached.
type keyCache struct {
	marker string
	mu     sync.RWMutex
	m      map[string]cachedKey
}

type cachedKey struct {
	tenant userdata.Tenant
	epoch  int64
}

func newKeyCache(dbPath string) *keyCache {
	return &keyCache{marker: dbPath + "-keys", m: map[string]cachedKey{}}
}

// epoch returns the marker's current size, -1 when it does not exist.
func (c *keyCache) epoch() int64 {
	fi, err := os.Stat(c.marker)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// get returns the cached tenant of hash if it was read in epoch.
func (c *keyCache) get(hash string, epoch int64) (userdata.Tenant, bool) {
	c.mu.RLock()
	e, ok := c.m[hash]
	c.mu.RUnlock()
	return e.tenant, ok && e.epoch == epoch
}

// put remembers a tenant read from the database in epoch.
func (c *keyCache) put(hash string, t userdata.Tenant, epoch int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[hash] = cachedKey{t, epoch}
}

// bump tells every process that a key changed.
func (c *keyCache) bump() error {
	f, err := os.OpenFile(c.marker, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	_, err = f.Write([]byte{'\n'})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	return nil
}

// authenticate answers from the cache or, on a miss, from lookup.
func (c *keyCache) authenticate(ctx context.Context, hash string, lookup func(context.Context, string) (userdata.Tenant, error)) (userdata.Tenant, error) {
	epoch := c.epoch()
	if t, ok := c.get(hash, epoch); ok {
		return t, nil
	}
	t, err := lookup(ctx, hash)
	if err == nil {
		c.put(hash, t, epoch)
	}
	return t, err
}
