package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// concurrently runs n calls at once, call i through stores[i%len(stores)],
// and fails the test with the first error.
func concurrently(t *testing.T, stores []*postgres.Store, n int, call func(s *postgres.Store, i int) error) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			<-start
			errs <- call(stores[i%len(stores)], i)
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// checkCounter checks that attrs holds n == want and, in t, the elements
// e0 ... e(count-1) once each, in any order, after the elements of first.
func checkCounter(t *testing.T, what string, attrs []byte, want float64, first []any, count int) {
	t.Helper()
	a := decode(t, attrs)
	if a["n"] != want {
		t.Errorf("%s: n = %v, want %v", what, a["n"], want)
	}
	list, _ := a["t"].([]any)
	seen := map[any]int{}
	for _, e := range list {
		seen[e]++
	}
	for i, e := range first {
		if i >= len(list) || list[i] != e {
			t.Errorf("%s: t = %v, want it to start with %v", what, list, first)
			break
		}
	}
	for i := range count {
		if e := fmt.Sprint("e", i); seen[e] != 1 {
			t.Errorf("%s: t holds %s %d times, want once", what, e, seen[e])
		}
	}
	if len(list) != len(first)+count {
		t.Errorf("%s: t has %d elements, want %d", what, len(list), len(first)+count)
	}
}

// TestConcurrentOperations runs concurrent operations on one row through
// two stores (two nodes) on one database: no update is lost, on a user, on
// a company reached through companies[] of many users, on a membership.
func TestConcurrentOperations(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	stores := []*postgres.Store{
		openConfig(t, cfg.Copy(), discard(), postgres.Options{Migrate: true, PoolSize: 8}),
		openConfig(t, cfg.Copy(), discard(), postgres.Options{Migrate: true, PoolSize: 8}),
	}
	ctx := t.Context()
	tn := storetest.Tenant(t, stores[0], "p", "e")
	seed := ops(t, "attributes", `{"n":100,"t":["x"]}`)
	if _, _, err := stores[0].UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: seed,
		Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "c", Attributes: seed}, Attributes: seed}}}); err != nil {
		t.Fatal(err)
	}
	add := func(field string, i int) userdata.Attributes {
		return ops(t, field, fmt.Sprintf(`{"n":{"add":1},"t":{"union":["x","e%d"]}}`, i))
	}
	t.Run("user", func(t *testing.T) {
		concurrently(t, stores, 50, func(s *postgres.Store, i int) error {
			_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: add("attributes", i)})
			return err
		})
		u, err := stores[1].GetUser(ctx, tn, "u", 0)
		if err != nil {
			t.Fatal(err)
		}
		checkCounter(t, "user", u.Attributes, 150, []any{"x"}, 50)
	})
	t.Run("company", func(t *testing.T) {
		concurrently(t, stores, 50, func(s *postgres.Store, i int) error {
			_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: fmt.Sprint("member", i),
				Companies: []userdata.CompanyUpsert{{ExternalID: "c", Attributes: add("companies.0.attributes", i)}}})
			return err
		})
		c, err := stores[1].GetCompany(ctx, tn, "c", 0)
		if err != nil {
			t.Fatal(err)
		}
		checkCounter(t, "company", c.Attributes, 150, []any{"x"}, 50)
	})
	t.Run("membership", func(t *testing.T) {
		concurrently(t, stores, 50, func(s *postgres.Store, i int) error {
			_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u",
				Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "c"}, Attributes: add("memberships.0.attributes", i)}}})
			return err
		})
		u, err := stores[1].GetUser(ctx, tn, "u", userdata.ExpandMemberships)
		if err != nil {
			t.Fatal(err)
		}
		checkCounter(t, "membership", u.Memberships[0].Attributes, 150, []any{"x"}, 50)
	})
}

// TestGroupComposesOperations queues operations on one user, one company
// and one membership so that they run as one group, in one transaction:
// each applies to the result of the one before, in the order they came.
func TestGroupComposesOperations(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	var logs backendtest.Buffer
	s := openConfig(t, cfg.Copy(), debugLogger(&logs), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	g := holdLane(t, cfg, s, tn)
	const n = 12
	errs := make([]error, n)
	for i := range n {
		g.queue(t, func() {
			_, _, errs[i] = s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u",
				Attributes: ops(t, "attributes", fmt.Sprintf(`{"n":{"add":1},"t":{"union":"e%d"}}`, i)),
				Memberships: []userdata.MembershipUpsert{{
					Company:    userdata.CompanyUpsert{ExternalID: "c", Attributes: ops(t, "memberships.0.company.attributes", fmt.Sprintf(`{"n":{"add":1},"t":{"union":"e%d"}}`, i))},
					Attributes: ops(t, "memberships.0.attributes", fmt.Sprintf(`{"n":{"add":1},"t":{"union":"e%d"}}`, i)),
				}}})
		})
	}
	g.open(t)
	g.wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if strings.Contains(logs.String(), "retrying transaction") {
		t.Errorf("a write ran again: %s", logs.String())
	}
	u, err := s.GetUser(ctx, tn, "u", userdata.ExpandMemberships|userdata.ExpandMembershipCompany)
	if err != nil {
		t.Fatal(err)
	}
	order := make([]any, n)
	for i := range order {
		order[i] = fmt.Sprint("e", i)
	}
	checkCounter(t, "user", u.Attributes, n, order, 0)
	checkCounter(t, "company", u.Memberships[0].Company.Attributes, n, order, 0)
	checkCounter(t, "membership", u.Memberships[0].Attributes, n, order, 0)
}

