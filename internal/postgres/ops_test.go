package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// ops parses a JSON attribute map as the HTTP layer does: operation
// objects become *userdata.Op values, named field.key in errors.
func ops(t *testing.T, field, js string) userdata.Attributes {
	t.Helper()
	a, err := userdata.DecodeAttributes([]byte(js))
	if err == nil {
		err = userdata.ParseOperations(field, a, false)
	}
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return a
}

// canonical returns a JSON value with its object keys sorted and its
// numbers exactly as written, so that two stores' answers compare byte for
// byte whatever order they keep keys in.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// message returns the client message of a domain error, or its text.
func message(err error) string {
	var e *userdata.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return fmt.Sprint(err)
}

// rawConn opens a connection of its own to the test's schema, closed when
// the test ends.
func rawConn(t *testing.T, cfg *pgxpool.Config) *pgx.Conn {
	t.Helper()
	conn, err := pgx.ConnectConfig(t.Context(), cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// opCases are a stored attribute map (written as literals) and a write with
// operations onto it.
var opCases = []struct{ stored, write string }{
	{`{"n":0.1}`, `{"n":{"add":0.2}}`},
	{`{"n":1e21}`, `{"n":{"add":1}}`}, // the double does not change
	{`{"n":1e20}`, `{"n":{"add":1.5}}`},
	{`{"n":-0.5}`, `{"n":{"add":0.5}}`},
	{`{}`, `{"n":{"add":-0}}`},
	{`{"n":0}`, `{"n":{"subtract":0}}`},
	{`{"n":1.7976931348623157e308}`, `{"n":{"add":9e291}}`}, // rounds back to the largest double
	{`{"n":1.7976931348623157e308}`, `{"n":{"add":1e292}}`}, // overflows
	{`{"n":-1.7976931348623157e308}`, `{"n":{"subtract":1e292}}`},
	{`{"n":1.7976931348623157e308}`, `{"n":{"add":-1.7976931348623157e308}}`},
	{`{"n":8.98846567431158e307}`, `{"n":{"add":8.98846567431158e307}}`},
	{`{"n":8.988465674311579e307}`, `{"n":{"add":8.98846567431158e307}}`},
	{`{"n":1e-7}`, `{"n":{"add":1e-7}}`},
	{`{"n":5e-324}`, `{"n":{"add":5e-324}}`},
	{`{"n":123456789.123456789}`, `{"n":{"add":0.000001}}`},
	{`{"n":9007199254740993}`, `{"n":{"add":1}}`},
	{`{"n":"5"}`, `{"n":{"add":1}}`},
	{`{"n":true}`, `{"n":{"add":1}}`},
	{`{"n":[1]}`, `{"n":{"subtract":1}}`},
	{`{"n":{"a":1}}`, `{"n":{"add":1}}`},
	{`{"t":["a",1,true,{"x":1},[1],null]}`, `{"t":{"union":["1",1.0,"a",false,"b","b",1e21]}}`},
	{`{"t":[1,2,1,"1",{"a":1},[1]]}`, `{"t":{"remove":[1,"x"]}}`},
	{`{"t":[1]}`, `{"t":{"remove":1}}`},
	{`{"t":[0.1,0.30000000000000004]}`, `{"t":{"remove":[0.1,0.3]}}`},
	{`{"t":[1e21]}`, `{"t":{"union":[1e21,1000000000000000000000]}}`},
	{`{"t":["a","b"]}`, `{"t":{"union":["b","a"]}}`},
	{`{"t":["a","b"]}`, `{"t":{"remove":"c"}}`},
	{`{}`, `{"t":{"remove":1}}`},
	{`{}`, `{"t":{"union":[]}}`},
	{`{"t":[]}`, `{"t":{"append":"x"}}`},
	{`{"t":"x"}`, `{"t":{"union":"x"}}`},
	{`{"t":2}`, `{"t":{"remove":2}}`},
	{`{"t":{"x":1}}`, `{"t":{"prepend":["x"]}}`},
	{`{"t":false}`, `{"t":{"remove":[]}}`},
	{`{"s":"a"}`, `{"s":{"set_once":"b"}}`},
	{`{"s":"a"}`, `{"s":{"set_once":"a","data_type":"string"}}`},
	{`{}`, `{"s":{"set_once":{"b":[1,{"c":2,"a":0.5}]}}}`},
	{`{"a":1,"b":2,"t":[1]}`, `{"a":null,"b":3,"c":"x","t":{"union":2},"n":{"add":1},"s":{"set_once":1},"r":{"remove":1}}`},
	{`{"a":1,"b":"x"}`, `{"a":1,"b":{"set":"x"},"c":null}`}, // literals only: nothing changes
	{`{"a":1,"b":2}`, `{"a":2,"b":null}`},
	// Literal values that the stored ones contain (jsonb @>) yet differ from.
	{`{"t":[1,2],"o":{"a":1,"b":2},"d":[1,1]}`, `{"t":[2,1]}`},
	{`{"t":[1,2],"o":{"a":1,"b":2},"d":[1,1]}`, `{"o":{"a":1}}`},
	{`{"t":[1,2],"o":{"a":1,"b":2},"d":[1,1]}`, `{"d":[1],"t":{"union":1}}`},
}

// opPath is one way of writing an attribute map: the operations reach a
// different statement on each.
type opPath struct {
	name, field string
	write       func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string, a userdata.Attributes) error
	read        func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string) (json.RawMessage, error)
	xmin        string // the version of the row written: its xmin, by external id $1
}

