package sqlite

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"tourd/internal/userdata"
)

// stallLimit is how long a write may sit in one step (a statement, a
// commit, an fsync) before Ping reports the store stalled.
var stallLimit = 5 * time.Second

// fault translates an error leaving the store: a fault of the storage
// beneath, told by SQLite's result code, becomes userdata.Unavailable (the
// client may retry later); any other error is returned as it is. A
// corrupt database also makes Ping fail from then on (see health).
func (s *Store) fault(err error) error {
	var se *sqlite.Error
	if err == nil || userdata.ErrorCode(err) != userdata.CodeInternal || !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff { // the primary code: every extended IOERR_*, READONLY_*, … with it
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		if s.health.corrupt.CompareAndSwap(nil, &err) {
			s.log.Error("sqlite: the database is corrupt: /readyz answers 503 until a restart; "+
				"check it with tourd serve --check and restore it from a backup", "path", s.path, "err", err)
		}
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, // still so after the busy timeout
		sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
	default:
		return err
	}
	return userdata.Unavailable(err)
}

// health is what Ping reports besides whether a query answers.
type health struct {
	// broken is set by a failed fsync, for good (see Store.syncer).
	broken atomic.Pointer[error]
	// corrupt is the first corruption met, kept until a restart.
	corrupt atomic.Pointer[error]
	// writeFault is the storage fault of the last failed write, cleared
	// when a write commits and is synced.
	writeFault atomic.Pointer[error]
	// writing and syncing are when (on the clock since t0) the writer and
	// the syncer began their current step, or 0 when they are idle.
	t0               time.Time
	writing, syncing atomic.Int64
	// files are the database and its WAL as opened, to notice them
	// deleted or replaced; moved says whether that was logged.
	files []openedFile
	moved atomic.Bool
	// walChecked is when (on the clock since t0) a commit last checked
	// the WAL (see checkBeforeCommit).
	walChecked atomic.Int64
}

// openedFile is a file the store opened, with its identity.
type openedFile struct {
	path string
	info os.FileInfo
}

// begin marks the start of a step of the writer or the syncer.
func (h *health) begin(step *atomic.Int64) { step.Store(int64(time.Since(h.t0)) + 1) }

// end marks its end.
func (h *health) end(step *atomic.Int64) { step.Store(0) }

// stalled returns an error if a step began longer than stallLimit ago.
func (h *health) stalled() error {
	for _, st := range []struct {
		what  string
		since int64
	}{{"a write (a statement or a commit)", h.writing.Load()}, {"an fsync of the WAL", h.syncing.Load()}} {
		if st.since == 0 {
			continue
		}
		if d := time.Since(h.t0) - time.Duration(st.since-1); d > stallLimit {
			return fmt.Errorf("sqlite: %s has been stalled for %s", st.what, d.Round(time.Millisecond))
		}
	}
	return nil
}

// checkFiles returns an error, and logs it once, if the database (or,
// with wal, also its WAL) has been deleted or replaced since the store
// opened them: writes would go to files that no longer have a name, and be
// lost.
func (s *Store) checkFiles(wal bool) error {
	files := s.health.files
	if !wal {
		files = files[:1]
	}
	for _, f := range files {
		fi, err := os.Stat(f.path)
		if err == nil && os.SameFile(f.info, fi) {
			continue
		}
		err = userdata.Unavailable(fmt.Errorf("sqlite: %s was deleted or replaced after the server opened it", f.path))
		if s.health.moved.CompareAndSwap(false, true) {
			s.log.Error("sqlite: the database file was deleted or replaced while the server ran: writes and /readyz answer 503; "+
				"put the file back, or restart the server", "path", f.path)
		}
		return err
	}
	s.health.moved.Store(false)
	return nil
}

// walCheckEvery is how often a commit also checks the WAL (checkFiles).
// Every commit checks the database file; the WAL only this often, since
// a stat(2) of the WAL just before its commit makes the fsync that
// follows slower (about 70 µs of 170 on ext4, measured with go run
// ./bench), and with it every write.
const walCheckEvery = time.Second

// checkBeforeCommit is checkFiles as a commit runs it: the WAL too if
// walCheckEvery has passed since the last time.
func (s *Store) checkBeforeCommit() error {
	now := int64(time.Since(s.health.t0))
	wal := now-s.health.walChecked.Load() >= int64(walCheckEvery)
	if wal {
		s.health.walChecked.Store(now)
	}
	return s.checkFiles(wal)
}

// noteFault records, for Ping, that a write failed for a storage reason
// (err is one, as fault made it). The syncer clears it once a later write
// is committed and on disk.
func (h *health) noteFault(err error) {
	if userdata.ErrorCode(err) == userdata.CodeUnavailable {
		h.writeFault.Store(&err)
	}
}
