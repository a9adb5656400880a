package postgres_test

import (
	"fmt"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

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
	stores := openNodes(t, cfg, discard(), 2, 8)
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
