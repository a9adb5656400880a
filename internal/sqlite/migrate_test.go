package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"tourd/internal/userdata"
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
