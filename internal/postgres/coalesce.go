package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"tourd/internal/userdata"
)

// coalescer runs concurrent calls in groups, so that under load many calls
// share one round trip to the server (and, for writes, one commit). At most
// lanes groups run at once. A call that finds a lane free runs at once, as
// a group of one: without load nothing waits. A call that finds every lane
// busy queues (or, when maxQueue calls wait already, fails as unavailable);
// when a group ends, the calls queued meanwhile (up to maxGroup) run
// together as the next group, on the goroutine of the first of them. No
// goroutine is started.
//
// Every call is bounded by its context: a queued call whose context ends
// (its client went away, or its deadline passed) leaves the queue without
// running, and a group runs under the earliest deadline of the calls it
// runs, so that waiting for others never keeps a call past its own.
type coalescer[T any] struct {
	lanes, maxGroup, maxQueue int
	// run runs a group, setting each call's err. It must not fail a call
	// for another's fault unless it says so (see errShared).
	run func(ctx context.Context, group []*call[T])

	mu    sync.Mutex
	busy  int
	queue []*call[T]
}

// maxQueue is how many calls may wait in one coalescer (one for writes, one
// for reads, per store). Queued calls run maxGroup at a time, so 4096 is
// 64 rounds of groups behind the ones running: far more than a healthy
// database ever leaves waiting, yet a bound on the memory and goroutines a
// stalled database can pile up. A call beyond it fails at once as
// unavailable (503 with Retry-After), shedding load instead of waiting for
// its deadline.
const maxQueue = 4096

// errQueueFull is the cause of the error of a call that found the queue
// full.
var errQueueFull = errors.New("postgres: too many calls waiting for the database")

// call is one caller's item in a coalescer.
type call[T any] struct {
	ctx  context.Context
	item T
	err  error
	// wake receives nil once the call has been answered, or the group that
	// the call is to run, itself first.
	wake chan []*call[T]
}

// do runs item, alone or in a group, and returns its error: the context's
// error if it ended before item ran, and a CodeUnavailable error if the
// queue was full.
func (c *coalescer[T]) do(ctx context.Context, item T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cl := &call[T]{ctx: ctx, item: item}
	c.mu.Lock()
	if c.busy < c.lanes {
		c.busy++
		c.mu.Unlock()
		c.lead([]*call[T]{cl})
		return cl.err
	}
	if len(c.queue) >= c.maxQueue {
		c.mu.Unlock()
		return userdata.Unavailable(errQueueFull)
	}
	cl.wake = make(chan []*call[T], 1)
	c.queue = append(c.queue, cl)
	c.mu.Unlock()
	var group []*call[T]
	select {
	case group = <-cl.wake:
	case <-ctx.Done():
		if c.leave(cl) {
			return ctx.Err()
		}
		group = <-cl.wake // a group took it meanwhile
	}
	if group != nil {
		c.lead(group)
	}
	return cl.err
}

// leave takes a call out of the queue, and reports whether it was there.
func (c *coalescer[T]) leave(cl *call[T]) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.queue, cl)
	if i < 0 {
		return false
	}
	c.queue = slices.Delete(c.queue, i, i+1)
	return true
}

// lead runs the calls of group (whose first call is the caller's own)
// that are still wanted, answers the others, and hands the lane to the
// next queued group, or frees it. A panic in run fails the group's calls
// instead of stranding them.
func (c *coalescer[T]) lead(group []*call[T]) {
	defer func() {
		if p := recover(); p != nil {
			for _, cl := range group {
				cl.err = fmt.Errorf("postgres: panic: %v", p)
			}
		}
		c.handOff(group)
	}()
	live, deadline := wanted(group)
	if len(live) == 0 {
		return
	}
	// The group must not fail because its leader's client went away.
	ctx := context.WithoutCancel(group[0].ctx)
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	c.run(ctx, live)
}

// wanted returns the calls of group whose context has not ended, and the
// earliest of their deadlines (zero if none has one). The others are
// answered with their context's error.
func wanted[T any](group []*call[T]) (live []*call[T], deadline time.Time) {
	live = make([]*call[T], 0, len(group))
	for _, cl := range group {
		if cl.err = cl.ctx.Err(); cl.err != nil {
			continue
		}
		live = append(live, cl)
		if d, ok := cl.ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
	}
	return live, deadline
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
