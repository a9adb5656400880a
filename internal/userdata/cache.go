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
	if v, ok := c.fresh(key, epoch); ok {
		return v, nil
	}
	v, err := lookup(ctx, key)
	if err != nil {
		return v, err
	}
	c.put(key, v, epoch)
	return v, nil
}

// GetMany answers keys from the cache, looking the missing ones up with
// one call of lookup. The keys lookup finds nothing for are absent from
// the answer, and are not cached.
func (c *Cache[V]) GetMany(ctx context.Context, keys []string, lookup func(ctx context.Context, missing []string) (map[string]V, error)) (map[string]V, error) {
	epoch := c.epoch()
	out := make(map[string]V, len(keys))
	var missing []string
	for _, k := range keys {
		if v, ok := c.fresh(k, epoch); ok {
			out[k] = v
		} else {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	found, err := lookup(ctx, missing)
	if err != nil {
		return nil, err
	}
	for k, v := range found {
		c.put(k, v, epoch)
		out[k] = v
	}
	return out, nil
}

// fresh returns the entry of key if it is good in epoch.
func (c *Cache[V]) fresh(key string, epoch int64) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if ok && e.epoch == epoch && (e.until.IsZero() || time.Now().Before(e.until)) {
		return e.v, true
	}
	var zero V
	return zero, false
}

// put caches v, read in epoch, for key.
func (c *Cache[V]) put(key string, v V, epoch int64) {
	e := cached[V]{v: v, epoch: epoch}
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
}

// TypeCache is the cache of attribute definitions' types, which v2
// coerces values to (operations.md §3): an entry is one definition, by
// project, scope and codeName. Keys without a definition are never cached,
// as a write defines them without a signal; a retype and a deletion
// change the epoch.
type TypeCache struct{ c *Cache[DataType] }

// NewTypeCache returns a type cache; epoch and maxAge are NewCache's.
func NewTypeCache(epoch func() int64, maxAge time.Duration) *TypeCache {
	return &TypeCache{NewCache[DataType](epoch, maxAge)}
}

// Types returns the type of each of keys that has a definition in the
// project's scope, from the cache or, for those missing, from one call of
// lookup, which returns the types of those of missing that have one.
func (tc *TypeCache) Types(ctx context.Context, project string, scope Scope, keys []string,
	lookup func(ctx context.Context, missing []string) (map[string]DataType, error)) (map[string]DataType, error) {
	prefix := project + "\x00" + scope.String() + "\x00"
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = prefix + k
	}
	got, err := tc.c.GetMany(ctx, full, func(ctx context.Context, missing []string) (map[string]DataType, error) {
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i] = m[len(prefix):]
		}
		found, err := lookup(ctx, names)
		out := make(map[string]DataType, len(found))
		for k, t := range found {
			out[prefix+k] = t
		}
		return out, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]DataType, len(got))
	for k, t := range got {
		out[k[len(prefix):]] = t
	}
	return out, nil
}
