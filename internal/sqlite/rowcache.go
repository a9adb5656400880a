package sqlite

import (
	"context"
	"sync"

	"tourd/internal/userdata"
)

// The row cache holds at most maxCachedRows rows and about
// maxCachedBytes of them; rows over maxCachedRowBytes are not cached.
const (
	maxCachedRows     = 1 << 16
	maxCachedBytes    = 32 << 20
	maxCachedRowBytes = maxCachedBytes / 64
)

// size is about how much memory a cached row takes.
func (e *entity) size() int {
	return len(e.id) + len(e.externalID) + len(e.attributes) + len(e.email.String) + 128
}

// rowKey identifies a user or company row.
type rowKey struct {
	table    *entityTable
	env, ext string
}

// gone marks a row deleted in the current batch.
var gone = &entity{}

// rowCache keeps users and companies in memory, so that reading one, and
// merging into one, needs no query. It is only used by a store that holds
// the database's server lock (Options.Exclusive), so that no other process
// writes users or companies behind its back. The writer updates it after
// each commit, before acknowledging; readers fill it on a miss, unless a
// commit happened since they began reading (seq), which could make what
// they read stale.
type rowCache struct {
	mu    sync.RWMutex
	seq   uint64
	m     map[rowKey]*entity
	bytes int // the size of the cached rows
}

func newRowCache() *rowCache { return &rowCache{m: map[rowKey]*entity{}} }

// get returns the cached row and the commit sequence number it was seen at.
func (c *rowCache) get(k rowKey) (*entity, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[k], c.seq
}

// fill caches a row read from the database, if no commit happened since
// seq.
func (c *rowCache) fill(k rowKey, e *entity, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seq == seq {
		c.put(k, e)
	}
}

// apply records what a committed batch wrote: rows as they are now, gone
// for deleted rows, nil for rows whose state is unknown.
func (c *rowCache) apply(changes map[rowKey]*entity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	for k, e := range changes {
		if e == nil || e == gone {
			c.remove(k)
		} else {
			c.put(k, e)
		}
	}
}

func (c *rowCache) remove(k rowKey) {
	if old, ok := c.m[k]; ok {
		c.bytes -= old.size()
		delete(c.m, k)
	}
}

// put inserts a row, first dropping about an eighth of the cache when it
// is full (map order is random enough for that). Rows too large to cache
// are only removed.
func (c *rowCache) put(k rowKey, e *entity) {
	c.remove(k)
	if e.size() > maxCachedRowBytes {
		return
	}
	if len(c.m) >= maxCachedRows || c.bytes+e.size() > maxCachedBytes {
		n := max(len(c.m)/8, 1)
		for old := range c.m {
			c.remove(old)
			if n--; n == 0 {
				break
			}
		}
	}
	c.m[k] = e
	c.bytes += e.size()
}

// readEntity reads a user or company for a request: from the cache when
// the store has one, else from the database (filling the cache).
func (s *Store) readEntity(ctx context.Context, t *entityTable, envID, externalID string) (*entity, error) {
	if s.rows == nil {
		e, err := t.get(ctx, s.r, envID, externalID)
		return e, s.fault(err)
	}
	k := rowKey{t, envID, externalID}
	e, seq := s.rows.get(k)
	if e != nil {
		return e, nil
	}
	e, err := t.get(ctx, s.r, envID, externalID)
	if err == nil {
		s.rows.fill(k, e, seq)
	}
	return e, s.fault(err)
}

// entity reads a row inside the writer's transaction: what this batch
// wrote, else the cache, else the database.
func (w *wtx) entity(t *entityTable, envID, externalID string) (*entity, error) {
	if w.s.rows != nil {
		k := rowKey{t, envID, externalID}
		if e, ok := w.s.batch[k]; ok && e != nil {
			if e == gone {
				return nil, userdata.NotFound(t.resource)
			}
			return e, nil
		} else if !ok {
			if e, _ := w.s.rows.get(k); e != nil {
				return e, nil
			}
		}
	}
	return t.get(w.ctx, w.q, envID, externalID)
}

// wrote records a row this write changed (gone if deleted).
func (w *wtx) wrote(t *entityTable, envID, externalID string, e *entity) {
	if w.s.rows != nil {
		k := rowKey{t, envID, externalID}
		w.s.batch[k] = e
		w.touched = append(w.touched, k)
	}
}

// forget marks the rows a failed write touched as unknown, so that later
// writes of the batch read them from the database, and the cache drops
// them.
func (w *wtx) forget() {
	for _, k := range w.touched {
		w.s.batch[k] = nil
	}
}
