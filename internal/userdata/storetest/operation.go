package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// ops decodes a JSON object literal into Attributes and parses its
// operations, as the HTTP layer does for the map it names field
// (attributes, companies.0.attributes).
func ops(t *testing.T, field, js string) userdata.Attributes {
	t.Helper()
	return parseAttrs(t, field, js, false)
}

// parseAttrs is ops, for event attributes when eventsOnly.
func parseAttrs(t *testing.T, field, js string, eventsOnly bool) userdata.Attributes {
	t.Helper()
	a, err := userdata.DecodeAttributes([]byte(js))
	if err == nil {
		err = userdata.ParseOperations(field, a, eventsOnly)
	}
	if err != nil {
		t.Fatalf("bad test attributes %s: %v", js, err)
	}
	return a
}

// opUser upserts a user with attributes js, operations parsed.
func opUser(t *testing.T, s userdata.Store, tn userdata.Tenant, id, js string) (*userdata.User, error) {
	t.Helper()
	u, _, err := s.UpsertUser(t.Context(), tn, &userdata.UserUpsert{ExternalID: id, Attributes: ops(t, "attributes", js)})
	return u, err
}

// wantInvalid fails unless err is CodeInvalid with the message want.
func wantInvalid(t *testing.T, what string, err error, want string) {
	t.Helper()
	var e *userdata.Error
	if !errors.As(err, &e) || e.Code != userdata.CodeInvalid {
		t.Errorf("%s: error %v, want CodeInvalid %q", what, err, want)
		return
	}
	if e.Message != want {
		t.Errorf("%s: message %q, want %q", what, e.Message, want)
	}
}

// unseeded decodes stored attributes without the seeded timestamps, which
// it checks are there.
func unseeded(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	m := decode(t, raw)
	for _, k := range []string{"first_seen_at", "last_seen_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("attributes %s lost %s", raw, k)
		}
		delete(m, k)
	}
	return m
}

// numberText returns the text of the number stored under key in raw.
func numberText(t *testing.T, raw json.RawMessage, key string) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	n, _ := m[key].(json.Number)
	return string(n)
}

