package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// openWithSQL opens a store on a new schema, listening for revocations, and
// a plain connection to the same schema, to change it behind the store's
// back.
func openWithSQL(t *testing.T) (*postgres.Store, *pgx.Conn, *pgxpool.Config) {
	t.Helper()
	cfg := backendtest.PostgresConfig(t)
	s := backendtest.OpenPostgres(t, cfg, postgres.Options{Migrate: true})
	waitFor(t, "the store to listen for revocations", func() bool { return postgres.Listening(s) })
	conn, err := pgx.ConnectConfig(t.Context(), cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	return s, conn, cfg
}

func markDeleted(t *testing.T, conn *pgx.Conn) func(envID string) {
	return func(envID string) {
		if _, err := conn.Exec(t.Context(), "UPDATE environments SET deleted_at = now() WHERE id = $1", envID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeletedEnvironment(t *testing.T) {
	s, conn, _ := openWithSQL(t)
	storetest.DeletedEnvironment(t, s, markDeleted(t, conn))
}

func TestDeletedEnvironmentDefinitions(t *testing.T) {
	s, conn, _ := openWithSQL(t)
	storetest.DeletedEnvironmentDefinitions(t, s, markDeleted(t, conn))
}

// Environment answers from the cache until a notification on tourd_keys
// (here, a revocation through another store): a change made behind the
// store's back is not seen before.
func TestEnvironmentCache(t *testing.T) {
	s, conn, cfg := openWithSQL(t)
	ctx := t.Context()
	p, err := s.CreateProject(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	env := p.Environments[0]
	if _, err := s.Environment(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	markDeleted(t, conn)(env.ID)
	if _, err := s.Environment(ctx, env.ID); err != nil {
		t.Fatalf("Environment after a change behind the store's back: %v, want the cached environment", err)
	}
	other := backendtest.OpenPostgres(t, cfg, postgres.Options{})
	_, hash, prefix := userdata.NewKey()
	if _, err := other.CreateKey(ctx, "q", "e", hash, prefix); err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeKey(ctx, hash); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the environment to be forgotten", func() bool {
		_, err := s.Environment(ctx, env.ID)
		return userdata.IsNotFound(err, userdata.ResourceEnvironment)
	})
}
