package segment_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// A db is a store of one backend and a raw connection to its database, on
// which tests run the compiled SQL.
type db struct {
	name    string
	dialect segment.Dialect
	store   userdata.Store
	// rows runs a query of one text column and returns its values.
	rows func(ctx context.Context, q string, args ...any) ([]string, error)
}

// openDBs opens a store on every backend tests run on: SQLite, and
// PostgreSQL when TOURD_TEST_POSTGRES is set.
func openDBs(t *testing.T) []*db {
	t.Helper()
	dbs := []*db{openSQLite(t)}
	for _, b := range backendtest.All() {
		if b.Name == backendtest.Postgres.Name {
			dbs = append(dbs, openPostgres(t))
		}
	}
	return dbs
}

func openSQLite(t *testing.T) *db {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tourd.db")
	store := backendtest.OpenSQLite(t, path)
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &db{name: "sqlite", dialect: segment.SQLite, store: store,
		rows: func(ctx context.Context, q string, args ...any) ([]string, error) {
			rows, err := raw.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return nil, err
				}
				out = append(out, s)
			}
			return out, rows.Err()
		}}
}

func openPostgres(t *testing.T) *db {
	t.Helper()
	cfg := backendtest.PostgresConfig(t)
	store := backendtest.OpenPostgres(t, cfg, postgres.Options{Migrate: true, PurgeGrace: backendtest.PurgeGrace})
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg.Copy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &db{name: "postgres", dialect: segment.Postgres, store: store,
		rows: func(ctx context.Context, q string, args ...any) ([]string, error) {
			rows, err := pool.Query(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return nil, err
				}
				out = append(out, s)
			}
			return out, rows.Err()
		}}
}

// A world is what a test writes: companies, users, and memberships, all
// by external id.
type world struct {
	companies   []entity
	users       []entity
	memberships []membershipOf
}

type entity struct {
	id    string
	attrs userdata.Attributes
}

type membershipOf struct {
	user, company string
	attrs         userdata.Attributes
}

