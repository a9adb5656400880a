package sqlite_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"tourd/internal/sqlite"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// open returns a store on a new SQLite file in a temporary directory.
func open(t *testing.T) userdata.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tourd.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, open)
}
