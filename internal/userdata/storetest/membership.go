package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// membershipOf returns the user's membership in the company, read back
// through GetUser.
func membershipOf(t *testing.T, s userdata.Store, tn userdata.Tenant, userID, companyID string) *userdata.Membership {
	t.Helper()
	for _, m := range getUser(t, s, tn, userID, userdata.ExpandMemberships|userdata.ExpandMembershipCompany).Memberships {
		if m.Company.ExternalID == companyID {
			m.Company = nil
			return m
		}
	}
	t.Fatalf("%s is not a member of %s", userID, companyID)
	return nil
}

// UpsertMembership creates and merges exactly as a user upsert's
// memberships[] do, step by step (operations, nulls, data_types, errors),
// and returns the membership as stored.
func testUpsertMembership(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	for _, id := range []string{"u", "v1-user"} {
		user(t, s, tn, id, `{}`)
	}
	for _, id := range []string{"acme", "v1-co"} {
		if _, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: id}); err != nil {
			t.Fatal(err)
		}
	}
	var first *userdata.Membership
	for i, js := range []string{
		`{"role":"admin","team":"x","drop":null}`,
		`{"role":null,"logins":{"add":1},"tags":{"union":["a"]},"since":{"set_once":2020}}`,
		`{}`,
		`{"logins":{"add":2},"tags":{"append":["b","a"]},"since":{"set_once":2021},"team":{"set":"y","data_type":"string"}}`,
		`{"tags":{"remove":"a"},"logins":{"subtract":1}}`,
		`{"team":{"add":1}}`,                                 // cannot apply: nothing changes
		`{"logins":{"set":"5","data_type":"string"}}`,        // logins is defined a number
		`{"new_key":1,"team":{"union":["z"]},"logins":null}`, // cannot apply: none of it is stored
	} {
		m, err := s.UpsertMembership(ctx, tn, "acme", "u", ops(t, "memberships.0.attributes", js))
		_, _, v1Err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "v1-user", Memberships: []userdata.MembershipUpsert{
			{Company: userdata.CompanyUpsert{ExternalID: "v1-co"}, Attributes: ops(t, "memberships.0.attributes", js)}}})
		if userdata.ErrorCode(err) != userdata.ErrorCode(v1Err) || (err != nil && err.Error() != v1Err.Error()) {
			t.Errorf("step %d, %s: UpsertMembership error %v, a user upsert's %v", i, js, err, v1Err)
		}
		stored := membershipOf(t, s, tn, "u", "acme")
		if v1 := membershipOf(t, s, tn, "v1-user", "v1-co"); !cmp.Equal(decode(t, stored.Attributes), decode(t, v1.Attributes)) {
			t.Errorf("step %d, %s: attributes %s, a user upsert's %s", i, js, stored.Attributes, v1.Attributes)
		}
		if err != nil {
			continue
		}
		if diff := cmp.Diff(stored, m); diff != "" {
			t.Errorf("step %d, %s: returned membership (-read back +returned):\n%s", i, js, diff)
		}
		if first == nil {
			first = m
		} else if m.ID != first.ID || !m.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("step %d: membership %s created %v, first %s created %v", i, m.ID, m.CreatedAt, first.ID, first.CreatedAt)
		}
	}
	u, co := getUser(t, s, tn, "u", 0), getCompany(t, s, tn, "acme", 0)
	if first.UserID != u.ID || first.CompanyID != co.ID || first.CreatedAt.IsZero() {
		t.Errorf("membership %+v: want internal ids %s and %s and a creation time", first, u.ID, co.ID)
	}
	if got := decode(t, first.Attributes); !cmp.Equal(got, map[string]any{"role": "admin", "team": "x"}) {
		t.Errorf("the first step returned %v, want its own attributes", got)
	}
	want := map[string]any{"team": "y", "logins": 2.0, "tags": []any{"b"}, "since": 2020.0}
	if diff := cmp.Diff(want, decode(t, membershipOf(t, s, tn, "u", "acme").Attributes)); diff != "" {
		t.Errorf("membership after every step (-want +got):\n%s", diff)
	}
	// Definitions of scope companyMembership come as from a user upsert.
	defs := map[string]string{}
	for _, d := range scopeDefinitions(t, s, tn, userdata.ScopeMembership) {
		defs[d.CodeName] = d.DataType.String()
	}
	for k, dt := range map[string]string{"role": "string", "team": "string", "logins": "number", "tags": "list", "since": "number"} {
		if defs[k] != dt {
			t.Errorf("definition of %s: %q, want %s (all: %v)", k, defs[k], dt, defs)
		}
	}

	// A deleted membership comes back empty but for what is added.
	if _, err := s.DeleteMembership(ctx, tn, "u", "acme"); err != nil {
		t.Fatal(err)
	}
	again, err := s.UpsertMembership(ctx, tn, "acme", "u", attrs(t, `{"b":1}`))
	if err != nil || again.ID == first.ID || !cmp.Equal(decode(t, again.Attributes), map[string]any{"b": 1.0}) {
		t.Errorf("UpsertMembership after DeleteMembership = %+v, %v; want a new membership with only b", again, err)
	}
	// Without attributes, a new membership is {} and an existing one stays.
	user(t, s, tn, "plain", `{}`)
	for range 2 {
		m, err := s.UpsertMembership(ctx, tn, "acme", "plain", nil)
		if err != nil || string(m.Attributes) != "{}" {
			t.Errorf("UpsertMembership(nil) = %+v, %v; want {}", m, err)
		}
	}
	if m, err := s.UpsertMembership(ctx, tn, "acme", "u", userdata.Attributes{}); err != nil || !cmp.Equal(decode(t, m.Attributes), map[string]any{"b": 1.0}) {
		t.Errorf("UpsertMembership(empty) of an existing membership = %+v, %v; want it unchanged", m, err)
	}
}

