package userdata

import (
	"context"
	"log/slog"
	"time"
)

// PurgeBatch bounds the rows one transaction of a purge removes (see
// PurgeSteps.Batch).
const PurgeBatch = 500

// DefaultPurgeGrace is how long after an environment's deletion its purge
// looks for its rows once more before it is done: a request authenticated
// before the deletion (its key cached, on any process, for at most the
// caches' 30 s) may still write a row then. A minute also outlasts the
// requests in flight.
const DefaultPurgeGrace = time.Minute

// DeletedEnvironment is an environment marked deleted whose rows are not
// all removed yet.
type DeletedEnvironment struct {
	ID        string
	DeletedAt time.Time
}

// PurgeSteps are what a backend does for a Purger.
type PurgeSteps struct {
	// Pending lists the deleted environments not yet purged.
	Pending func(ctx context.Context) ([]DeletedEnvironment, error)
	// Batch removes up to about PurgeBatch rows of the environment (users,
	// companies, memberships, events, keys, …) in one short transaction of
	// the store's ordinary write path, and returns how many it removed: 0
	// once none is left. Concurrent calls, by any process, must not
	// conflict.
	Batch func(ctx context.Context, envID string) (int64, error)
	// Finish marks the environment purged, unless rows of it are left; it
	// reports whether the environment is purged now (by this call or
	// another).
	Finish func(ctx context.Context, envID string) (bool, error)
}

// Purger removes the rows of deleted environments in the background, in
// bounded batches, so that other writers are never held up for long. It
// purges what it finds pending when it starts (resuming a purge a stopped
// process left) and whenever it is kicked. An environment is done once its
// rows are gone and its deletion is grace old (see DefaultPurgeGrace).
type Purger struct {
	steps PurgeSteps
	grace time.Duration
	now   func() time.Time
	log   *slog.Logger
	kick  chan struct{}
	stop  context.CancelFunc
	done  chan struct{}
}

// NewPurger returns a purger of steps, stopped; grace 0 means
// DefaultPurgeGrace, and now is the clock deletions are stamped with.
func NewPurger(steps PurgeSteps, grace time.Duration, now func() time.Time, log *slog.Logger) *Purger {
	if grace <= 0 {
		grace = DefaultPurgeGrace
	}
	return &Purger{steps: steps, grace: grace, now: now, log: log, kick: make(chan struct{}, 1)}
}

// Start starts purging in a goroutine of its own, until Stop.
func (p *Purger) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop, p.done = cancel, make(chan struct{})
	go p.run(ctx)
}

// Stop stops a started purger and waits for it to return. The batch it
// was removing is committed or rolled back whole.
func (p *Purger) Stop() {
	if p.stop != nil {
		p.stop()
		<-p.done
	}
}

// Kick makes a started purger look for pending environments now (or as
// soon as its current pass ends).
func (p *Purger) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Await waits until no deleted environment awaits its purge, whoever
// purges it, or ctx ends.
func (p *Purger) Await(ctx context.Context) error {
	for {
		pending, err := p.steps.Pending(ctx)
		if err != nil || len(pending) == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// maxPurgeRetry bounds the pause before a failed pass is tried again.
const maxPurgeRetry = time.Minute

func (p *Purger) run(ctx context.Context) {
	defer close(p.done)
	var retry time.Duration
	for {
		wait, err := p.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			retry = min(max(2*retry, time.Second), maxPurgeRetry)
			p.log.Warn("purging deleted environments failed; trying again later", "retry_in", retry.String(), "err", err)
			wait = retry
		} else {
			retry = 0
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-p.kick:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// pass purges every pending environment and returns how long until the
// first of them still in its grace is due (0 when none is).
func (p *Purger) pass(ctx context.Context) (time.Duration, error) {
	pending, err := p.steps.Pending(ctx)
	if err != nil {
		return 0, err
	}
	var wait time.Duration
	for _, env := range pending {
		left, err := p.purge(ctx, env)
		if err != nil {
			return 0, err
		}
		if left > 0 && (wait == 0 || left < wait) {
			wait = left
		}
	}
	return wait, nil
}

// purge removes the environment's rows and finishes it, or returns how
// long its grace has left.
func (p *Purger) purge(ctx context.Context, env DeletedEnvironment) (time.Duration, error) {
	t0 := time.Now()
	var rows int64
	for {
		n, err := p.steps.Batch(ctx, env.ID)
		if err != nil {
			return 0, err
		}
		rows += n
		if n > 0 {
			continue
		}
		if left := env.DeletedAt.Add(p.grace).Sub(p.now()); left > 0 {
			if rows > 0 {
				p.log.Info("removed the rows of a deleted environment", "environment_id", env.ID, "rows", rows, "dur_ms", time.Since(t0).Milliseconds())
			}
			return left, nil
		}
		done, err := p.steps.Finish(ctx, env.ID)
		if err != nil {
			return 0, err
		}
		if done {
			p.log.Info("purged a deleted environment", "environment_id", env.ID, "rows", rows, "dur_ms", time.Since(t0).Milliseconds())
			return 0, nil
		}
		// Rows are left that Batch did not find: written meanwhile, or
		// being removed by another process.
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
