//go:build unix

package sqlite

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapShared maps the first n bytes of f into memory, read-only and shared
// with every process that maps the file.
func mapShared(f *os.File, n int) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
}

// unmap undoes mapShared.
func unmap(mem []byte) error { return unix.Munmap(mem) }