// TestSharedOperationFailure queues, among writes that share one
// transaction, a user upsert whose operation cannot apply and one whose
// data_type contradicts a definition: the group fails, each write runs
// again alone, and only those two fail, changing nothing, not even the
// companies and memberships of their upserts.
func TestSharedOperationFailure(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	var logs backendtest.Buffer
	s := openConfig(t, cfg.Copy(), debugLogger(&logs), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: userdata.Attributes{"s": "text", "n": 1.0}}); err != nil {
		t.Fatal(err)
	}
	g := holdLane(t, cfg, s, tn)
	bad := map[int]string{
		2: "attributes.s: cannot add to a stored string",
		5: "attributes.n: data_type string does not match the defined type number",
	}
	writes := make([]*userdata.UserUpsert, 8)
	for i := range writes {
		w := fmt.Sprintf(`{"n":{"add":1},"t":{"union":"e%d"}}`, i)
		switch i {
		case 2:
			w = `{"n":{"add":1},"s":{"add":1}}`
		case 5:
			w = `{"n":{"set":7,"data_type":"string"}}`
		}
		writes[i] = &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", w),
			Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: fmt.Sprint("c", i)}, Attributes: userdata.Attributes{"m": 1.0}}}}
	}
	errs := make([]error, len(writes))
	for i, in := range writes {
		g.queue(t, func() { _, _, errs[i] = s.UpsertUser(ctx, tn, in) })
	}
	g.open(t)
	g.wait()
	for i, err := range errs {
		if want, ok := bad[i]; ok {
			if userdata.ErrorCode(err) != userdata.CodeInvalid || message(err) != want {
				t.Errorf("write %d: error %v, want %q", i, err, want)
			}
			_, err := s.GetCompany(ctx, tn, fmt.Sprint("c", i), 0)
			wantCode(t, fmt.Sprintf("the company of failed write %d", i), err, userdata.CodeNotFound)
		} else if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	u, err := s.GetUser(ctx, tn, "u", userdata.ExpandMemberships)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Memberships) != len(writes)-len(bad) {
		t.Errorf("%d memberships, want %d", len(u.Memberships), len(writes)-len(bad))
	}
	a := decode(t, u.Attributes)
	if a["n"] != 7.0 || a["s"] != "text" || len(a["t"].([]any)) != 6 {
		t.Errorf("after the group: %s, want n 7 (1 + 6 adds), s unchanged, 6 elements in t", u.Attributes)
	}
	if got := strings.Count(logs.String(), "retrying transaction"); got != len(writes) {
		t.Errorf("%d writes ran again alone, want all %d of the failed group", got, len(writes))
	}
}