// Every operation of operations.md §2 on a user's attributes, through
// UpsertUser: the answer is the stored result after the operations, as a
// read shows it.
func testOperations(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	for _, step := range []struct {
		js   string
		want map[string]any
	}{
		// On a new user, operations apply to the seed: add starts at 0,
		// union at [], remove and null of missing keys store nothing.
		{`{"logins":{"add":1},"tags":{"union":["a","b","a"]},"gone":{"remove":"x"},"plan":{"set_once":"trial"},"vip":{"set":true},"none":null,"unset":{"set":null}}`,
			map[string]any{"logins": 1.0, "tags": []any{"a", "b"}, "plan": "trial", "vip": true}},
		{`{"logins":{"add":2},"tags":{"union":["c","a"]},"plan":{"set_once":"pro"}}`,
			map[string]any{"logins": 3.0, "tags": []any{"a", "b", "c"}, "plan": "trial", "vip": true}},
		{`{"logins":{"subtract":0.5},"tags":{"append":"d"},"more":{"prepend":[1,"1",true]}}`,
			map[string]any{"logins": 2.5, "tags": []any{"a", "b", "c", "d"}, "more": []any{1.0, "1", true}, "plan": "trial", "vip": true}},
		{`{"tags":{"remove":["a","z"]},"more":{"remove":1},"logins":{"add":-2.5}}`,
			map[string]any{"logins": 0.0, "tags": []any{"b", "c", "d"}, "more": []any{"1", true}, "plan": "trial", "vip": true}},
		// Emptying a list leaves [].
		{`{"more":{"remove":["1",true]}}`,
			map[string]any{"logins": 0.0, "tags": []any{"b", "c", "d"}, "more": []any{}, "plan": "trial", "vip": true}},
		// set_once works again after a removal.
		{`{"plan":null,"more":{"set":null}}`,
			map[string]any{"logins": 0.0, "tags": []any{"b", "c", "d"}, "vip": true}},
		{`{"plan":{"set_once":"again"},"more":{"union":[]}}`,
			map[string]any{"logins": 0.0, "tags": []any{"b", "c", "d"}, "plan": "again", "more": []any{}, "vip": true}},
		// Equality is JSON equality of scalars.
		{`{"more":{"union":[1,"1",1.0,true,"true"]}}`,
			map[string]any{"logins": 0.0, "tags": []any{"b", "c", "d"}, "plan": "again", "more": []any{1.0, "1", true, "true"}, "vip": true}},
		// Objects that are not operations are literals, as before.
		{`{"more":null,"tags":null,"obj":{},"o2":{"add":1,"x":2},"o3":{"set":{"add":1}}}`,
			map[string]any{"logins": 0.0, "plan": "again", "vip": true,
				"obj": map[string]any{}, "o2": map[string]any{"add": 1.0, "x": 2.0}, "o3": map[string]any{"add": 1.0}}},
	} {
		u, err := opUser(t, s, tn, "u", step.js)
		if err != nil {
			t.Fatalf("upsert %s: %v", step.js, err)
		}
		if diff := cmp.Diff(step.want, unseeded(t, u.Attributes)); diff != "" {
			t.Fatalf("answer to %s (-want +got):\n%s", step.js, diff)
		}
		if diff := cmp.Diff(step.want, unseeded(t, getUser(t, s, tn, "u", 0).Attributes)); diff != "" {
			t.Fatalf("stored after %s (-want +got):\n%s", step.js, diff)
		}
	}
	before := getUser(t, s, tn, "u", 0).Attributes
	// A write whose result equals what is stored answers it unchanged.
	u, err := opUser(t, s, tn, "u", `{"plan":{"set_once":"x"},"logins":{"add":0},"missing":{"remove":"q"},"vip":{"set":true},"obj":{}}`)
	if err != nil || !bytes.Equal(u.Attributes, before) {
		t.Errorf("no-op upsert = %s, %v; want %s", u.Attributes, err, before)
	}
	// An operation that cannot apply to the stored value fails the whole
	// upsert, and changes nothing.
	for _, tt := range []struct{ js, want string }{
		{`{"logins":{"add":100},"plan":{"add":1}}`, "attributes.plan: cannot add to a stored string"},
		{`{"vip":{"subtract":1},"fresh":1}`, "attributes.vip: cannot add to a stored boolean"},
		{`{"obj":{"add":1}}`, "attributes.obj: cannot add to a stored object"},
		{`{"logins":{"union":"a"},"plan":"changed"}`, "attributes.logins: cannot union with a stored number"},
		{`{"plan":{"append":"a"}}`, "attributes.plan: cannot union with a stored string"},
		{`{"vip":{"remove":true},"logins":{"add":1}}`, "attributes.vip: cannot remove from a stored boolean"},
		{`{"o2":{"remove":"x"}}`, "attributes.o2: cannot remove from a stored object"},
	} {
		_, err := opUser(t, s, tn, "u", tt.js)
		wantInvalid(t, "upsert "+tt.js, err, tt.want)
	}
	if got := getUser(t, s, tn, "u", 0).Attributes; !bytes.Equal(got, before) {
		t.Errorf("failed upserts changed the user: %s, was %s", got, before)
	}
	// A failed operation on a new user creates no user.
	_, err = opUser(t, s, tn, "new", `{"n":{"add":1},"last_seen_at":{"add":1}}`)
	wantInvalid(t, "add to a seeded timestamp", err, "attributes.last_seen_at: cannot add to a stored string")
	_, err = s.GetUser(t.Context(), tn, "new", 0)
	wantCode(t, "GetUser after a failed create", err, userdata.CodeNotFound, userdata.ResourceUser)
}

// Numbers that operations compute are doubles, stored and read back as
// JavaScript prints them.
func testOperationNumbers(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	for _, js := range []string{
		`{"f":{"add":0.1},"z":{"add":-0},"big":{"add":6e20},"safe":{"add":9007199254740992},"neg":{"subtract":0}}`,
		`{"f":{"add":0.2},"z":{"subtract":0},"big":{"add":6e20},"safe":{"add":1},"huge":1e308}`,
	} {
		if _, err := opUser(t, s, tn, "u", js); err != nil {
			t.Fatalf("upsert %s: %v", js, err)
		}
	}
	want := map[string]string{"f": "0.30000000000000004", "z": "0", "big": "1.2e+21", "safe": "9007199254740992", "neg": "0", "huge": "1e+308"}
	u := getUser(t, s, tn, "u", 0)
	for k, w := range want {
		if got := numberText(t, u.Attributes, k); got != w {
			t.Errorf("%s = %s, want %s (all: %s)", k, got, w, u.Attributes)
		}
	}
	_, err := opUser(t, s, tn, "u", `{"huge":{"add":1e308}}`)
	wantInvalid(t, "sum past the largest double", err, "attributes.huge: the sum is too large for a number")
	if got := numberText(t, getUser(t, s, tn, "u", 0).Attributes, "huge"); got != "1e+308" {
		t.Errorf("huge after a failed add = %s", got)
	}
}

