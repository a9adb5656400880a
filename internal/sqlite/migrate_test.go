package sqlite

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/apiv2/v2test"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// A database made by an older tourd is migrated on open, data included:
// here, 0002 fills the email column from the stored attributes.
func TestMigrateOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil { // an empty database
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	init, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
		string(init),
		"INSERT INTO schema_migrations VALUES (1, 0)",
		"INSERT INTO projects VALUES ('p', 'default', 0)",
		"INSERT INTO environments VALUES ('e', 'p', 'production', 0)",
		`INSERT INTO users VALUES ('u1', 'e', 'a', '{"email":"a@example.com"}', 1), ('u2', 'e', 'b', '{"email":5}', 2)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()
	s := openExclusive(t, path)
	tn := userdata.Tenant{ProjectID: "p", EnvironmentID: "e"}
	for email, want := range map[string]int{"a@example.com": 1, "5": 0} {
		l, err := s.ListUsers(t.Context(), tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 10, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt}}}, Email: email})
		if err != nil || len(l.Items) != want {
			t.Errorf("email %q after migration: %d users, %v; want %d", email, len(l.Items), err, want)
		}
	}
	// And a later write keeps the column in step.
	if _, _, err := s.UpsertUser(t.Context(), tn, &userdata.UserUpsert{ExternalID: "a", Attributes: userdata.Attributes{"email": "new@example.com"}}); err != nil {
		t.Fatal(err)
	}
	l, err := s.ListUsers(t.Context(), tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 10, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt}}}, Email: "new@example.com"})
	if err != nil || len(l.Items) != 1 {
		t.Errorf("email after update: %v, %v", l, err)
	}
}

// oldDatabase makes a database at path as tourd left it before migration
// version next: with the migrations before it applied and the rows of
// inserts.
func oldDatabase(t *testing.T, path string, next int, inserts ...string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrateTo(t.Context(), db, next-1); err != nil {
		t.Fatal(err)
	}
	for _, q := range inserts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
}

// preV2Rows are storetest's fixture in the schema of migrations 0001 to
// 0004.
func preV2Rows() []string {
	at := func(s int) int64 { return micros(storetest.PreV2Time(s)) }
	return []string{
		fmt.Sprintf("INSERT INTO projects VALUES ('p1', 'acme', %d), ('p2', 'beta', %d)", at(0), at(1)),
		fmt.Sprintf("INSERT INTO environments VALUES ('e1', 'p1', 'production', %d), ('a-staging', 'p1', 'staging', %d), ('e3', 'p2', 'production', %d)", at(0), at(2), at(1)),
		fmt.Sprintf("INSERT INTO api_keys VALUES ('k1', 'e1', '%s', 'ak_fix1', 1, %d), ('k2', 'a-staging', '%s', 'ak_fix2', 0, %d)",
			userdata.HashKey(storetest.PreV2Key1), at(0), userdata.HashKey(storetest.PreV2Key2), at(2)),
		fmt.Sprintf(`INSERT INTO users (id, environment_id, external_id, attributes, created_at, email) VALUES
			('u1', 'e1', 'alice', '{"name":"Alice","email":"alice@example.com"}', %d, 'alice@example.com'),
			('u2', 'e1', 'bob', '{"n":1}', %d, NULL), ('u3', 'a-staging', 'carol', '{}', %d, NULL)`, at(3), at(4), at(5)),
		fmt.Sprintf(`INSERT INTO companies VALUES ('c1', 'e1', 'acme-inc', '{"plan":"pro"}', %d)`, at(3)),
		fmt.Sprintf(`INSERT INTO memberships VALUES ('m1', 'e1', 'u1', 'c1', '{"role":"admin"}', %d)`, at(6)),
		fmt.Sprintf(`INSERT INTO attribute_definitions VALUES ('ad1', 'p1', 1, 'name', 'Name', '', 2, 1, %d),
			('ad2', 'p1', 2, 'plan', 'Plan', '', 2, 0, %d), ('ad3', 'p1', 4, 'step', 'Step', '', 1, 0, %d)`, at(0), at(3), at(7)),
		fmt.Sprintf(`INSERT INTO event_definitions VALUES ('ed1', 'p1', 'signed_up', 'Signed Up', '', 0, %d)`, at(7)),
		"INSERT INTO event_definition_attributes VALUES ('ed1', 'ad3')",
		fmt.Sprintf(`INSERT INTO events VALUES ('ev1', 'e1', 'u1', 'c1', 'signed_up', '{"step":2}', %d)`, at(7)),
	}
}

// A database made before the v2 tenancy keeps every row through the
// migration, which rebuilds projects and environments: the tables that
// reference them still do, and foreign keys are enforced again after.
func TestMigrateToV2Tenancy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	oldDatabase(t, path, 5, preV2Rows()...)
	s := openExclusive(t, path)
	storetest.CheckMigrated(t, s)
	v2test.CheckV2Reads(t, s, "p1", "e1", storetest.PreV2Key1, "alice")

	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	refs := map[string]string{}
	for _, table := range []string{"environments", "api_keys", "attribute_definitions", "event_definitions", "personal_tokens"} {
		var parent string
		if err := db.QueryRow("SELECT \"table\" FROM pragma_foreign_key_list(?)", table).Scan(&parent); err != nil {
			t.Fatalf("foreign keys of %s: %v", table, err)
		}
		refs[table] = parent
	}
	want := map[string]string{"environments": "projects", "api_keys": "environments", "attribute_definitions": "projects", "event_definitions": "projects", "personal_tokens": "projects"}
	if diff := cmp.Diff(want, refs); diff != "" {
		t.Errorf("tables referenced after the migration (-want +got):\n%s", diff)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
	// The store's connections enforce foreign keys again: deleting a user
	// deletes its membership and events (ON DELETE CASCADE).
	if err := s.DeleteUser(t.Context(), userdata.Tenant{ProjectID: "p1", EnvironmentID: "e1"}, "alice"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT (SELECT count(*) FROM memberships) + (SELECT count(*) FROM events)").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d memberships and events left after deleting their user (%v), want 0", n, err)
	}
}

// A migration that leaves a row referencing a missing one is not committed.
func TestMigrateChecksForeignKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	oldDatabase(t, path, 5, "PRAGMA foreign_keys = OFF; INSERT INTO environments VALUES ('e1', 'gone', 'production', 0)")
	_, err := Open(t.Context(), path, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err == nil || !strings.Contains(err.Error(), "migration 0005_v2_tenancy.sql: row 1 of environments references a missing row of projects") {
		t.Fatalf("Open: %v, want the migration refused for the dangling environment", err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM schema_migrations WHERE version = 5").Scan(&n); err != nil || n != 0 {
		t.Errorf("migration 5 recorded %d times (%v), want none", n, err)
	}
}
