package sqlite

import (
	"fmt"
	"os"
)

// keyMarker is how processes sharing a SQLite file tell each other that a
// key was revoked: the revoking process appends a byte to a marker file
// beside the database after committing, and the marker's size is the
// epoch of every process's userdata.KeyCache. Reading it costs a stat(2)
// instead of a query.
type keyMarker string

// epoch returns the marker's size, -1 when it does not exist.
func (m keyMarker) epoch() int64 {
	fi, err := os.Stat(string(m))
	if err != nil {
		return -1
	}
	return fi.Size()
}

// bump tells every process that a key changed.
func (m keyMarker) bump() error {
	f, err := os.OpenFile(string(m), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	_, err = f.Write([]byte{'\n'})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlite: signal key change: %w", err)
	}
	return nil
}