var opPaths = []opPath{
	{
		name: "user", field: "attributes",
		write: func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string, a userdata.Attributes) error {
			_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: id, Attributes: a})
			return err
		},
		read: func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string) (json.RawMessage, error) {
			u, err := s.GetUser(ctx, tn, id, 0)
			if err != nil {
				return nil, err
			}
			return u.Attributes, nil
		},
		xmin: "SELECT xmin::text FROM users WHERE external_id = $1",
	},
	{
		name: "company", field: "attributes",
		write: func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string, a userdata.Attributes) error {
			_, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: id, Attributes: a})
			return err
		},
		read: readCompany,
		xmin: "SELECT xmin::text FROM companies WHERE external_id = $1",
	},
	{
		name: "companies", field: "companies.0.attributes",
		write: func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string, a userdata.Attributes) error {
			_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "member", Companies: []userdata.CompanyUpsert{{ExternalID: id, Attributes: a}}})
			return err
		},
		read: readCompany,
		xmin: "SELECT xmin::text FROM companies WHERE external_id = $1",
	},
	{
		name: "membership", field: "memberships.0.attributes",
		write: func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string, a userdata.Attributes) error {
			_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: id, Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "co"}, Attributes: a}}})
			return err
		},
		read: func(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string) (json.RawMessage, error) {
			u, err := s.GetUser(ctx, tn, id, userdata.ExpandMemberships)
			if err != nil {
				return nil, err
			}
			return u.Memberships[0].Attributes, nil
		},
		xmin: "SELECT m.xmin::text FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.external_id = $1",
	},
}

func readCompany(ctx context.Context, s *postgres.Store, tn userdata.Tenant, id string) (json.RawMessage, error) {
	c, err := s.GetCompany(ctx, tn, id, 0)
	if err != nil {
		return nil, err
	}
	return c.Attributes, nil
}

// TestOperationsAsMerge checks that, on every write path, operations store
// what userdata.Attributes.Merge (the SQLite backend) makes of the stored
// attributes, printed the same way, fail with its message, and leave the
// row's version alone when Merge reports no change or fails.
func TestOperationsAsMerge(t *testing.T) {
	for _, p := range opPaths {
		t.Run(p.name, func(t *testing.T) {
			cfg := backendtest.PostgresConfig(t)
			s := backendtest.OpenPostgres(t, cfg, postgres.Options{Migrate: true})
			conn := rawConn(t, cfg)
			ctx := t.Context()
			tn := storetest.Tenant(t, s, "p", "e")
			xmin := func(id string) string {
				var x string
				if err := conn.QueryRow(ctx, p.xmin, id).Scan(&x); err != nil {
					t.Fatalf("xmin of %s: %v", id, err)
				}
				return x
			}
			for i, tc := range opCases {
				id := fmt.Sprint("e", i)
				if err := p.write(ctx, s, tn, id, ops(t, p.field, tc.stored)); err != nil {
					t.Fatalf("writing %s: %v", tc.stored, err)
				}
				stored, err := p.read(ctx, s, tn, id)
				if err != nil {
					t.Fatal(err)
				}
				before := xmin(id)
				a := ops(t, p.field, tc.write)
				want, changed, wantErr := a.Merge(stored)
				err = p.write(ctx, s, tn, id, a)
				got, rerr := p.read(ctx, s, tn, id)
				if rerr != nil {
					t.Fatal(rerr)
				}
				switch {
				case wantErr != nil:
					if userdata.ErrorCode(err) != userdata.CodeInvalid || message(err) != message(wantErr) {
						t.Errorf("%s onto %s: error %v, want %q", tc.write, tc.stored, err, message(wantErr))
					}
					want, changed = stored, false
				case err != nil:
					t.Errorf("%s onto %s: %v, want %s", tc.write, tc.stored, err, want)
					continue
				}
				if g, w := canonical(t, got), canonical(t, want); g != w {
					t.Errorf("%s onto %s: stored %s, want %s", tc.write, tc.stored, g, w)
				}
				if after := xmin(id); (after != before) != changed {
					t.Errorf("%s onto %s: row version %s -> %s, want a new version: %t", tc.write, tc.stored, before, after, changed)
				}
			}
		})
	}
}

