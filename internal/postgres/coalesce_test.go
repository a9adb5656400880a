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

	"tourd/internal/userdata"
)

// TestCoalescerGroups holds the only lane busy while calls queue, and
// checks that the queued calls then run as groups of at most maxGroup, in
// the order they queued, each answered with its own error.
func TestCoalescerGroups(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var groups [][]int
	c := &coalescer[int]{lanes: 1, maxGroup: 4, maxQueue: maxQueue}
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
	c := &coalescer[int]{lanes: 2, maxGroup: 8, maxQueue: maxQueue}
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
// the client of the call leading it goes away while it runs.
func TestCoalescerLeaderContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	c := &coalescer[int]{lanes: 1, maxGroup: 4, maxQueue: maxQueue}
	c.run = func(ctx context.Context, g []*call[int]) {
		cancel()
		g[0].err = ctx.Err()
	}
	if err := c.do(ctx, 1); err != nil {
		t.Errorf("the group ran with its leader's cancelled context: %v", err)
	}
}

// holdLane returns a coalescer with one lane, which a call holds until
// release is closed, and the items that ran, in order.
func holdLane(t *testing.T, maxQueue int) (c *coalescer[int], ran func() []int, release func()) {
	t.Helper()
	var mu sync.Mutex
	var items []int
	hold := make(chan struct{})
	c = &coalescer[int]{lanes: 1, maxGroup: 4, maxQueue: maxQueue}
	c.run = func(_ context.Context, g []*call[int]) {
		mu.Lock()
		for _, cl := range g {
			items = append(items, cl.item)
		}
		mu.Unlock()
		if g[0].item == 0 {
			<-hold
		}
	}
	done := make(chan error, 1)
	go func() { done <- c.do(context.Background(), 0) }()
	ran = func() []int { mu.Lock(); defer mu.Unlock(); return slices.Clone(items) }
	waitFor(t, func() bool { return len(ran()) == 1 })
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(hold)
			if err := <-done; err != nil {
				t.Errorf("the call holding the lane: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return c, ran, release
}

// queued waits until n calls wait in c's queue.
func queued(t *testing.T, c *coalescer[int], n int) {
	t.Helper()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == n })
}

// TestCoalescerQueueBound fills the queue while the only lane is busy and
// checks that one more call fails at once as unavailable, while the queued
// calls still run.
func TestCoalescerQueueBound(t *testing.T) {
	c, ran, release := holdLane(t, 3)
	errs := make(chan error, 4)
	for i := 1; i <= 3; i++ {
		go func() { errs <- c.do(t.Context(), i) }()
		queued(t, c, i)
	}
	go func() { errs <- c.do(t.Context(), 4) }()
	select {
	case err := <-errs:
		if userdata.ErrorCode(err) != userdata.CodeUnavailable || !errors.Is(err, errQueueFull) {
			t.Errorf("a call beyond the queue's bound: error %v, want CodeUnavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call beyond the queue's bound waited for a lane")
	}
	release()
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("a queued call: %v", err)
		}
	}
	if got, want := ran(), []int{0, 1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
}

// TestCoalescerLeaveQueue checks that a queued call whose deadline passes,
// or whose client goes away, leaves the queue at once with its context's
// error, and never runs, while the others queued with it do.
func TestCoalescerLeaveQueue(t *testing.T) {
	c, ran, release := holdLane(t, maxQueue)
	short, cancelShort := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancelShort()
	gone, leave := context.WithCancel(t.Context())
	errs := make([]chan error, 4)
	for i, ctx := range []context.Context{t.Context(), short, gone, t.Context()} {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- c.do(ctx, i+1) }()
		queued(t, c, i+1)
	}
	leave()
	for i, want := range map[int]error{1: context.DeadlineExceeded, 2: context.Canceled} {
		select {
		case err := <-errs[i]:
			if !errors.Is(err, want) {
				t.Errorf("call %d: error %v, want %v", i+1, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("call %d stayed queued after its context ended", i+1)
		}
	}
	queued(t, c, 2)
	release()
	for _, i := range []int{0, 3} {
		if err := <-errs[i]; err != nil {
			t.Errorf("call %d: %v", i+1, err)
		}
	}
	if got, want := ran(), []int{0, 1, 4}; !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
}

// TestCoalescerGroupDeadline checks that a group runs under the earliest
// deadline of its calls, that calls whose context ended before the group
// ran are answered with its error and left out, and that a group of calls
// without deadlines has none.
func TestCoalescerGroupDeadline(t *testing.T) {
	var gotDeadline time.Time
	var hasDeadline bool
	var ran []int
	c := &coalescer[int]{lanes: 1, maxGroup: 4, maxQueue: maxQueue}
	c.run = func(ctx context.Context, g []*call[int]) {
		gotDeadline, hasDeadline = ctx.Deadline()
		for _, cl := range g {
			ran = append(ran, cl.item)
		}
	}
	soon := time.Now().Add(time.Hour)
	ctxSoon, cancel1 := context.WithDeadline(t.Context(), soon)
	defer cancel1()
	ctxLate, cancel2 := context.WithDeadline(t.Context(), soon.Add(time.Hour))
	defer cancel2()
	ctxGone, cancel3 := context.WithDeadline(t.Context(), soon.Add(-30*time.Minute))
	cancel3()
	group := []*call[int]{
		{ctx: ctxLate, item: 1},
		{ctx: ctxGone, item: 2, wake: make(chan []*call[int], 1)},
		{ctx: ctxSoon, item: 3, wake: make(chan []*call[int], 1)},
		{ctx: t.Context(), item: 4, wake: make(chan []*call[int], 1)},
	}
	c.busy = 1
	c.lead(group)
	if !hasDeadline || !gotDeadline.Equal(soon) {
		t.Errorf("the group ran with deadline %v (set: %v), want %v", gotDeadline, hasDeadline, soon)
	}
	if want := []int{1, 3, 4}; !slices.Equal(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}
	if !errors.Is(group[1].err, context.Canceled) {
		t.Errorf("the call whose context ended: error %v", group[1].err)
	}
	if err := c.do(t.Context(), 5); err != nil || hasDeadline {
		t.Errorf("a call without deadline: error %v, group deadline set: %v", err, hasDeadline)
	}
	if c.busy != 0 {
		t.Errorf("%d lanes busy after the calls", c.busy)
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
	c := &coalescer[int]{lanes: 1, maxGroup: 4, maxQueue: maxQueue}
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
