package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tourd/internal/userdata"
)

// errClosed is returned for writes submitted after Close: a server
// shutting down is unavailable.
var errClosed = userdata.Unavailable(errors.New("sqlite: store is closed"))

// job is one write waiting for the writer.
type job struct {
	ctx  context.Context
	fn   func(w *wtx) error
	done chan error
	w    wtx
}

// wtx is what a write function sees: the shared transaction, the write's
// timestamp, and the definitions it created (cached once committed) and
// deleted.
type wtx struct {
	ctx      context.Context
	q        *stmts
	now      time.Time
	s        *Store
	newDefs  []defKey
	goneDefs []defKey
	touched  []rowKey // rows written, for the row cache
	changed  bool     // a statement of the write changed a row
	changes  []any    // the rows of the changes it recorded, for insertChanges
}

// exec runs a statement of the write, noting whether it changed a row.
func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	res, err := w.q.ExecContext(w.ctx, query, args...)
	if err == nil {
		if n, nerr := res.RowsAffected(); nerr != nil || n > 0 {
			w.changed = true
		}
	}
	return res, err
}

// write runs fn in the writer's transaction and returns once that
// transaction has committed (or fn failed and its part was rolled back).
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.submit(ctx, fn)()
}

// submit queues fn for the writer and returns a function that waits for
// its outcome. Writes submitted by one goroutine run in the order it
// submitted them (the writer takes them first in, first out), so a caller
// may queue many before waiting for any.
func (s *Store) submit(ctx context.Context, fn func(w *wtx) error) (wait func() error) {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return func() error { return errClosed }
	}
	select {
	case s.jobs <- j:
		return func() error { return <-j.done }
	case <-ctx.Done():
		return ctx.Err
	}
}

// writer runs every write, in one transaction at a time. It commits when
// the syncer is idle: while the syncer fsyncs one commit, the writes
// arriving meanwhile run in the next transaction, and commit together as
// soon as the fsync ends (group commit). Commits only write the WAL; no
// write is acknowledged before the syncer has it on disk.
//
// Writes share the transaction without savepoints, which would cost two
// statements each. A write that fails having changed nothing (a domain
// error such as a missing row) leaves the transaction as it was: SQLite
// undoes a failed statement by itself. A write that fails otherwise is
// undone with the whole transaction, whose other writes then run again.
func (s *Store) writer() {
	idle := make(chan struct{}, 1) // the syncer finished a commit
	go s.syncer(idle)
	t := &batchTx{s: s}
	closed, syncing := false, false
	for !closed || t.open || syncing {
		var jobs <-chan *job
		if !closed && len(t.ok) < maxBatch {
			jobs = s.jobs
		}
		var wait <-chan struct{}
		if syncing {
			wait = idle
		}
		select {
		case j, ok := <-jobs:
			s.health.begin(&s.health.writing)
			if !ok {
				closed = true
				break
			}
			t.run(j)
			t.drain(s.jobs)
		case <-wait:
			s.health.begin(&s.health.writing)
			syncing = false
		}
		if t.open && !syncing {
			syncing = t.commit()
		}
		s.health.end(&s.health.writing)
	}
	close(s.toSync)
	<-idle // the syncer has exited
	close(s.stopped)
}

// batchTx is the writer's open transaction and the writes it holds.
type batchTx struct {
	s    *Store
	open bool
	ok   []*job // writes that succeeded, waiting for the commit
}

// drain runs the writes already queued, without waiting for more.
func (t *batchTx) drain(jobs <-chan *job) {
	for len(t.ok) < maxBatch {
		select {
		case j, ok := <-jobs:
			if !ok {
				return
			}
			t.run(j)
		default:
			return
		}
	}
}

// run runs one write in the transaction, opening it if needed. A write
// that fails is answered at once. No write begins once an fsync has
// failed.
func (t *batchTx) run(j *job) {
	s := t.s
	if err := j.ctx.Err(); err != nil {
		t.answer(j, err)
		return
	}
	ctx := context.Background() // a leaving client must not abort the others' writes
	if !t.open {
		if err := s.syncFailed(); err != nil {
			t.answer(j, err)
			return
		}
		if _, err := s.w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.answer(j, fmt.Errorf("sqlite: begin: %w", err))
			return
		}
		t.open = true
		// Another process may have deleted definitions this one knows:
		// it moves the key marker once it has.
		if e := s.marker.epoch(); e != s.defsEpoch {
			clear(s.defs)
			s.defsEpoch = e
		}
	}
	j.w = wtx{ctx: ctx, q: s.w, now: s.Now().UTC().Truncate(time.Microsecond), s: s}
	err := runJob(j)
	if err == nil {
		t.ok = append(t.ok, j)
		return
	}
	j.w.forget()
	// A domain error (a missing row, say) from a write that changed nothing
	// leaves the transaction as it was; anything else, a storage fault
	// above all, may not have.
	var de *userdata.Error
	if j.w.changed || !errors.As(err, &de) || de.Code == userdata.CodeUnavailable || len(t.ok) == 0 {
		t.redo()
	}
	t.answer(j, err)
}

