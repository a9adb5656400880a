package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockServer takes the server lock of the database at path: an exclusive
// flock on path-lock, held as long as the returned file is open. It fails
// at once if another process holds it.
func lockServer(path string) (*os.File, error) {
	f, err := os.OpenFile(path+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: server lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlite: %s is in use by another tourd server (run several servers on PostgreSQL instead)", path)
		}
		return nil, fmt.Errorf("sqlite: server lock: %w", err)
	}
	return f, nil
}
