package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"tourd/internal/apiv2/v2test"
	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// A database made before the v2 tenancy (migrations up to 0005) keeps every
// row through migration 0006.
func TestMigrateToV2Tenancy(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	ctx := t.Context()
	if err := postgres.MigrateTo(ctx, cfg, 5); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	at := storetest.PreV2Time
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO projects VALUES ('p1', 'acme', $1), ('p2', 'beta', $2)", []any{at(0), at(1)}},
		{"INSERT INTO environments VALUES ('e1', 'p1', 'production', $1), ('a-staging', 'p1', 'staging', $2), ('e3', 'p2', 'production', $3)", []any{at(0), at(2), at(1)}},
		{"INSERT INTO api_keys VALUES ('k1', 'e1', $1, 'ak_fix1', true, $2), ('k2', 'a-staging', $3, 'ak_fix2', false, $4)",
			[]any{userdata.HashKey(storetest.PreV2Key1), at(0), userdata.HashKey(storetest.PreV2Key2), at(2)}},
		{`INSERT INTO users (id, environment_id, external_id, attributes, created_at, email) VALUES
			('u1', 'e1', 'alice', '{"name":"Alice","email":"alice@example.com"}', $1, 'alice@example.com'),
			('u2', 'e1', 'bob', '{"n":1}', $2, NULL), ('u3', 'a-staging', 'carol', '{}', $3, NULL)`, []any{at(3), at(4), at(5)}},
		{`INSERT INTO companies VALUES ('c1', 'e1', 'acme-inc', '{"plan":"pro"}', $1)`, []any{at(3)}},
		{`INSERT INTO memberships VALUES ('m1', 'e1', 'u1', 'c1', '{"role":"admin"}', $1)`, []any{at(6)}},
		{`INSERT INTO attribute_definitions VALUES ('ad1', 'p1', 1, 'name', 'Name', '', 2, true, $1),
			('ad2', 'p1', 2, 'plan', 'Plan', '', 2, false, $2), ('ad3', 'p1', 4, 'step', 'Step', '', 1, false, $3)`, []any{at(0), at(3), at(7)}},
		{`INSERT INTO event_definitions VALUES ('ed1', 'p1', 'signed_up', 'Signed Up', '', false, $1)`, []any{at(7)}},
		{"INSERT INTO event_definition_attributes VALUES ('ed1', 'ad3')", nil},
		{`INSERT INTO events VALUES ('ev1', 'e1', 'u1', 'c1', 'signed_up', '{"step":2}', $1)`, []any{at(7)}},
	} {
		if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%.60s: %v", q.sql, err)
		}
	}
	s := backendtest.OpenPostgres(t, cfg, postgres.Options{Migrate: true})
	storetest.CheckMigrated(t, s)
	v2test.CheckV2Reads(t, s, "p1", "e1", storetest.PreV2Key1, "alice")
}