// TestImportOperations imports lines with operations, 200 to a chunk (one
// transaction): each line applies to what the lines before it left, and a
// line whose data_type contradicts the definition an earlier line of the
// chunk created, or whose operation cannot apply, fails alone.
func TestImportOperations(t *testing.T) {
	s := backendtest.OpenPostgres(t, backendtest.PostgresConfig(t), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	for _, bad := range []struct {
		line        int
		write, want string
	}{
		{60, `{"p":{"set":1,"data_type":"number"}}`, "attributes.p: data_type number does not match the defined type string"},
		{70, `{"n":{"union":1}}`, "attributes.n: cannot union with a stored number"},
	} {
		var ins []*userdata.UserUpsert
		for i := range 200 {
			w := `{"n":{"add":1}}`
			switch i {
			case 50:
				w = `{"p":"text"}`
			case bad.line:
				w = bad.write
			}
			ins = append(ins, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", w)})
		}
		for i, r := range s.ImportUsers(ctx, tn, ins) {
			if i == bad.line {
				if userdata.ErrorCode(r.Err) != userdata.CodeInvalid || message(r.Err) != bad.want {
					t.Errorf("line %d: error %v, want %q", i, r.Err, bad.want)
				}
			} else if r.Err != nil {
				t.Errorf("line %d: %v", i, r.Err)
			}
		}
	}
	u, err := s.GetUser(ctx, tn, "u", 0)
	if err != nil {
		t.Fatal(err)
	}
	if a := decode(t, u.Attributes); a["n"] != 396.0 || a["p"] != "text" {
		t.Errorf("after the imports: %s, want n 396 and p text", u.Attributes)
	}
}

// TestDataType checks data_type against existing definitions: a write
// whose data_type another type's definition contradicts fails and
// changes nothing, whether the definition existed or an earlier part of
// the same write created it; one that agrees succeeds. Operations create
// definitions of their own type, and none for remove or null.
func TestDataType(t *testing.T) {
	s := backendtest.OpenPostgres(t, backendtest.PostgresConfig(t), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes",
		`{"plan":"free","n":{"add":1},"t":{"union":"a"},"r":{"remove":"a"},"z":null,"d":{"set":"x","data_type":"datetime"}}`)}); err != nil {
		t.Fatal(err)
	}
	defs := map[string]string{}
	l, err := s.ListAttributeDefinitions(ctx, tn, userdata.AttributeDefinitionFilter{Scope: userdata.ScopeUser, PageRequest: userdata.PageRequest{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range l.Items {
		defs[d.CodeName] = d.DataType.String()
	}
	for k, want := range map[string]string{"plan": "string", "n": "number", "t": "list", "d": "datetime", "r": "", "z": ""} {
		if defs[k] != want {
			t.Errorf("definition of %s: %q, want %q", k, defs[k], want)
		}
	}
	for _, tc := range []struct {
		name string
		in   *userdata.UserUpsert
		want string
	}{
		{"existing", &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"x":1,"plan":{"set":5,"data_type":"number"}}`),
			Companies: []userdata.CompanyUpsert{{ExternalID: "c0"}}},
			"attributes.plan: data_type number does not match the defined type string"},
		{"set_once", &userdata.UserUpsert{ExternalID: "new", Attributes: ops(t, "attributes", `{"n":{"set_once":"x","data_type":"string"}}`)},
			"attributes.n: data_type string does not match the defined type number"},
		{"earlier company", &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{
			{ExternalID: "c1", Attributes: userdata.Attributes{"size": "big"}},
			{ExternalID: "c2", Attributes: ops(t, "companies.1.attributes", `{"size":{"set":3,"data_type":"number"}}`)}}},
			"companies.1.attributes.size: data_type number does not match the defined type string"},
		{"membership", &userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{
			{Company: userdata.CompanyUpsert{ExternalID: "c3"}, Attributes: userdata.Attributes{"role": true}},
			{Company: userdata.CompanyUpsert{ExternalID: "c4"}, Attributes: ops(t, "memberships.1.attributes", `{"role":{"set":"x","data_type":"string"}}`)}}},
			"memberships.1.attributes.role: data_type string does not match the defined type boolean"},
	} {
		_, _, err := s.UpsertUser(ctx, tn, tc.in)
		if userdata.ErrorCode(err) != userdata.CodeInvalid || message(err) != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	u, err := s.GetUser(ctx, tn, "u", userdata.ExpandCompanies)
	if err != nil {
		t.Fatal(err)
	}
	if a := decode(t, u.Attributes); a["plan"] != "free" || a["x"] != nil || len(u.Companies) != 0 {
		t.Errorf("after the refused writes: %s with %d companies, want them unchanged", u.Attributes, len(u.Companies))
	}
	if _, err := s.GetUser(ctx, tn, "new", 0); userdata.ErrorCode(err) != userdata.CodeNotFound {
		t.Errorf("the refused creation created the user: %v", err)
	}
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"plan":{"set":"pro","data_type":"string"},"d":{"set_once":1,"data_type":"datetime"}}`)}); err != nil {
		t.Errorf("a data_type that agrees: %v", err)
	}
	_, err = s.TrackEvent(ctx, tn, &userdata.EventInput{Name: "e", UserID: "u", Attributes: userdata.Attributes{"k": 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	a := userdata.Attributes{"k": map[string]any{"set": "1", "data_type": "string"}}
	if err := userdata.ParseOperations("attributes", a, true); err != nil {
		t.Fatal(err)
	}
	_, err = s.TrackEvent(ctx, tn, &userdata.EventInput{Name: "e", UserID: "u", Attributes: a})
	if userdata.ErrorCode(err) != userdata.CodeInvalid || message(err) != "attributes.k: data_type string does not match the defined type number" {
		t.Errorf("an event whose data_type contradicts the definition: %v", err)
	}
	evs, err := s.ListEvents(ctx, tn, userdata.EventFilter{PageRequest: userdata.PageRequest{Limit: 10}})
	if err != nil || len(evs.Items) != 1 {
		t.Errorf("events after the refused one: %v, %v; want the first only", evs, err)
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
