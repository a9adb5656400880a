package storetest

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// allAttributeDefinitions lists every attribute definition matching f.
func allAttributeDefinitions(t *testing.T, s userdata.Store, tn userdata.Tenant, f userdata.AttributeDefinitionFilter) []*userdata.AttributeDefinition {
	t.Helper()
	var out []*userdata.AttributeDefinition
	f.Limit, f.Cursor = userdata.MaxLimit, ""
	if f.Sort == nil {
		f.Sort = []userdata.Sort{{Field: userdata.SortDisplayName}}
	}
	for {
		l, err := s.ListAttributeDefinitions(t.Context(), tn, f)
		if err != nil {
			t.Fatalf("ListAttributeDefinitions(%+v): %v", f, err)
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			return out
		}
		f.Cursor = l.NextCursor
	}
}

// defsByKey indexes definitions as "scope/codeName" -> "dataType displayName".
func defsByKey(defs []*userdata.AttributeDefinition) map[string]string {
	m := map[string]string{}
	for _, d := range defs {
		m[d.Scope.String()+"/"+d.CodeName] = d.DataType.String() + " " + d.DisplayName
	}
	return m
}

func testDefinitions(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "production")
	seeded := allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{})
	attrs0, _ := userdata.Predefined()
	if len(seeded) != len(attrs0) || len(seeded) != 76 {
		t.Fatalf("a new project has %d attribute definitions, want 76", len(seeded))
	}
	names := make([]string, len(seeded))
	for i, d := range seeded {
		names[i] = d.DisplayName
		if d.Description != "" || d.ID == "" || d.CreatedAt.IsZero() || !d.Predefined {
			t.Errorf("seeded definition %+v", d)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("default order is not displayName ascending: %v", names)
	}
	byKey := defsByKey(seeded)
	for k, want := range map[string]string{"user/email": "string Email", "user/first_seen_at": "datetime First Seen",
		"company/name": "string Company Name", "eventDefinition/flow_step_number": "number Flow Step Number"} {
		if byKey[k] != want {
			t.Errorf("seeded %s = %q, want %q", k, byKey[k], want)
		}
	}

	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: attrs(t, `{"plan":"pro","age":3,"vip":true,
		"tags":["a"],"prefs":{"x":1},"when":"2024-01-01T00:00:00Z","ms":"2024-01-01T00:00:00.123Z","bad":"2024-02-30T00:00:00Z",
		"six":"2024-01-01T00:00:00.000000Z","offset":"2024-01-01T00:00:00+00:00","gone":null,"email":7}`),
		Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "c", Attributes: attrs(t, `{"plan":1}`)},
			Attributes: attrs(t, `{"role":"admin"}`)}}})
	// A later value of another type changes neither the definition nor is it dropped.
	user(t, s, tn, "u2", `{"age":"old","plan":2}`)
	// Definitions are project-wide: another environment sees them.
	staging := Tenant(t, s, "p", "staging")
	got := defsByKey(allAttributeDefinitions(t, s, staging, userdata.AttributeDefinitionFilter{}))
	for k, want := range map[string]string{
		"user/plan": "string Plan", "user/age": "number Age", "user/vip": "boolean Vip", "user/tags": "list Tags",
		"user/prefs": "string Prefs", "user/when": "datetime When", "user/ms": "datetime Ms", "user/bad": "string Bad",
		"user/six": "string Six", "user/offset": "string Offset", "user/email": "string Email",
		"company/plan": "number Plan", "companyMembership/role": "string Role",
	} {
		if got[k] != want {
			t.Errorf("definition %s = %q, want %q", k, got[k], want)
		}
	}
	if _, ok := got["user/gone"]; ok {
		t.Error("a null value created a definition")
	}
	if len(got) != 76+12 {
		t.Errorf("%d definitions, want 76 seeded + 12 created", len(got))
	}
	// Another project sees only its own.
	other := allAttributeDefinitions(t, s, Tenant(t, s, "q", "production"), userdata.AttributeDefinitionFilter{})
	if len(other) != 76 {
		t.Errorf("another project has %d definitions, want its own 76", len(other))
	}
}

