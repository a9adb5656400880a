//go:build !linux

package sqlite

import "os"

// syncData makes what was written to f durable, with the nearest call to
// Linux's fdatasync that the platform has, which is what (*os.File).Sync
// makes: fcntl(F_FULLFSYNC) on macOS (a plain fsync there leaves the data
// in the drive's cache), FlushFileBuffers on Windows, fsync elsewhere.
func syncData(f *os.File) error { return f.Sync() }
