package userdata_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"tourd/internal/userdata"
)

// fakePurge is an in-memory store of deleted environments and their rows.
type fakePurge struct {
	mu      sync.Mutex
	deleted map[string]time.Time
	rows    map[string]int64
	fail    int // how many calls fail, from now on
	batches int
}

func (f *fakePurge) steps() userdata.PurgeSteps {
	return userdata.PurgeSteps{
		Pending: func(context.Context) ([]userdata.DeletedEnvironment, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out []userdata.DeletedEnvironment
			for id, at := range f.deleted {
				out = append(out, userdata.DeletedEnvironment{ID: id, DeletedAt: at})
			}
			return out, nil
		},
		Batch: func(_ context.Context, id string) (int64, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.fail > 0 {
				f.fail--
				return 0, errors.New("storage fault")
			}
			f.batches++
			n := min(f.rows[id], userdata.PurgeBatch)
			f.rows[id] -= n
			return n, nil
		},
		Finish: func(_ context.Context, id string) (bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.rows[id] > 0 {
				return false, nil
			}
			delete(f.deleted, id)
			return true, nil
		},
	}
}

// left returns how many rows of the environment are left, and how many
// batches ran.
func (f *fakePurge) left(id string) (rows int64, batches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows[id], f.batches
}

func (f *fakePurge) delete(id string, rows int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted[id], f.rows[id] = at, rows
}

func first[T, U any](v T, _ U) T { return v }

// A purger removes pending rows in batches, when it starts and when
// kicked; finishes an environment only once its grace is over; tries
// again after a failure; and stops at once.
func TestPurger(t *testing.T) {
	f := &fakePurge{deleted: map[string]time.Time{}, rows: map[string]int64{}}
	f.delete("old", 1200, time.Now().Add(-time.Hour))
	const grace = 300 * time.Millisecond
	p := userdata.NewPurger(f.steps(), grace, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Start()
	defer p.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Await(ctx); err != nil {
		t.Fatal(err)
	}
	if _, batches := f.left("old"); batches != 4 { // 500, 500, 200, then none left
		t.Errorf("%d batches for 1,200 rows, want 4", batches)
	}

	deleted := time.Now()
	f.delete("new", 10, deleted)
	p.Kick()
	time.Sleep(grace / 3)
	f.mu.Lock()
	rows, pending := f.rows["new"], f.deleted["new"]
	f.rows["new"] = 3 // written meanwhile, by a request authenticated before
	f.mu.Unlock()
	if rows != 0 || pending.IsZero() {
		t.Errorf("a third into the grace: %d rows left, pending %t; want 0 rows, pending", rows, !pending.IsZero())
	}
	if err := p.Await(ctx); err != nil {
		t.Fatal(err)
	}
	if d, left := time.Since(deleted), first(f.left("new")); d < grace || left != 0 {
		t.Errorf("done %v after the deletion with %d rows left; want after the grace of %v, none left", d, left, grace)
	}

	f.mu.Lock()
	f.fail = 2
	f.mu.Unlock()
	f.delete("failing", 10, time.Now().Add(-time.Hour))
	t0 := time.Now()
	p.Kick()
	if err := p.Await(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 3*time.Second { // 1 s, then 2 s
		t.Errorf("done %v after two failures, want after 3 s of retries", d)
	}

	f.delete("late", 10, time.Now())
	t0 = time.Now()
	p.Kick()
	p.Stop()
	if d := time.Since(t0); d > grace/2 {
		t.Errorf("Stop took %v during a grace", d)
	}
}
