package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// Import lines with operations apply exactly as the same upserts sent one
// by one, in order; a line whose operation cannot apply fails alone.
func testImportOperations(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	var ins []*userdata.UserUpsert
	for i := range 200 {
		ins = append(ins, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", fmt.Sprintf(`{"n":{"add":1},"seen":{"union":"%d"}}`, i%7))})
	}
	for i, r := range s.ImportUsers(ctx, tn, ins) {
		if r.Err != nil || r.Created != (i == 0) {
			t.Fatalf("import line %d: created %t, %v", i, r.Created, r.Err)
		}
	}
	got := unseeded(t, getUser(t, s, tn, "u", 0).Attributes)
	if diff := cmp.Diff(map[string]any{"n": 200.0, "seen": []any{"0", "1", "2", "3", "4", "5", "6"}}, got); diff != "" {
		t.Errorf("after 200 lines (-want +got):\n%s", diff)
	}

	lines := []*userdata.UserUpsert{
		{ExternalID: "v", Attributes: ops(t, "attributes", `{"s":"x"}`)},
		{ExternalID: "v", Attributes: ops(t, "attributes", `{"n":{"add":1},"s":{"add":1}}`)},
		{ExternalID: "v", Attributes: ops(t, "attributes", `{"n":{"add":1}}`)},
		{ExternalID: "v", Attributes: ops(t, "attributes", `{"n":{"add":1},"s":{"union":"y"}}`)},
		{ExternalID: "w", Companies: []userdata.CompanyUpsert{
			{ExternalID: "ic", Attributes: ops(t, "companies.0.attributes", `{"n":{"add":1}}`)},
			{ExternalID: "ic", Attributes: ops(t, "companies.1.attributes", `{"n":{"union":"x"}}`)}}},
		{ExternalID: "v", Attributes: ops(t, "attributes", `{"n":{"add":1}}`), Companies: []userdata.CompanyUpsert{
			{ExternalID: "ic", Attributes: ops(t, "companies.0.attributes", `{"n":{"add":1}}`)}}},
	}
	wantErrs := []string{"", "attributes.s: cannot add to a stored string", "", "attributes.s: cannot union with a stored string",
		"companies.1.attributes.n: cannot union with a stored number", ""}
	for i, r := range s.ImportUsers(ctx, tn, lines) {
		if wantErrs[i] == "" {
			if r.Err != nil {
				t.Errorf("line %d: %v", i, r.Err)
			}
			continue
		}
		wantInvalid(t, fmt.Sprintf("line %d", i), r.Err, wantErrs[i])
	}
	if got := unseeded(t, getUser(t, s, tn, "v", 0).Attributes); !cmp.Equal(got, map[string]any{"n": 2.0, "s": "x"}) {
		t.Errorf("v after the import: %v, want n 2 and s x", got)
	}
	_, err := s.GetUser(ctx, tn, "w", 0)
	wantCode(t, "GetUser(w) after its line failed", err, userdata.CodeNotFound, userdata.ResourceUser)
	if got := unseeded(t, getCompany(t, s, tn, "ic", 0).Attributes); !cmp.Equal(got, map[string]any{"n": 1.0}) {
		t.Errorf("ic after the import: %v, want n 1", got)
	}

	var cs []*userdata.CompanyUpsert
	for i := range 201 {
		js := `{"n":{"add":1}}`
		if i == 100 {
			js = `{"n":{"union":"x"}}`
		}
		cs = append(cs, &userdata.CompanyUpsert{ExternalID: "co", Attributes: ops(t, "attributes", js)})
	}
	for i, r := range s.ImportCompanies(ctx, tn, cs) {
		switch {
		case i == 100:
			wantInvalid(t, "company line 100", r.Err, "attributes.n: cannot union with a stored number")
		case r.Err != nil || r.Created != (i == 0):
			t.Fatalf("company line %d: created %t, %v", i, r.Created, r.Err)
		}
	}
	if n := decode(t, getCompany(t, s, tn, "co", 0).Attributes)["n"]; n != 200.0 {
		t.Errorf("company n = %v after 200 good lines, want 200", n)
	}
}

// Definitions created by operations take their type from the operation
// (operations.md §3); null and remove create none; data_type decides only
// at creation, and one that disagrees with the definition fails the write.
func testOperationDefinitions(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	defs := func(scope userdata.Scope) map[string]string {
		t.Helper()
		return defsByKey(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{Scope: scope}))
	}
	seeded := defs(userdata.ScopeUser)
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"cnt":{"add":1},"sub":{"subtract":1},
		"lst":{"union":"a"},"app":{"append":1},"emptyu":{"union":[]},"rm":{"remove":"x"},"nul":null,"setnul":{"set":null},
		"typed":{"set":"1","data_type":"number"},"once":{"set_once":"2024-01-01T00:00:00Z"},"oncetyped":{"set_once":1,"data_type":"string"},
		"lit":true,"prefs":{"x":1},"opobj":{"set":{"add":1}}}`)})
	got := defs(userdata.ScopeUser)
	want := map[string]string{"user/cnt": "number Cnt", "user/sub": "number Sub", "user/lst": "list Lst", "user/app": "list App",
		"user/emptyu": "list Emptyu", "user/typed": "number Typed", "user/once": "datetime Once", "user/oncetyped": "string Oncetyped",
		"user/lit": "boolean Lit", "user/prefs": "string Prefs", "user/opobj": "string Opobj"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("definition %s = %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(seeded)+len(want) {
		t.Errorf("%d user definitions, want %d seeded and %v (null, set null and remove create none)", len(got), len(seeded), want)
	}
	if a := unseeded(t, getUser(t, s, tn, "u", 0).Attributes); a["typed"] != "1" || a["oncetyped"] != 1.0 || len(a) != 11 {
		t.Errorf("attributes %v: want the values as sent, whatever the data_type, and no rm", a)
	}
	// A later remove of a key removed before still creates nothing.
	user(t, s, tn, "v", `{}`)
	if _, err := opUser(t, s, tn, "v", `{"rm":{"remove":["x"]},"rm2":null}`); err != nil {
		t.Fatal(err)
	}
	if got := defs(userdata.ScopeUser); got["user/rm"] != "" || got["user/rm2"] != "" {
		t.Errorf("remove and null created definitions: %v", got)
	}

	before := getUser(t, s, tn, "u", 0).Attributes
	for _, tt := range []struct{ js, want string }{
		{`{"typed":{"set":"x","data_type":"string"},"other":{"add":1}}`, "attributes.typed: data_type string does not match the defined type number"},
		{`{"cnt":{"set_once":1,"data_type":"list"},"cnt2":1}`, "attributes.cnt: data_type list does not match the defined type number"},
		{`{"lst":{"set":"2024-01-01T00:00:00Z","data_type":"datetime"}}`, "attributes.lst: data_type datetime does not match the defined type list"},
		{`{"email":{"set":"a@example.com","data_type":"list"}}`, "attributes.email: data_type list does not match the defined type string"},
		{`{"first_seen_at":{"set":"x","data_type":"string"}}`, "attributes.first_seen_at: data_type string does not match the defined type datetime"},
	} {
		_, err := opUser(t, s, tn, "u", tt.js)
		wantInvalid(t, "upsert "+tt.js, err, tt.want)
		_, err = opUser(t, s, tn, "new", tt.js)
		wantInvalid(t, "create "+tt.js, err, tt.want)
	}
	if got := getUser(t, s, tn, "u", 0).Attributes; string(got) != string(before) {
		t.Errorf("refused data_types changed the user: %s, was %s", got, before)
	}
	_, err := s.GetUser(ctx, tn, "new", 0)
	wantCode(t, "GetUser(new) after refused creates", err, userdata.CodeNotFound, userdata.ResourceUser)
	if got := defs(userdata.ScopeUser); got["user/other"] != "" || got["user/cnt2"] != "" || got["user/typed"] != "number Typed" {
		t.Errorf("refused data_types changed the definitions: %v", got)
	}
	// A data_type that agrees is fine; without data_type a value of
	// another type is stored as sent, and the definition stays (D11).
	for _, js := range []string{`{"typed":{"set":"2","data_type":"number"}}`, `{"typed":{"set":"x"},"cnt":"many"}`,
		`{"prefs":{"set":"s","data_type":"string"}}`, `{"email":{"set_once":"a@example.com","data_type":"string"}}`} {
		if _, err := opUser(t, s, tn, "u", js); err != nil {
			t.Errorf("upsert %s: %v", js, err)
		}
	}
	if got := defs(userdata.ScopeUser); got["user/typed"] != "number Typed" || got["user/cnt"] != "number Cnt" || got["user/prefs"] != "string Prefs" {
		t.Errorf("definitions after values of other types: %v", got)
	}

	// Scopes are separate: the same key is typed anew for companies and
	// memberships, and checked against its own scope's definition.
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{{
		Company:    userdata.CompanyUpsert{ExternalID: "c", Attributes: ops(t, "memberships.0.company.attributes", `{"typed":{"set":1,"data_type":"string"},"cnt":{"union":"a"}}`)},
		Attributes: ops(t, "memberships.0.attributes", `{"typed":{"set":"x","data_type":"list"},"cnt":{"set_once":true}}`)}}})
	if got := defs(userdata.ScopeCompany); got["company/typed"] != "string Typed" || got["company/cnt"] != "list Cnt" {
		t.Errorf("company definitions: %v", got)
	}
	if got := defs(userdata.ScopeMembership); got["companyMembership/typed"] != "list Typed" || got["companyMembership/cnt"] != "boolean Cnt" {
		t.Errorf("membership definitions: %v", got)
	}
	for _, tt := range []struct {
		in   *userdata.UserUpsert
		want string
	}{
		{&userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "c"},
			Attributes: ops(t, "memberships.0.attributes", `{"typed":{"set":"x","data_type":"string"}}`)}}},
			"memberships.0.attributes.typed: data_type string does not match the defined type list"},
		{&userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "c2",
			Attributes: ops(t, "companies.0.attributes", `{"typed":{"set":1,"data_type":"number"}}`)}}},
			"companies.0.attributes.typed: data_type number does not match the defined type string"},
	} {
		_, _, err := s.UpsertUser(ctx, tn, tt.in)
		wantInvalid(t, "upsert", err, tt.want)
	}
	_, _, err = s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "c", Attributes: ops(t, "attributes", `{"name":{"set":1,"data_type":"number"}}`)})
	wantInvalid(t, "UpsertCompany", err, "attributes.name: data_type number does not match the defined type string")
	_, err = s.GetCompany(ctx, tn, "c2", 0)
	wantCode(t, "GetCompany(c2) after a refused data_type", err, userdata.CodeNotFound, userdata.ResourceCompany)
}

// Event attributes take set with a data_type, which types a new
// definition and must agree with an existing one; a refused event records
// nothing.
func testEventOperations(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	user(t, s, tn, "u", `{}`)
	track := func(name, js string) (*userdata.Event, error) {
		return s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u", Name: name, Attributes: parseAttrs(t, "attributes", js, true)})
	}
	ev, err := track("paid", `{"amount":{"set":"5","data_type":"number"},"label":{"set":"x"},"gone":{"set":null},"obj":{"add":1,"x":1}}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"amount":"5","label":"x","obj":{"add":1,"x":1}}`; string(ev.Attributes) != want {
		t.Errorf("event attributes %s, want %s", ev.Attributes, want)
	}
	defs := defsByKey(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{EventNames: []string{"paid"}}))
	if diff := cmp.Diff(map[string]string{"eventDefinition/amount": "number Amount", "eventDefinition/label": "string Label",
		"eventDefinition/obj": "string Obj"}, defs); diff != "" {
		t.Errorf("event attribute definitions (-want +got):\n%s", diff)
	}
	eventDefs := func() int {
		l, err := s.ListEventDefinitions(ctx, tn, userdata.EventDefinitionFilter{PageRequest: page(100, "")})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	nDefs := eventDefs()
	for _, tt := range []struct{ name, js, want string }{
		{"paid", `{"amount":{"set":1,"data_type":"string"}}`, "attributes.amount: data_type string does not match the defined type number"},
		{"new_event", `{"flow_step_number":{"set":"3","data_type":"string"},"fresh":1}`, "attributes.flow_step_number: data_type string does not match the defined type number"},
	} {
		_, err := track(tt.name, tt.js)
		wantInvalid(t, "TrackEvent "+tt.js, err, tt.want)
	}
	if evs := listEvents(t, s, tn, userdata.EventFilter{}); len(evs) != 1 {
		t.Errorf("%d events after refused ones, want 1", len(evs))
	}
	if n := eventDefs(); n != nDefs {
		t.Errorf("%d event definitions after refused events, want %d", n, nDefs)
	}
	if all := defsByKey(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{Scope: userdata.ScopeEvent})); all["eventDefinition/fresh"] != "" {
		t.Errorf("a refused event created a definition: %v", all)
	}
	if _, err := track("paid", `{"amount":{"set":7,"data_type":"number"}}`); err != nil {
		t.Errorf("an agreeing data_type: %v", err)
	}
}