// answer tells a write's caller how it ended (an error; success is the
// syncer's to tell), with storage faults translated (see fault).
func (t *batchTx) answer(j *job, err error) {
	err = t.s.fault(err)
	t.s.health.noteFault(err)
	j.done <- err
}

// redo rolls the transaction back and runs its successful writes again,
// in a new one.
func (t *batchTx) redo() {
	ok := t.ok
	t.ok = nil
	t.rollback()
	for _, j := range ok {
		t.run(j)
	}
}

// rollback ends the transaction, dropping what it wrote from the caches.
func (t *batchTx) rollback() {
	s := t.s
	if _, err := s.w.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		s.log.Error("sqlite: rollback failed", "err", err)
	}
	t.open = false
	if s.rows != nil {
		for k := range s.batch {
			s.batch[k] = nil // unknown: the cache drops it
		}
		s.rows.apply(s.batch)
		clear(s.batch)
	}
}

// syncBatch is a committed batch of writes waiting for its fsync, with the
// storage fault of an earlier write that its success clears.
type syncBatch struct {
	jobs  []*job
	fault *error
}

// commit commits the transaction, publishes what it wrote to the caches,
// and hands its writes to the syncer. It reports whether it did. It rolls
// back instead when an fsync has failed (the transaction began before),
// or when the database's files were deleted or replaced under it: what
// they would commit would be lost.
func (t *batchTx) commit() bool {
	s := t.s
	ok := t.ok
	err := s.syncFailed()
	if err == nil {
		err = s.checkBeforeCommit()
	}
	if err != nil {
		t.ok = nil
		t.rollback()
		for _, j := range ok {
			t.answer(j, err)
		}
		return false
	}
	if err := t.insertChanges(ok); err != nil {
		t.ok = nil
		t.rollback()
		for _, j := range ok {
			t.answer(j, fmt.Errorf("sqlite: record changes: %w", err))
		}
		return false
	}
	t.ok, t.open = nil, false
	_, err = s.w.ExecContext(context.Background(), "COMMIT")
	if s.rows != nil {
		if err == nil {
			s.rows.apply(s.batch)
		}
		clear(s.batch)
	}
	if err != nil {
		_, rerr := s.w.ExecContext(context.Background(), "ROLLBACK")
		for _, j := range ok {
			t.answer(j, fmt.Errorf("sqlite: commit: %w", errors.Join(err, rerr)))
		}
		return false
	}
	if len(s.defs) > userdata.MaxCachedDefinitions {
		clear(s.defs)
	}
	for _, j := range ok { // in order: a definition deleted after it was created is gone
		for _, k := range j.w.newDefs {
			s.defs[k] = struct{}{}
		}
		for _, k := range j.w.goneDefs {
			delete(s.defs, k)
		}
	}
	s.toSync <- syncBatch{ok, s.health.writeFault.Load()}
	return true
}

// syncer makes each commit durable, fsyncing the WAL, and then
// acknowledges its writes. Readers may see a commit before its fsync ends;
// its writers hear of it after. It signals idle after each commit, and
// once more when it exits.
//
// A failed fsync leaves the WAL's state on disk unknown (Linux may even
// mark the unwritten pages clean), so a later fsync's success would prove
// nothing: from the first failure on, no write is acknowledged, none
// begins (the open transaction is rolled back), and the store reports
// itself broken (Ping), until the server restarts and SQLite recovers the
// WAL from what is on disk.
func (s *Store) syncer(idle chan<- struct{}) {
	defer func() { idle <- struct{}{} }()
	for b := range s.toSync {
		err := s.syncFailed()
		if err == nil {
			s.health.begin(&s.health.syncing)
			err = syncWAL(s.wal)
			s.health.end(&s.health.syncing)
			if err != nil {
				s.log.Error("sqlite: fsync of the WAL failed: no write is accepted any more; restart the server", "path", s.path, "err", err)
				err = userdata.Unavailable(fmt.Errorf("sqlite: sync: %w", err))
				s.health.broken.Store(&err)
			}
		}
		if err == nil {
			s.health.writeFault.CompareAndSwap(b.fault, nil)
		} else {
			s.health.noteFault(err)
		}
		recorded := false
		for _, j := range b.jobs {
			recorded = recorded || len(j.w.changes) > 0
			j.done <- err
		}
		if err == nil && recorded {
			s.changes.Notify()
		}
		idle <- struct{}{}
	}
}

// syncWAL is syncData; tests replace it to inject a failure or a stall.
var syncWAL = syncData

// syncFailed returns the error of the fsync that failed, if one did.
func (s *Store) syncFailed() error {
	if err := s.health.broken.Load(); err != nil {
		return *err
	}
	return nil
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
