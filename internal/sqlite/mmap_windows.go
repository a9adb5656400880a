package sqlite

import (
	"errors"
	"os"
)

// mapShared is not implemented on Windows: the key marker then reads as a
// new epoch on every request, which turns the key cache off.
func mapShared(*os.File, int) ([]byte, error) {
	return nil, errors.New("sqlite: shared mappings are not implemented on Windows")
}

// unmap undoes mapShared.
func unmap([]byte) error { return nil }