// Company attributes take the same operations, through UpsertCompany, the
// companies of a user upsert, and the companies of its memberships; one
// upsert naming a company twice applies both in order.
func testCompanyOperations(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	c, created, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "co",
		Attributes: ops(t, "attributes", `{"seats":{"add":5},"features":{"union":["sso","sso"]},"name":{"set_once":"Acme"},"x":{"remove":1}}`)})
	if err != nil || !created {
		t.Fatalf("UpsertCompany: created %t, %v", created, err)
	}
	want := map[string]any{"seats": 5.0, "features": []any{"sso"}, "name": "Acme"}
	if diff := cmp.Diff(want, unseeded(t, c.Attributes)); diff != "" {
		t.Errorf("created company (-want +got):\n%s", diff)
	}
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{
		{ExternalID: "co", Attributes: ops(t, "companies.0.attributes", `{"seats":{"add":1},"name":{"set_once":"Other"}}`)},
		{ExternalID: "co", Attributes: ops(t, "companies.1.attributes", `{"seats":{"add":1},"features":{"union":["audit","sso"]}}`)},
	}})
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "v", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "co", Attributes: ops(t, "memberships.0.company.attributes", `{"seats":{"subtract":0.5},"features":{"remove":"sso"}}`)}},
	}})
	want = map[string]any{"seats": 6.5, "features": []any{"audit"}, "name": "Acme"}
	if diff := cmp.Diff(want, unseeded(t, getCompany(t, s, tn, "co", 0).Attributes)); diff != "" {
		t.Errorf("company after user upserts (-want +got):\n%s", diff)
	}
	c, _, err = s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "co", Attributes: ops(t, "attributes", `{"features":{"remove":"audit"},"seats":{"add":0.5}}`)})
	want = map[string]any{"seats": 7.0, "features": []any{}, "name": "Acme"}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, unseeded(t, c.Attributes)); diff != "" {
		t.Errorf("UpsertCompany answer (-want +got):\n%s", diff)
	}
	before := getCompany(t, s, tn, "co", 0).Attributes
	for _, tt := range []struct {
		in   *userdata.UserUpsert
		want string
	}{
		{&userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{
			{ExternalID: "co", Attributes: ops(t, "companies.0.attributes", `{"name":{"union":"x"}}`)}}},
			"companies.0.attributes.name: cannot union with a stored string"},
		{&userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{
			{Company: userdata.CompanyUpsert{ExternalID: "co", Attributes: ops(t, "memberships.0.company.attributes", `{"seats":{"add":1}}`)}},
			{Company: userdata.CompanyUpsert{ExternalID: "co", Attributes: ops(t, "memberships.1.company.attributes", `{"features":{"add":1}}`)}}}},
			"memberships.1.company.attributes.features: cannot add to a stored list"},
	} {
		_, _, err := s.UpsertUser(ctx, tn, tt.in)
		wantInvalid(t, "user upsert", err, tt.want)
	}
	_, _, err = s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "co", Attributes: ops(t, "attributes", `{"seats":{"add":1},"name":{"remove":"Acme"}}`)})
	wantInvalid(t, "UpsertCompany", err, "attributes.name: cannot remove from a stored string")
	if got := getCompany(t, s, tn, "co", 0).Attributes; !bytes.Equal(got, before) {
		t.Errorf("failed upserts changed the company: %s, was %s", got, before)
	}
}