// scopeDefinitions lists a project's attribute definitions of one scope.
func scopeDefinitions(t *testing.T, s userdata.Store, tn userdata.Tenant, scope userdata.Scope) []*userdata.AttributeDefinition {
	t.Helper()
	l, err := s.ListAttributeDefinitions(t.Context(), tn, userdata.AttributeDefinitionFilter{PageRequest: page(100, ""), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// UpsertMembership looks for the company first, then the user, each in
// the tenant's environment only, and writes nothing, not even
// definitions, when either is missing; an operation that cannot apply
// does not hide a missing company or user.
func testUpsertMembershipMissing(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	user(t, s, tn, "u", `{}`)
	user(t, s, other, "elsewhere", `{}`)
	if _, _, err := s.UpsertCompany(ctx, other, &userdata.CompanyUpsert{ExternalID: "initech"}); err != nil {
		t.Fatal(err)
	}
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "member", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "acme"}, Attributes: attrs(t, `{"n":"text"}`)}}})
	for _, tt := range []struct {
		company, user, resource string
	}{
		{"nope", "nope", userdata.ResourceCompany},
		{"nope", "u", userdata.ResourceCompany},
		{"initech", "u", userdata.ResourceCompany}, // another environment's
		{"acme", "nope", userdata.ResourceUser},
		{"acme", "elsewhere", userdata.ResourceUser},
		{"a\x00", "u", userdata.ResourceCompany},
		{"acme", "u\x00", userdata.ResourceUser},
	} {
		for i, js := range []string{`{"fresh_key":1}`, `{"n":{"add":1},"other_fresh":true}`} {
			_, err := s.UpsertMembership(ctx, tn, tt.company, tt.user, ops(t, "attributes", js))
			wantCode(t, fmt.Sprintf("UpsertMembership(%q, %q) %d", tt.company, tt.user, i), err, userdata.CodeNotFound, tt.resource)
		}
	}
	for _, d := range scopeDefinitions(t, s, tn, userdata.ScopeMembership) {
		if slices.Contains([]string{"fresh_key", "other_fresh"}, d.CodeName) {
			t.Errorf("a failed UpsertMembership defined %s", d.CodeName)
		}
	}
	if ms := getUser(t, s, tn, "u", userdata.ExpandMemberships).Memberships; len(ms) != 0 {
		t.Errorf("a failed UpsertMembership made memberships %+v", ms)
	}
	if got := membershipOf(t, s, tn, "member", "acme").Attributes; !json.Valid(got) || string(got) != `{"n":"text"}` {
		t.Errorf("a failed UpsertMembership changed a membership: %s", got)
	}
}
