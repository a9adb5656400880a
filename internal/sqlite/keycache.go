package sqlite

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// keyMarker is how processes sharing a SQLite file tell each other that a
// key was revoked: a file beside the database holding a counter, which
// the revoking process increments after committing. Each process maps the
// file into memory, so reading the epoch of its userdata.KeyCache is one
// memory load, not a query nor even a system call.
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
	if mem, err := syscall.Mmap(int(f.Fd()), 0, markerSize, syscall.PROT_READ, syscall.MAP_SHARED); err == nil {
		m.mem = mem
	}
	return m
}

var uncached atomic.Int64

// epoch returns the counter.
func (m *keyMarker) epoch() int64 {
	if m.mem == nil {
		return uncached.Add(1) | 1<<62
	}
	return int64(atomic.LoadUint64((*uint64)(unsafe.Pointer(&m.mem[0]))))
}

// bump tells every process that a key changed: it increments the counter
// under an exclusive lock, as several processes may revoke at once.
func (m *keyMarker) bump() error {
	f, err := os.OpenFile(m.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
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

// close unmaps the marker.
func (m *keyMarker) close() error {
	if m.mem == nil {
		return nil
	}
	return syscall.Munmap(m.mem)
}