// Membership attributes take the same operations; a new membership starts
// from {} (no seed).
func testMembershipOperations(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	membership := func(js string) *userdata.UserUpsert {
		return &userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{
			{Company: userdata.CompanyUpsert{ExternalID: "acme"}, Attributes: ops(t, "memberships.0.attributes", js)}}}
	}
	read := func() map[string]any {
		t.Helper()
		ms := getUser(t, s, tn, "u", userdata.ExpandMemberships).Memberships
		if len(ms) != 1 {
			t.Fatalf("memberships %+v, want one", ms)
		}
		return decode(t, ms[0].Attributes)
	}
	for _, step := range []struct {
		js   string
		want map[string]any
	}{
		{`{"logins":{"add":1},"roles":{"union":["admin"]},"x":{"remove":"a"},"since":{"set_once":2020}}`,
			map[string]any{"logins": 1.0, "roles": []any{"admin"}, "since": 2020.0}},
		{`{"logins":{"add":2},"roles":{"append":["owner","admin"]},"since":{"set_once":2021}}`,
			map[string]any{"logins": 3.0, "roles": []any{"admin", "owner"}, "since": 2020.0}},
		{`{"roles":{"remove":["admin","owner"]},"since":null}`,
			map[string]any{"logins": 3.0, "roles": []any{}}},
		{`{"since":{"set_once":2022},"logins":{"subtract":3}}`,
			map[string]any{"logins": 0.0, "roles": []any{}, "since": 2022.0}},
	} {
		upsertUser(t, s, tn, membership(step.js))
		if diff := cmp.Diff(step.want, read()); diff != "" {
			t.Fatalf("membership after %s (-want +got):\n%s", step.js, diff)
		}
	}
	before := read()
	_, _, err := s.UpsertUser(t.Context(), tn, membership(`{"logins":{"add":1},"since":{"union":"x"}}`))
	wantInvalid(t, "union on a stored number", err, "memberships.0.attributes.since: cannot union with a stored number")
	_, _, err = s.UpsertUser(t.Context(), tn, membership(`{"roles":{"add":1}}`))
	wantInvalid(t, "add on a stored list", err, "memberships.0.attributes.roles: cannot add to a stored list")
	// The companies path leaves the membership's attributes alone.
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	if diff := cmp.Diff(before, read()); diff != "" {
		t.Errorf("membership after failed upserts and a companies upsert (-want +got):\n%s", diff)
	}
}