func testDefinitionFilters(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	user(t, s, tn, "u", `{"plan":"pro"}`)
	counts := map[userdata.Scope]int{}
	for _, scope := range []userdata.Scope{userdata.ScopeUser, userdata.ScopeCompany, userdata.ScopeMembership, userdata.ScopeEvent} {
		defs := allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{Scope: scope})
		counts[scope] = len(defs)
		for _, d := range defs {
			if d.Scope != scope {
				t.Errorf("scope %s listed %+v", scope, d)
			}
		}
	}
	want := map[userdata.Scope]int{userdata.ScopeUser: 7, userdata.ScopeCompany: 4, userdata.ScopeMembership: 0, userdata.ScopeEvent: 66}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("definitions per scope (-want +got):\n%s", diff)
	}
	_, events := userdata.Predefined()
	var flowStarted, pageViewed []string
	for _, e := range events {
		switch e.CodeName {
		case "flow_started":
			flowStarted = e.Attributes
		case "page_viewed":
			pageViewed = e.Attributes
		}
	}
	codes := func(f userdata.AttributeDefinitionFilter) []string {
		var out []string
		for _, d := range allAttributeDefinitions(t, s, tn, f) {
			out = append(out, d.CodeName)
		}
		sort.Strings(out)
		return out
	}
	want1 := append([]string{}, flowStarted...)
	sort.Strings(want1)
	if diff := cmp.Diff(want1, codes(userdata.AttributeDefinitionFilter{EventNames: []string{"flow_started"}})); diff != "" {
		t.Errorf("eventName=flow_started (-want +got):\n%s", diff)
	}
	union := map[string]bool{}
	for _, a := range append(append([]string{}, flowStarted...), pageViewed...) {
		union[a] = true
	}
	var want2 []string
	for a := range union {
		want2 = append(want2, a)
	}
	sort.Strings(want2)
	if diff := cmp.Diff(want2, codes(userdata.AttributeDefinitionFilter{EventNames: []string{"flow_started", "page_viewed", "nope"}})); diff != "" {
		t.Errorf("eventName=flow_started,page_viewed (-want +got):\n%s", diff)
	}
	if got := codes(userdata.AttributeDefinitionFilter{EventNames: []string{"flow_started"}, Scope: userdata.ScopeUser}); len(got) != 0 {
		t.Errorf("eventName with scope=user = %v, want none", got)
	}
	if got := codes(userdata.AttributeDefinitionFilter{EventNames: []string{"Flow_Started"}}); len(got) != 0 {
		t.Errorf("eventName is case-sensitive, got %v", got)
	}
}

func testEventDefinitions(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	_, events := userdata.Predefined()
	var want, got []string
	for _, e := range events {
		want = append(want, e.CodeName+" "+e.DisplayName)
	}
	f := userdata.EventDefinitionFilter{PageRequest: page(7, "")}
	for {
		l, err := s.ListEventDefinitions(t.Context(), tn, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range l.Items {
			got = append(got, d.CodeName+" "+d.DisplayName)
		}
		if l.NextCursor == "" {
			break
		}
		f.Cursor = l.NextCursor
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event definitions in createdAt order (-want +got):\n%s", diff)
	}
	l, err := s.ListEventDefinitions(t.Context(), tn, userdata.EventDefinitionFilter{PageRequest: page(3, "", userdata.Sort{Field: userdata.SortCodeName, Desc: true})})
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, d := range l.Items {
		desc = append(desc, d.CodeName)
	}
	if !sort.IsSorted(sort.Reverse(sort.StringSlice(desc))) || len(desc) != 3 {
		t.Errorf("-codeName page = %v", desc)
	}
}
