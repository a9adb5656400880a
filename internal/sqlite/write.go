package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("sqlite: store is closed")

// job is one write waiting for the writer.
type job struct {
	ctx  context.Context
	fn   func(w *wtx) error
	done chan error
	w    wtx
}

// wtx is what a write function sees: the shared transaction, the write's
// timestamp, and the definitions it created (cached once committed).
type wtx struct {
	ctx     context.Context
	q       *stmts
	now     time.Time
	s       *Store
	newDefs []defKey
	touched []rowKey // rows written, for the row cache
}

// write runs fn in the writer's transaction and returns once that
// transaction has committed (or fn failed and its part was rolled back).
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	return <-j.done
}

// writer takes queued writes in batches and commits each batch as one
// transaction, every write inside its own savepoint so that one failing
// write leaves the others intact. One fsync then acknowledges the batch.
func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*job, 0, maxBatch)
	for j := range s.jobs {
		batch = append(batch[:0], j)
	drain:
		for len(batch) < maxBatch {
			select {
			case j, ok := <-s.jobs:
				if !ok {
					break drain
				}
				batch = append(batch, j)
			default:
				break drain
			}
		}
		s.commitBatch(batch)
	}
}

func (s *Store) commitBatch(batch []*job) {
	ctx := context.Background() // a leaving client must not abort the others' transaction
	if _, err := s.w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		for _, j := range batch {
			j.done <- fmt.Errorf("sqlite: begin: %w", err)
		}
		return
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	ok := make([]*job, 0, len(batch))
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- err
			continue
		}
		j.w = wtx{ctx: ctx, q: s.w, now: now, s: s}
		run := runJob
		if len(batch) > 1 { // alone, a failed write rolls back the whole transaction
			run = s.runInSavepoint
		}
		if err := run(j); err != nil {
			j.w.forget()
			j.done <- err
			continue
		}
		ok = append(ok, j)
	}
	end := "COMMIT"
	if len(ok) == 0 {
		end = "ROLLBACK"
	}
	_, err := s.w.ExecContext(ctx, end)
	if s.rows != nil {
		if err == nil {
			s.rows.apply(s.batch)
		}
		clear(s.batch)
	}
	if err != nil {
		_, rerr := s.w.ExecContext(ctx, "ROLLBACK")
		for _, j := range ok {
			j.done <- fmt.Errorf("sqlite: commit: %w", errors.Join(err, rerr))
		}
		return
	}
	for _, j := range ok {
		for _, k := range j.w.newDefs {
			s.defs[k] = struct{}{}
		}
		j.done <- nil
	}
}

// runInSavepoint runs one job; on failure everything it wrote is undone.
func (s *Store) runInSavepoint(j *job) error {
	ctx := j.w.ctx
	if _, err := j.w.q.ExecContext(ctx, "SAVEPOINT job"); err != nil {
		return err
	}
	err := runJob(j)
	if err != nil {
		if _, rerr := j.w.q.ExecContext(ctx, "ROLLBACK TO job"); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if _, rerr := j.w.q.ExecContext(ctx, "RELEASE job"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// runJob runs a job's function, turning a panic into an error so that one
// bad write cannot stop the writer.
func runJob(j *job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", r)
		}
	}()
	return j.fn(&j.w)
}