// An upsert is applied whole or not at all: an operation that cannot apply
// in any part of it leaves the user, every company and every membership as
// they were, and creates nothing.
func testOperationAtomicity(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: attrs(t, `{"n":1}`), Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "c0", Attributes: attrs(t, `{"n":1}`)}, Attributes: attrs(t, `{"m":1}`)},
		{Company: userdata.CompanyUpsert{ExternalID: "c1", Attributes: attrs(t, `{"plan":"pro"}`)}, Attributes: attrs(t, `{"m":1}`)},
	}})
	snapshot := func() string {
		t.Helper()
		u := getUser(t, s, tn, "u", userdata.ExpandMemberships|userdata.ExpandMembershipCompany)
		out := string(u.Attributes)
		for _, m := range u.Memberships {
			out += " " + m.Company.ExternalID + string(m.Company.Attributes) + string(m.Attributes)
		}
		return out
	}
	before := snapshot()
	for _, tt := range []struct {
		in   *userdata.UserUpsert
		want string
	}{
		{&userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"n":{"add":1},"t":{"union":"x"}}`), Companies: []userdata.CompanyUpsert{
			{ExternalID: "c0", Attributes: ops(t, "companies.0.attributes", `{"n":{"add":1}}`)},
			{ExternalID: "c2", Attributes: ops(t, "companies.1.attributes", `{"n":{"add":1}}`)},
			{ExternalID: "c1", Attributes: ops(t, "companies.2.attributes", `{"plan":{"add":1}}`)},
		}}, "companies.2.attributes.plan: cannot add to a stored string"},
		{&userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"n":{"add":1}}`), Memberships: []userdata.MembershipUpsert{
			{Company: userdata.CompanyUpsert{ExternalID: "c0", Attributes: ops(t, "memberships.0.company.attributes", `{"n":{"add":1}}`)},
				Attributes: ops(t, "memberships.0.attributes", `{"m":{"add":1}}`)},
			{Company: userdata.CompanyUpsert{ExternalID: "c2"}, Attributes: ops(t, "memberships.1.attributes", `{"m":{"add":1}}`)},
			{Company: userdata.CompanyUpsert{ExternalID: "c1"}, Attributes: ops(t, "memberships.2.attributes", `{"m":{"union":"x"}}`)},
		}}, "memberships.2.attributes.m: cannot union with a stored number"},
		{&userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"n":{"add":1}}`), Memberships: []userdata.MembershipUpsert{
			{Company: userdata.CompanyUpsert{ExternalID: "c0"}, Attributes: ops(t, "memberships.0.attributes", `{"m":{"add":1}}`)},
			{Company: userdata.CompanyUpsert{ExternalID: "c1", Attributes: ops(t, "memberships.1.company.attributes", `{"plan":{"remove":"pro"}}`)}},
		}}, "memberships.1.company.attributes.plan: cannot remove from a stored string"},
		// A user that does not exist yet is not created.
		{&userdata.UserUpsert{ExternalID: "fresh", Attributes: ops(t, "attributes", `{"n":{"add":1}}`), Companies: []userdata.CompanyUpsert{
			{ExternalID: "c0", Attributes: ops(t, "companies.0.attributes", `{"n":{"add":1}}`)},
			{ExternalID: "c1", Attributes: ops(t, "companies.1.attributes", `{"plan":{"add":1}}`)},
		}}, "companies.1.attributes.plan: cannot add to a stored string"},
	} {
		_, _, err := s.UpsertUser(ctx, tn, tt.in)
		wantInvalid(t, "upsert of "+tt.in.ExternalID, err, tt.want)
		if after := snapshot(); after != before {
			t.Errorf("a failed upsert (%s) changed what is stored:\n%s\nwas\n%s", tt.want, after, before)
		}
	}
	_, err := s.GetUser(ctx, tn, "fresh", 0)
	wantCode(t, "GetUser(fresh)", err, userdata.CodeNotFound, userdata.ResourceUser)
	_, err = s.GetCompany(ctx, tn, "c2", 0)
	wantCode(t, "GetCompany(c2)", err, userdata.CodeNotFound, userdata.ResourceCompany)
	c0 := getCompany(t, s, tn, "c0", userdata.ExpandUsers)
	if len(c0.Users) != 1 {
		t.Errorf("c0 has %d users, want only u", len(c0.Users))
	}
	// The store goes on: the same upsert without the bad part applies.
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"n":{"add":1}}`), Companies: []userdata.CompanyUpsert{
		{ExternalID: "c0", Attributes: ops(t, "companies.0.attributes", `{"n":{"add":1}}`)}}})
	if n := decode(t, getUser(t, s, tn, "u", 0).Attributes)["n"]; n != 2.0 {
		t.Errorf("user n = %v after one good add, want 2", n)
	}
	if n := decode(t, getCompany(t, s, tn, "c0", 0).Attributes)["n"]; n != 2.0 {
		t.Errorf("c0 n = %v after one good add, want 2", n)
	}
}

// The email filter follows an email written by an operation.
func testOperationEmail(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	byEmail := func(email string) []string {
		t.Helper()
		l, err := s.ListUsers(t.Context(), tn, userdata.UserFilter{PageRequest: page(10, ""), Email: email})
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, u := range l.Items {
			ids = append(ids, u.ExternalID)
		}
		return ids
	}
	for _, step := range []struct {
		id, js string
		email  string
		want   []string
	}{
		{"a", `{"email":{"set_once":"a@example.com"}}`, "a@example.com", []string{"a"}},
		{"b", `{}`, "b@example.com", []string{}},
		{"b", `{"email":{"set_once":"b@example.com"},"n":{"add":1}}`, "b@example.com", []string{"b"}},
		{"b", `{"email":{"set_once":"other@example.com"}}`, "b@example.com", []string{"b"}},
		{"a", `{"email":{"set":"b@example.com","data_type":"string"}}`, "b@example.com", []string{"a", "b"}},
		{"a", `{"email":{"set":null},"n":{"add":1}}`, "b@example.com", []string{"b"}},
	} {
		if _, err := opUser(t, s, tn, step.id, step.js); err != nil {
			t.Fatalf("upsert %s %s: %v", step.id, step.js, err)
		}
		if got := byEmail(step.email); !cmp.Equal(got, step.want) {
			t.Errorf("after %s %s: users with email %s = %v, want %v", step.id, step.js, step.email, got, step.want)
		}
	}
}
