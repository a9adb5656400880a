package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/sqlite"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

func TestPurgeResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tourd.db")
	storetest.PurgeResumes(t, func() userdata.Store { return backendtest.OpenSQLite(t, path) }, func(envID string) {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("UPDATE environments SET deleted_at = 1 WHERE id = ?", envID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPurgeGrace(t *testing.T) {
	const grace = time.Second
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tourd.db"), backendtest.Discard,
		sqlite.Options{Exclusive: true, Create: true, PurgeGrace: grace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.PurgeGrace(t, s, grace)
}
