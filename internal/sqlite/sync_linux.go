package sqlite

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes what was written to f durable: fdatasync(2), which skips
// the timestamps that fsync(2) would also write.
func syncData(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
