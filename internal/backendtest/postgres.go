package backendtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tourd/internal/postgres"
	"tourd/internal/userdata"
)

// PostgresURL returns the database PostgreSQL tests may use
// (TOURD_TEST_POSTGRES), or skips the test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TOURD_TEST_POSTGRES")
	if u == "" {
		t.Skip("set TOURD_TEST_POSTGRES to a postgres:// URL to run the PostgreSQL tests")
	}
	return u
}

// PostgresSchema creates an empty schema, dropped when the test ends, and
// returns its name.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	u := PostgresURL(t)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	admin("CREATE SCHEMA " + schema)
	t.Cleanup(func() { admin("DROP SCHEMA " + schema + " CASCADE") })
	return schema
}

// PostgresConfig returns a pool configuration for a new empty schema.
func PostgresConfig(t testing.TB) *pgxpool.Config {
	t.Helper()
	schema := PostgresSchema(t)
	cfg, err := pgxpool.ParseConfig(PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	return cfg
}

// OpenPostgres opens a store on cfg, closed when the test ends.
func OpenPostgres(t testing.TB, cfg *pgxpool.Config, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.OpenConfig(t.Context(), cfg, Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postgres is the production backend, on a new schema of
// TOURD_TEST_POSTGRES per test.
var Postgres = Backend{
	Name: "postgres",
	Open: func(t testing.TB) userdata.Store {
		return OpenPostgres(t, PostgresConfig(t), postgres.Options{Migrate: true, PurgeGrace: PurgeGrace})
	},
	OpenPair: func(t *testing.T) (userdata.Store, userdata.Store) {
		cfg := PostgresConfig(t)
		opts := postgres.Options{Migrate: true, PurgeGrace: PurgeGrace}
		return OpenPostgres(t, cfg, opts), OpenPostgres(t, cfg, opts)
	},
	DSN: func(t testing.TB) string {
		u, err := url.Parse(PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", PostgresSchema(t))
		u.RawQuery = q.Encode()
		return u.String()
	},
}