// write writes w to a new project of d through the store's v1 upserts,
// which store every value as sent, and returns its tenant.
func (d *db) write(t *testing.T, name string, w *world) userdata.Tenant {
	t.Helper()
	ctx := t.Context()
	p, err := d.store.CreateProject(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	tenant := userdata.Tenant{ProjectID: p.ID, EnvironmentID: p.Environments[0].ID}
	for _, c := range w.companies {
		in := &userdata.CompanyUpsert{ExternalID: c.id, Attributes: c.attrs}
		if err := in.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.store.UpsertCompany(ctx, tenant, in); err != nil {
			t.Fatalf("%s: upsert company %s %v: %v", d.name, c.id, c.attrs, err)
		}
	}
	for _, u := range w.users {
		in := &userdata.UserUpsert{ExternalID: u.id, Attributes: u.attrs}
		if err := in.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.store.UpsertUser(ctx, tenant, in); err != nil {
			t.Fatalf("%s: upsert user %s %v: %v", d.name, u.id, u.attrs, err)
		}
	}
	for _, m := range w.memberships {
		if _, err := d.store.UpsertMembership(ctx, tenant, m.company, m.user, m.attrs); err != nil {
			t.Fatalf("%s: upsert membership %s/%s %v: %v", d.name, m.user, m.company, m.attrs, err)
		}
	}
	return tenant
}

// stored is a world as a backend stored it, as the evaluator reads it.
type stored struct {
	users, companies map[string]segment.Entity // by external id
}

// read reads back the entities of env as stored.
func (d *db) read(t *testing.T, env string) *stored {
	t.Helper()
	ctx := t.Context()
	p := d.placeholder
	attrs := "attributes"
	if d.dialect == segment.Postgres {
		attrs = "attributes::text"
	}
	q := func(sql string) []string {
		out, err := d.rows(ctx, sql, env)
		if err != nil {
			t.Fatalf("%s: %s: %v", d.name, sql, err)
		}
		return out
	}
	// One text column per query: each row is a JSON array of its columns.
	row := func(cols string) string { return "json_build_array(" + cols + ")::text" }
	if d.dialect == segment.SQLite {
		row = func(cols string) string { return "json_array(" + cols + ")" }
	}
	type rec struct{ id, ext, attrs string }
	scan := func(rows []string) []rec {
		var out []rec
		for _, r := range rows {
			var cols []string
			if err := json.Unmarshal([]byte(r), &cols); err != nil {
				t.Fatal(err)
			}
			out = append(out, rec{cols[0], cols[1], cols[2]})
		}
		return out
	}
	users := scan(q("SELECT " + row("id, external_id, "+attrs) + " FROM users WHERE environment_id = " + p(1)))
	companies := scan(q("SELECT " + row("id, external_id, "+attrs) + " FROM companies WHERE environment_id = " + p(1)))
	ms := scan(q("SELECT " + row("user_id, company_id, "+attrs) + " FROM memberships WHERE environment_id = " + p(1)))
	s := &stored{users: map[string]segment.Entity{}, companies: map[string]segment.Entity{}}
	byID := map[string]rec{}
	for _, r := range append(slices.Clone(users), companies...) {
		byID[r.id] = r
	}
	uMembers, cMembers := map[string][]segment.Membership{}, map[string][]segment.Membership{}
	for _, m := range ms {
		u, c := byID[m.id], byID[m.ext] // a membership row: user id, company id, attributes
		uMembers[u.ext] = append(uMembers[u.ext], segment.Membership{Attributes: json.RawMessage(m.attrs), Other: json.RawMessage(c.attrs)})
		cMembers[c.ext] = append(cMembers[c.ext], segment.Membership{Attributes: json.RawMessage(m.attrs), Other: json.RawMessage(u.attrs)})
	}
	for _, u := range users {
		s.users[u.ext] = segment.Entity{Attributes: json.RawMessage(u.attrs), Memberships: uMembers[u.ext]}
	}
	for _, c := range companies {
		s.companies[c.ext] = segment.Entity{Attributes: json.RawMessage(c.attrs), Memberships: cMembers[c.ext]}
	}
	return s
}

// placeholder returns the nth parameter's placeholder.
func (d *db) placeholder(n int) string {
	if d.dialect == segment.Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return fmt.Sprintf("?%d", n)
}

// selectIDs returns the external ids, sorted, of the rows of env that the
// WHERE clause Compile makes of conds selects, and the SQL it ran. It
// runs both readings of Compile, row by row (as a page) and whole (as a
// count), and fails if they differ.
func (d *db) selectIDs(ctx context.Context, env string, conds []segment.Condition, defs segment.Definitions, biz userdata.Scope, now time.Time) ([]string, string, error) {
	table, alias := "users", "u"
	if biz == userdata.ScopeCompany {
		table, alias = "companies", "c"
	}
	var ids [2][]string
	var q string
	for i, whole := range []string{"", env} {
		where, args := segment.Compile(d.dialect, conds, defs, segment.Target{Biz: biz, Alias: alias, Environment: whole, ArgStart: 2}, now)
		q = "SELECT " + alias + ".external_id FROM " + table + " " + alias + " WHERE " + alias + ".environment_id = " + d.placeholder(1) + " AND " + where
		var err error
		if ids[i], err = d.rows(ctx, q, append([]any{env}, args...)...); err != nil {
			return nil, q, err
		}
		slices.Sort(ids[i])
	}
	if !slices.Equal(ids[0], ids[1]) {
		return nil, q, fmt.Errorf("read row by row, the segment selects %q; read whole, %q", ids[0], ids[1])
	}
	return ids[0], q, nil
}

// A segCase is a tree, as JSON, and the external ids it selects.
type segCase struct {
	name  string
	biz   userdata.Scope
	conds string
	want  []string
}

// runCases writes w to every backend and checks that each case selects
// want, with Match on the stored entities and with Compile's SQL.
func runCases(t *testing.T, w *world, defs segment.Definitions, now time.Time, cases []segCase) {
	t.Helper()
	for _, d := range openDBs(t) {
		tenant := d.write(t, t.Name(), w)
		s := d.read(t, tenant.EnvironmentID)
		for _, c := range cases {
			conds, err := segment.Parse(json.RawMessage(c.conds))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			want := slices.Sorted(slices.Values(c.want))
			if want == nil {
				want = []string{}
			}
			got := matching(s, conds, defs, c.biz, now)
			if got == nil {
				got = []string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: Match on %s's data (-want +got):\n%s", c.name, d.name, diff)
			}
			got, q, err := d.selectIDs(t.Context(), tenant.EnvironmentID, conds, defs, c.biz, now)
			if err != nil {
				t.Fatalf("%s: %s: %v\n%s", c.name, d.name, err, q)
			}
			if got == nil {
				got = []string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: %s SQL (-want +got):\n%s\n%s", c.name, d.name, diff, q)
			}
		}
	}
}
