package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCoalescerGroups holds the only lane busy while calls queue, and
// checks that the queued calls then run as groups of at most maxGroup, in
// the order they queued, each answered with its own error.
func TestCoalescerGroups(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var groups [][]int
	c := &coalescer[int]{lanes: 1, maxGroup: 4}
	c.run = func(_ context.Context, g []*call[int]) {
		items := make([]int, len(g))
		for i, cl := range g {
			items[i] = cl.item
			if cl.item%3 == 0 {
				cl.err = fmt.Errorf("item %d", cl.item)
			}
		}
		mu.Lock()
		groups = append(groups, items)
		mu.Unlock()
		if items[0] == 100 {
			<-release // the first call keeps the lane
		}
	}
	errs := make([]error, 101)
	var wg sync.WaitGroup
	wg.Go(func() { errs[100] = c.do(t.Context(), 100) })
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(groups) == 1 })
	for i := range 10 {
		wg.Go(func() { errs[i] = c.do(t.Context(), i) })
		waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == i+1 })
	}
	close(release)
	wg.Wait()
	want := [][]int{{100}, {0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}
	if !slices.EqualFunc(groups, want, slices.Equal) {
		t.Errorf("groups %v, want %v", groups, want)
	}
	for i := range 10 {
		if wantErr := i%3 == 0; (errs[i] != nil) != wantErr || wantErr && errs[i].Error() != fmt.Sprintf("item %d", i) {
			t.Errorf("call %d: error %v", i, errs[i])
		}
	}
	if c.busy != 0 || len(c.queue) != 0 {
		t.Errorf("after the calls: %d lanes busy, %d calls queued", c.busy, len(c.queue))
	}
}

// TestCoalescerConcurrent runs many concurrent calls through two lanes and
// checks that every call runs exactly once and hears its own outcome.
func TestCoalescerConcurrent(t *testing.T) {
	var mu sync.Mutex
	runs := map[int]int{}
	c := &coalescer[int]{lanes: 2, maxGroup: 8}
	c.run = func(_ context.Context, g []*call[int]) {
		mu.Lock()
		defer mu.Unlock()
		for _, cl := range g {
			runs[cl.item]++
			cl.err = fmt.Errorf("%d", cl.item)
		}
	}
	var wg sync.WaitGroup
	bad := make(chan error, 1)
	for w := range 32 {
		wg.Go(func() {
			for i := range 200 {
				item := w*1000 + i
				if err := c.do(t.Context(), item); err == nil || err.Error() != fmt.Sprint(item) {
					select {
					case bad <- fmt.Errorf("call %d: error %v", item, err):
					default:
					}
				}
			}
		})
	}
	wg.Wait()
	close(bad)
	if err := <-bad; err != nil {
		t.Error(err)
	}
	if len(runs) != 32*200 {
		t.Errorf("%d distinct calls ran, want %d", len(runs), 32*200)
	}
	for item, n := range runs {
		if n != 1 {
			t.Errorf("call %d ran %d times", item, n)
		}
	}
	if c.busy != 0 || len(c.queue) != 0 {
		t.Errorf("after the calls: %d lanes busy, %d calls queued", c.busy, len(c.queue))
	}
}

// TestCoalescerLeaderContext checks that a group does not fail because
// the client of the call leading it has gone.
func TestCoalescerLeaderContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c := &coalescer[int]{lanes: 1, maxGroup: 4}
	c.run = func(ctx context.Context, g []*call[int]) { g[0].err = ctx.Err() }
	if err := c.do(ctx, 1); errors.Is(err, context.Canceled) {
		t.Errorf("the group ran with its leader's cancelled context: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached in 10s")
}

// TestCoalescerPanic checks that a panic while a group runs fails that
// group's calls and frees the lane for later calls.
func TestCoalescerPanic(t *testing.T) {
	c := &coalescer[int]{lanes: 1, maxGroup: 4}
	c.run = func(_ context.Context, g []*call[int]) {
		if g[0].item == 1 {
			panic("boom")
		}
	}
	if err := c.do(t.Context(), 1); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("call in a panicking group: error %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.do(t.Context(), 2) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("call after the panic: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lane was not freed after the panic")
	}
}
