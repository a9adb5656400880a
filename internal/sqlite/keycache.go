package sqlite

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// maxKeyAge bounds how long a cached key (or token, or environment) lives
// even while the marker says nothing changed, as on PostgreSQL: if the
// marker file is lost (deleted, or replaced by a new one the server has
// not mapped), a revoked key is still refused within this time.
var maxKeyAge = 30 * time.Second

// keyMarker is how processes sharing a SQLite file tell each other that a
// key or a personal token was revoked, an environment changed or an
// attribute definition was deleted: a file beside the database holding a
// counter, which the revoking process increments after committing. Each
// process maps the file into memory, so reading the epoch of its caches
// (userdata.Cache: keys, tokens and environments; the writer's known
// definitions) is one memory load, not a query nor even a system call.
//
// The mapping lives as long as the marker: it is unmapped only once
// nothing can read it any more (a cleanup when the marker is garbage), not
// when the store closes, since requests still running then may read it.
type keyMarker struct {
	path string
	mem  []byte // the mapped counter; nil when mapping failed
}

// markerSize is the size of the counter.
const markerSize = 8

// openKeyMarker maps the marker at path, creating it if needed. When that
// fails the marker still works, and epoch then returns a fresh value each
// time, which disables the key cache.
func openKeyMarker(path string) *keyMarker {
	m := &keyMarker{path: path}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return m
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || (fi.Size() < markerSize && f.Truncate(markerSize) != nil) {
		return m
	}
	if mem, err := mapShared(f, markerSize); err == nil {
		m.mem = mem
		runtime.AddCleanup(m, func(mem []byte) { unmap(mem) }, mem)
	}
	return m
}

var uncached atomic.Int64

// epoch returns the counter.
func (m *keyMarker) epoch() int64 {
	if m.mem == nil {
		return uncached.Add(1) | 1<<62
	}
	e := int64(atomic.LoadUint64((*uint64)(unsafe.Pointer(&m.mem[0]))))
	runtime.KeepAlive(m) // the mapping stays until the load is done
	return e
}

// bump tells every process that a key changed: it increments the counter
// under an exclusive lock, as several processes may revoke at once.
func (m *keyMarker) bump() error {
	f, err := os.OpenFile(m.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	defer f.Close()
	if err := lockFile(f, true); err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	var b [markerSize]byte
	f.ReadAt(b[:], 0) // a short or empty file reads as zero
	binary.NativeEndian.PutUint64(b[:], binary.NativeEndian.Uint64(b[:])+1)
	if _, err := f.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	return nil
}
