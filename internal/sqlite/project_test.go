package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// openWithSQL opens a store on a new file and a plain connection to the
// same file, to change it behind the store's back.
func openWithSQL(t *testing.T) (*Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tourd.db")
	s := openExclusive(t, path)
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s, db
}

func markDeleted(t *testing.T, db *sql.DB) func(envID string) {
	return func(envID string) {
		if _, err := db.Exec("UPDATE environments SET deleted_at = 1 WHERE id = ?", envID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeletedEnvironment(t *testing.T) {
	s, db := openWithSQL(t)
	storetest.DeletedEnvironment(t, s, markDeleted(t, db))
}

// Environment answers from the cache until the key marker moves (here, a
// revocation): a change made behind the store's back is not seen before.
func TestEnvironmentCache(t *testing.T) {
	s, db := openWithSQL(t)
	ctx := t.Context()
	p, err := s.CreateProject(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	env := p.Environments[0]
	if _, err := s.Environment(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	markDeleted(t, db)(env.ID)
	if _, err := s.Environment(ctx, env.ID); err != nil {
		t.Fatalf("Environment after a change behind the store's back: %v, want the cached environment", err)
	}
	_, hash, prefix := userdata.NewKey()
	if _, err := s.CreateKey(ctx, "q", "e", hash, prefix); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Environment(ctx, env.ID); !userdata.IsNotFound(err, userdata.ResourceEnvironment) {
		t.Errorf("Environment once the marker moved: %v, want not found", err)
	}
}

func TestDeletedEnvironmentDefinitions(t *testing.T) {
	s, db := openWithSQL(t)
	storetest.DeletedEnvironmentDefinitions(t, s, markDeleted(t, db))
}