// TestOperationsOnSeed checks operations on the keys every new user and
// company is seeded with: creating the entity applies them to the seed
// (and fails when they cannot apply), while an entity that lost the key
// gets it from the operation.
func TestOperationsOnSeed(t *testing.T) {
	s := backendtest.OpenPostgres(t, backendtest.PostgresConfig(t), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "new", Attributes: ops(t, "attributes", `{"first_seen_at":{"add":1}}`)})
	if userdata.ErrorCode(err) != userdata.CodeInvalid || message(err) != "attributes.first_seen_at: cannot add to a stored string" {
		t.Errorf("creating a user with add on first_seen_at: %v", err)
	}
	_, err = s.GetUser(ctx, tn, "new", 0)
	wantCode(t, "GetUser after the failed creation", err, userdata.CodeNotFound)
	_, _, err = s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "new", Attributes: ops(t, "attributes", `{"last_seen_at":{"union":1}}`)})
	if userdata.ErrorCode(err) != userdata.CodeInvalid || message(err) != "attributes.last_seen_at: cannot union with a stored string" {
		t.Errorf("creating a company with union on last_seen_at: %v", err)
	}
	u, created, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"first_seen_at":{"set_once":1},"n":{"add":2}}`)})
	if err != nil || !created {
		t.Fatalf("creating a user with set_once on first_seen_at: %v, created %t", err, created)
	}
	if a := decode(t, u.Attributes); a["first_seen_at"] != u.CreatedAt.Format("2006-01-02T15:04:05.000Z") || a["n"] != 2.0 {
		t.Errorf("created %s, want the seeded first_seen_at and n 2", u.Attributes)
	}
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: userdata.Attributes{"first_seen_at": nil}}); err != nil {
		t.Fatal(err)
	}
	u, created, err = s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"first_seen_at":{"add":1}}`)})
	if err != nil || created || decode(t, u.Attributes)["first_seen_at"] != 1.0 {
		t.Errorf("add on a removed first_seen_at: %v, created %t, %s", err, created, u.Attributes)
	}
}

// TestNoOpAnswer checks the answer of an upsert that changes nothing
// because the row it waited for, committed after the upsert began, already
// holds its values: it is that row, which the upsert did not update. The
// upsert has literal values only, or operations.
func TestNoOpAnswer(t *testing.T) {
	for _, table := range []string{"users", "companies"} {
		for _, write := range []string{`{"a":1}`, `{"a":{"set_once":2}}`} {
			t.Run(table+write, func(t *testing.T) { testNoOpAnswer(t, table, ops(t, "attributes", write)) })
		}
	}
}

func testNoOpAnswer(t *testing.T, table string, a userdata.Attributes) {
	cfg := backendtest.PostgresConfig(t)
	s := backendtest.OpenPostgres(t, cfg, postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	tx, pid := outsideTx(t, cfg)
	const attrs = `{"a": 1, "first_seen_at": "2025-01-01T00:00:00.000Z", "last_seen_at": "2025-01-01T00:00:00.000Z"}`
	if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (id, environment_id, external_id, attributes, created_at) VALUES ('row', $1, 'x', $2, now())", tn.EnvironmentID, attrs); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		id      string
		attrs   json.RawMessage
		created bool
		err     error
	}
	done := make(chan answer, 1)
	go func() {
		var ans answer
		if table == "users" {
			var u *userdata.User
			if u, ans.created, ans.err = s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "x", Attributes: a}); ans.err == nil {
				ans.id, ans.attrs = u.ID, u.Attributes
			}
		} else {
			var c *userdata.Company
			if c, ans.created, ans.err = s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "x", Attributes: a}); ans.err == nil {
				ans.id, ans.attrs = c.ID, c.Attributes
			}
		}
		done <- ans
	}()
	waitBlockedBy(t, cfg, pid) // the upsert's snapshot predates the row
	var xid string
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::xid::text").Scan(&xid); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ans := <-done
	if ans.err != nil || ans.created || ans.id != "row" || canonical(t, ans.attrs) != canonical(t, []byte(attrs)) {
		t.Errorf("answer %s %s, created %t, error %v; want the row committed meanwhile", ans.id, ans.attrs, ans.created, ans.err)
	}
	var xmin string
	if err := rawConn(t, cfg).QueryRow(ctx, "SELECT xmin::text FROM "+table).Scan(&xmin); err != nil {
		t.Fatal(err)
	}
	if xmin != xid {
		t.Errorf("the row's version was made by %s, want the inserting transaction %s (no update)", xmin, xid)
	}
}

// TestSumDigits checks that a sum is stored with all the digits of its
// double whatever the session's extra_float_digits, which sets how
// PostgreSQL prints a double (0 prints 15 significant digits).
func TestSumDigits(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	cfg.ConnConfig.RuntimeParams["extra_float_digits"] = "0"
	s := backendtest.OpenPostgres(t, cfg, postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	var u *userdata.User
	for _, w := range []string{`{"n":0.1}`, `{"n":{"add":0.2}}`} {
		var err error
		if u, _, err = s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", w)}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(u.Attributes, []byte(`"n":0.30000000000000004`)) {
		t.Errorf("0.1 + 0.2 stored as %s, want 0.30000000000000004", u.Attributes)
	}
}
