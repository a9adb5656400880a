package postgres

import (
	"context"
	"fmt"
	"sync"
)

// coalescer runs concurrent calls in groups, so that under load many calls
// share one round trip to the server (and, for writes, one commit). At most
// lanes groups run at once. A call that finds a lane free runs at once, as
// a group of one: without load nothing waits. A call that finds every lane
// busy queues; when a group ends, the calls queued meanwhile (up to
// maxGroup) run together as the next group, on the goroutine of the first
// of them. No goroutine is started.
type coalescer[T any] struct {
	lanes, maxGroup int
	// run runs a group, setting each call's err. It must not fail a call
	// for another's fault unless it says so (see errShared).
	run func(ctx context.Context, group []*call[T])

	mu    sync.Mutex
	busy  int
	queue []*call[T]
}

// call is one caller's item in a coalescer.
type call[T any] struct {
	ctx  context.Context
	item T
	err  error
	// wake receives nil once the call has run, or the group that the call
	// is to run, itself first.
	wake chan []*call[T]
}

// do runs item, alone or in a group, and returns its error.
func (c *coalescer[T]) do(ctx context.Context, item T) error {
	cl := &call[T]{ctx: ctx, item: item}
	c.mu.Lock()
	if c.busy < c.lanes {
		c.busy++
		c.mu.Unlock()
		c.lead([]*call[T]{cl})
		return cl.err
	}
	cl.wake = make(chan []*call[T], 1)
	c.queue = append(c.queue, cl)
	c.mu.Unlock()
	if group := <-cl.wake; group != nil {
		c.lead(group)
	}
	return cl.err
}

// lead runs group (whose first call is the caller's own), answers the
// others, and hands the lane to the next queued group, or frees it. A
// panic in run fails the group's calls instead of stranding them.
func (c *coalescer[T]) lead(group []*call[T]) {
	defer func() {
		if p := recover(); p != nil {
			for _, cl := range group {
				cl.err = fmt.Errorf("postgres: panic: %v", p)
			}
		}
		c.handOff(group)
	}()
	// The group must not fail because its leader's client went away.
	c.run(context.WithoutCancel(group[0].ctx), group)
}

// handOff answers the calls of a group that has run, but its leader's,
// and gives the lane to the calls queued meanwhile, or frees it.
func (c *coalescer[T]) handOff(group []*call[T]) {
	c.mu.Lock()
	n := min(len(c.queue), c.maxGroup)
	next := c.queue[:n:n]
	c.queue = c.queue[n:]
	if n == 0 {
		c.busy--
		c.queue = nil // drop the drained backing array
	}
	c.mu.Unlock()
	for _, cl := range group[1:] {
		cl.wake <- nil
	}
	if n > 0 {
		next[0].wake <- next
	}
}
