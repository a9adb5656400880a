package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func testKeys(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	key, hash, prefix := userdata.NewKey()
	k, err := s.CreateKey(ctx, "p1", "production", hash, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Active || k.Project != "p1" || k.Environment != "production" || k.ID == "" {
		t.Errorf("CreateKey = %+v, want an active key of p1/production", k)
	}
	tn, err := s.Authenticate(ctx, userdata.HashKey(userdata.TokenFromKey(key)))
	if err != nil {
		t.Fatalf("Authenticate(new key): %v", err)
	}
	// A second key of the same environment opens the same tenant; another
	// environment of the project shares the project only.
	if got := Tenant(t, s, "p1", "production"); got != tn {
		t.Errorf("second key's tenant %+v, want %+v", got, tn)
	}
	staging := Tenant(t, s, "p1", "staging")
	if staging.ProjectID != tn.ProjectID || staging.EnvironmentID == tn.EnvironmentID {
		t.Errorf("staging tenant %+v vs production %+v: want same project, other environment", staging, tn)
	}
	_, err = s.Authenticate(ctx, userdata.HashKey("nope"))
	wantCode(t, "Authenticate(unknown)", err, userdata.CodeForbidden, "")

	keys, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || keys[0].ID != k.ID || keys[0].Prefix != prefix {
		t.Fatalf("ListKeys = %d keys, first %+v; want 3, first %s", len(keys), keys[0], k.ID)
	}
	if err := s.RevokeKey(ctx, k.ID); err != nil {
		t.Fatalf("RevokeKey(id): %v", err)
	}
	_, err = s.Authenticate(ctx, hash)
	wantCode(t, "Authenticate(revoked)", err, userdata.CodeForbidden, "")
	_, hash2, prefix2 := userdata.NewKey()
	if _, err := s.CreateKey(ctx, "p1", "production", hash2, prefix2); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, hash2); err != nil {
		t.Fatalf("RevokeKey(hash): %v", err)
	}
	_, err = s.Authenticate(ctx, hash2)
	wantCode(t, "Authenticate(revoked by hash)", err, userdata.CodeForbidden, "")
	wantCode(t, "RevokeKey(unknown)", s.RevokeKey(ctx, "nope"), userdata.CodeNotFound, userdata.ResourceKey)
	keys, _ = s.ListKeys(ctx)
	if keys[0].Active {
		t.Errorf("ListKeys after revoke: %+v still active", keys[0])
	}
}

func testUpsertUser(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	u, created := upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "usr_1", Attributes: attrs(t,
		`{"name":"John Doe","email":"john@example.com","signed_up_at":"2024-03-20T08:30:00.000Z","n":1.5,"tags":["a",2]}`)})
	if !created {
		t.Error("first upsert: created = false")
	}
	if u.ExternalID != "usr_1" || u.ID == "" || u.ID == "usr_1" || u.CreatedAt.IsZero() {
		t.Errorf("upsert returned %+v", u)
	}
	if u.Companies != nil || u.Memberships != nil {
		t.Errorf("upsert returned expanded relations: %+v", u)
	}
	got := decode(t, u.Attributes)
	seen := userdata.FormatTime(u.CreatedAt)
	want := map[string]any{"name": "John Doe", "email": "john@example.com", "signed_up_at": "2024-03-20T08:30:00.000Z",
		"n": 1.5, "tags": []any{"a", 2.0}, "first_seen_at": seen, "last_seen_at": seen}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attributes after create (-want +got):\n%s", diff)
	}

	again, created := upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "usr_1", Attributes: attrs(t, `{"name":"John Doe"}`)})
	if created {
		t.Error("second upsert: created = true")
	}
	if !again.CreatedAt.Equal(u.CreatedAt) || again.ID != u.ID {
		t.Errorf("second upsert changed identity: %+v, was %+v", again, u)
	}
	if diff := cmp.Diff(want, decode(t, again.Attributes)); diff != "" {
		t.Errorf("same attributes again changed them (-want +got):\n%s", diff)
	}
	read := getUser(t, s, tn, "usr_1", 0)
	if diff := cmp.Diff(want, decode(t, read.Attributes)); diff != "" {
		t.Errorf("GetUser attributes (-want +got):\n%s", diff)
	}
	if read.Companies != nil || read.Memberships != nil {
		t.Errorf("unexpanded GetUser has relations: %+v", read)
	}
	if !read.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("GetUser createdAt %v, want %v", read.CreatedAt, u.CreatedAt)
	}
	if d := time.Since(read.CreatedAt); d < 0 || d > time.Minute {
		t.Errorf("createdAt %v is not now", read.CreatedAt)
	}

	// External ids are exact: no trimming, no case folding.
	for _, id := range []string{" usr_1 ", "USR_1", "a/b"} {
		if _, created := upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: id}); !created {
			t.Errorf("upsert %q: created = false, want a new user", id)
		}
	}
	_, err := s.GetUser(t.Context(), tn, "missing", 0)
	wantCode(t, "GetUser(missing)", err, userdata.CodeNotFound, userdata.ResourceUser)
}

func testAttributeMerge(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	u := user(t, s, tn, "u", `{"a":1,"b":"x","prefs":{"x":1,"y":2},"list":[1,2],"gone":true}`)
	seen := decode(t, u.Attributes)["first_seen_at"]
	u = user(t, s, tn, "u", `{"b":"y","prefs":{"z":3},"list":[3],"gone":null,"never":null,"first_seen_at":"2020-01-01T00:00:00Z"}`)
	want := map[string]any{"a": 1.0, "b": "y", "prefs": map[string]any{"z": 3.0}, "list": []any{3.0},
		"first_seen_at": "2020-01-01T00:00:00Z", "last_seen_at": seen}
	if diff := cmp.Diff(want, decode(t, u.Attributes)); diff != "" {
		t.Errorf("merged attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, decode(t, getUser(t, s, tn, "u", 0).Attributes)); diff != "" {
		t.Errorf("stored attributes (-want +got):\n%s", diff)
	}
	// Empty and absent maps change nothing.
	for _, js := range []string{`{}`, `null`} {
		u = user(t, s, tn, "u", js)
		if diff := cmp.Diff(want, decode(t, u.Attributes)); diff != "" {
			t.Errorf("after %s (-want +got):\n%s", js, diff)
		}
	}
	// A null for a seeded key at creation leaves the seed in place.
	n := user(t, s, tn, "new", `{"first_seen_at":null,"k":null}`)
	got := decode(t, n.Attributes)
	if _, ok := got["first_seen_at"]; !ok || len(got) != 2 {
		t.Errorf("create with nulls: attributes %v, want only the seeded keys", got)
	}
	// Values whose type differs from the definition are stored as sent.
	user(t, s, tn, "typed", `{"email":42,"a":"one"}`)
	got = decode(t, getUser(t, s, tn, "typed", 0).Attributes)
	if got["email"] != 42.0 || got["a"] != "one" {
		t.Errorf("mismatched types: attributes %v, want email 42 and a \"one\" kept", got)
	}
}

func testUpsertUserCompanies(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	u, _ := upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{
		{ExternalID: "acme", Attributes: attrs(t, `{"plan":"pro"}`)},
		{ExternalID: "globex"},
		{ExternalID: "acme", Attributes: attrs(t, `{"seats":5}`)},
	}})
	if u.Companies != nil || u.Memberships != nil {
		t.Errorf("upsert returned relations %+v", u)
	}
	read := getUser(t, s, tn, "u", userdata.ExpandCompanies|userdata.ExpandMemberships)
	var ids []string
	for _, c := range read.Companies {
		ids = append(ids, c.ExternalID)
	}
	if diff := cmp.Diff([]string{"acme", "globex"}, ids); diff != "" {
		t.Errorf("companies (-want +got):\n%s", diff)
	}
	acme := getCompany(t, s, tn, "acme", 0)
	if got := decode(t, acme.Attributes); got["plan"] != "pro" || got["seats"] != 5.0 || got["first_seen_at"] == nil {
		t.Errorf("acme attributes %v, want plan, seats and seeded timestamps", got)
	}
	for _, m := range read.Memberships {
		if string(m.Attributes) != "{}" || m.UserID != read.ID {
			t.Errorf("membership %+v: want {} attributes and user %s", m, read.ID)
		}
	}
	// The companies path never touches an existing membership's attributes
	// and never removes memberships.
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "acme"}, Attributes: attrs(t, `{"role":"admin"}`)}}})
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "initech"}}})
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	read = getUser(t, s, tn, "u", userdata.ExpandMemberships|userdata.ExpandMembershipCompany)
	roles := map[string]string{}
	for _, m := range read.Memberships {
		roles[m.Company.ExternalID] = string(m.Attributes)
	}
	want := map[string]string{"acme": `{"role":"admin"}`, "globex": "{}", "initech": "{}"}
	if diff := cmp.Diff(want, roles); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}
}

func testUpsertUserMemberships(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "acme", Attributes: attrs(t, `{"name":"Acme"}`)},
			Attributes: attrs(t, `{"role":"admin","team":"x","drop":null}`)},
	}})
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "acme"}, Attributes: attrs(t, `{"role":"owner","team":null}`)},
		{Company: userdata.CompanyUpsert{ExternalID: "acme"}, Attributes: attrs(t, `{"since":2020}`)},
	}})
	read := getUser(t, s, tn, "u", userdata.ExpandMemberships|userdata.ExpandMembershipCompany)
	if len(read.Memberships) != 1 {
		t.Fatalf("memberships %+v, want one", read.Memberships)
	}
	m := read.Memberships[0]
	if diff := cmp.Diff(map[string]any{"role": "owner", "since": 2020.0}, decode(t, m.Attributes)); diff != "" {
		t.Errorf("membership attributes (-want +got):\n%s", diff)
	}
	if m.Company == nil || m.Company.ExternalID != "acme" || decode(t, m.Company.Attributes)["name"] != "Acme" {
		t.Errorf("membership company %+v, want acme with its name", m.Company)
	}
	if c := getCompany(t, s, tn, "acme", 0); m.CompanyID != c.ID || m.UserID != read.ID {
		t.Errorf("membership ids (%s, %s), want internal ids (%s, %s)", m.CompanyID, m.UserID, c.ID, read.ID)
	}
}

func testUpsertCompany(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	c, created, err := s.UpsertCompany(t.Context(), tn, &userdata.CompanyUpsert{ExternalID: "co", Attributes: attrs(t, `{"plan":"free","x":1}`)})
	if err != nil || !created {
		t.Fatalf("UpsertCompany: created %t, err %v", created, err)
	}
	seen := userdata.FormatTime(c.CreatedAt)
	c2, created, err := s.UpsertCompany(t.Context(), tn, &userdata.CompanyUpsert{ExternalID: "co", Attributes: attrs(t, `{"plan":"pro","x":null}`)})
	if err != nil || created {
		t.Fatalf("second UpsertCompany: created %t, err %v", created, err)
	}
	want := map[string]any{"plan": "pro", "first_seen_at": seen, "last_seen_at": seen}
	if diff := cmp.Diff(want, decode(t, c2.Attributes)); diff != "" {
		t.Errorf("company attributes (-want +got):\n%s", diff)
	}
	if !c2.CreatedAt.Equal(c.CreatedAt) || c2.ID != c.ID {
		t.Errorf("second upsert changed identity")
	}
	read := getCompany(t, s, tn, "co", 0)
	if read.Users != nil || read.Memberships != nil || read.ExternalID != "co" {
		t.Errorf("GetCompany = %+v", read)
	}
	_, err = s.GetCompany(t.Context(), tn, "nope", 0)
	wantCode(t, "GetCompany(missing)", err, userdata.CodeNotFound, userdata.ResourceCompany)
}

func testExpand(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	user(t, s, tn, "lonely", `{}`)
	for _, id := range []string{"u1", "u2"} {
		upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: id, Memberships: []userdata.MembershipUpsert{
			{Company: userdata.CompanyUpsert{ExternalID: "acme"}, Attributes: attrs(t, `{"who":"`+id+`"}`)}}})
	}
	lonely := getUser(t, s, tn, "lonely", userdata.ExpandCompanies|userdata.ExpandMemberships)
	if lonely.Companies == nil || len(lonely.Companies) != 0 || lonely.Memberships == nil || len(lonely.Memberships) != 0 {
		t.Errorf("expanded user without companies: %+v, want empty non-nil slices", lonely)
	}
	onlyCompanies := getUser(t, s, tn, "u1", userdata.ExpandCompanies)
	if len(onlyCompanies.Companies) != 1 || onlyCompanies.Memberships != nil {
		t.Errorf("expand companies: %+v", onlyCompanies)
	}
	plain := getUser(t, s, tn, "u1", userdata.ExpandMemberships)
	if len(plain.Memberships) != 1 || plain.Memberships[0].Company != nil || plain.Companies != nil {
		t.Errorf("expand memberships: %+v, want one membership without company", plain)
	}
	c := getCompany(t, s, tn, "acme", userdata.ExpandUsers|userdata.ExpandMemberships|userdata.ExpandMembershipUser)
	var who []string
	for i, m := range c.Memberships {
		who = append(who, decode(t, m.Attributes)["who"].(string))
		if m.User == nil || m.User.ExternalID != c.Users[i].ExternalID {
			t.Errorf("membership %d user %+v, want %s", i, m.User, c.Users[i].ExternalID)
		}
	}
	if diff := cmp.Diff([]string{"u1", "u2"}, who); diff != "" {
		t.Errorf("company memberships (-want +got):\n%s", diff)
	}
	c = getCompany(t, s, tn, "acme", userdata.ExpandMemberships)
	if c.Users != nil || len(c.Memberships) != 2 || c.Memberships[0].User != nil {
		t.Errorf("company expand memberships only: %+v", c)
	}
	l, err := s.ListUsers(t.Context(), tn, userdata.UserFilter{PageRequest: page(10, ""), Expand: userdata.ExpandCompanies})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, u := range l.Items {
		n[u.ExternalID] = len(u.Companies)
	}
	if diff := cmp.Diff(map[string]int{"lonely": 0, "u1": 1, "u2": 1}, n); diff != "" {
		t.Errorf("listed companies per user (-want +got):\n%s", diff)
	}
}

func testDelete(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: attrs(t, `{"x":1}`),
		Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	if err := s.DeleteUser(ctx, tn, "u"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err := s.GetUser(ctx, tn, "u", 0)
	wantCode(t, "GetUser(deleted)", err, userdata.CodeNotFound, userdata.ResourceUser)
	wantCode(t, "DeleteUser(again)", s.DeleteUser(ctx, tn, "u"), userdata.CodeNotFound, userdata.ResourceUser)
	c := getCompany(t, s, tn, "acme", userdata.ExpandUsers|userdata.ExpandMemberships)
	if len(c.Users) != 0 || len(c.Memberships) != 0 {
		t.Errorf("company after its user was deleted: %+v, want no members", c)
	}
	// Recreating gives a new user without the old attributes or memberships.
	u, created := upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u"})
	if !created || decode(t, u.Attributes)["x"] != nil {
		t.Errorf("recreated user %+v (created %t), want a fresh one", u, created)
	}
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	if err := s.DeleteCompany(ctx, tn, "acme"); err != nil {
		t.Fatalf("DeleteCompany: %v", err)
	}
	wantCode(t, "DeleteCompany(again)", s.DeleteCompany(ctx, tn, "acme"), userdata.CodeNotFound, userdata.ResourceCompany)
	if got := getUser(t, s, tn, "u", userdata.ExpandMemberships); len(got.Memberships) != 0 {
		t.Errorf("user after its company was deleted has memberships %+v", got.Memberships)
	}
}

func testDeleteMembership(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "a"}, {ExternalID: "b"}}})
	user(t, s, tn, "other", `{}`)
	want := getUser(t, s, tn, "u", userdata.ExpandMemberships|userdata.ExpandMembershipCompany).Memberships[0]
	id, err := s.DeleteMembership(ctx, tn, "u", "a")
	if err != nil || id != want.ID {
		t.Fatalf("DeleteMembership = %q, %v; want %q", id, err, want.ID)
	}
	for _, c := range [][2]string{{"u", "a"}, {"nope", "b"}, {"u", "nope"}, {"other", "b"}} {
		_, err := s.DeleteMembership(ctx, tn, c[0], c[1])
		wantCode(t, "DeleteMembership"+c[0]+"/"+c[1], err, userdata.CodeNotFound, userdata.ResourceMembership)
	}
	u := getUser(t, s, tn, "u", userdata.ExpandCompanies)
	if len(u.Companies) != 1 || u.Companies[0].ExternalID != "b" {
		t.Errorf("companies after delete: %+v, want only b", u.Companies)
	}
	getCompany(t, s, tn, "a", 0) // the company stays
}

func testTenancy(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	prod := Tenant(t, s, "p", "production")
	staging := Tenant(t, s, "p", "staging")
	other := Tenant(t, s, "q", "production")
	upsertUser(t, s, prod, &userdata.UserUpsert{ExternalID: "u", Attributes: attrs(t, `{"env":"prod"}`),
		Companies: []userdata.CompanyUpsert{{ExternalID: "c"}}})
	for name, tn := range map[string]userdata.Tenant{"staging": staging, "other project": other} {
		_, err := s.GetUser(ctx, tn, "u", 0)
		wantCode(t, name+": GetUser", err, userdata.CodeNotFound, userdata.ResourceUser)
		_, err = s.GetCompany(ctx, tn, "c", 0)
		wantCode(t, name+": GetCompany", err, userdata.CodeNotFound, userdata.ResourceCompany)
		wantCode(t, name+": DeleteUser", s.DeleteUser(ctx, tn, "u"), userdata.CodeNotFound, userdata.ResourceUser)
		wantCode(t, name+": DeleteCompany", s.DeleteCompany(ctx, tn, "c"), userdata.CodeNotFound, userdata.ResourceCompany)
		_, err = s.DeleteMembership(ctx, tn, "u", "c")
		wantCode(t, name+": DeleteMembership", err, userdata.CodeNotFound, userdata.ResourceMembership)
		l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(10, "")})
		if err != nil || len(l.Items) != 0 {
			t.Errorf("%s: ListUsers = %v, %v; want empty", name, l, err)
		}
	}
	// The same external id in another environment is another user.
	su, created := upsertUser(t, s, staging, &userdata.UserUpsert{ExternalID: "u", Attributes: attrs(t, `{"env":"staging"}`)})
	if !created {
		t.Error("staging upsert of u: created = false")
	}
	pu := getUser(t, s, prod, "u", userdata.ExpandCompanies)
	if decode(t, pu.Attributes)["env"] != "prod" || len(pu.Companies) != 1 || pu.ID == su.ID {
		t.Errorf("production user after staging upsert: %+v", pu)
	}
}

// page is a PageRequest sorted by createdAt ascending.
func page(limit int, cursor string, sorts ...userdata.Sort) userdata.PageRequest {
	if len(sorts) == 0 {
		sorts = []userdata.Sort{{Field: userdata.SortCreatedAt}}
	}
	return userdata.PageRequest{Limit: limit, Cursor: cursor, Sort: sorts}
}

// testNumberFormat checks that numbers are stored as doubles and read back
// as JavaScript's JSON.stringify prints them, at any depth, on every
// backend: an exponent from 1e21 up and below 1e-6, and 0 for -0.
func testNumberFormat(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	in := `{"big":1e21,"huge":123456789012345678901234567890,"tiny":1e-7,"small":0.000001,"negz":-0,"long":12345678901234567890,"half":-0.5,
		"nested":{"z":-0,"list":[1e21,-0,1e-7]}}`
	want := map[string]any{"big": "1e+21", "huge": "1.2345678901234568e+29", "tiny": "1e-7", "small": "0.000001", "negz": "0",
		"long": "12345678901234567000", "half": "-0.5", "nested": map[string]any{"z": "0", "list": []any{"1e+21", "0", "1e-7"}}}
	written := user(t, s, tn, "u", in)
	for name, raw := range map[string]json.RawMessage{"upsert": written.Attributes, "get": getUser(t, s, tn, "u", 0).Attributes} {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var got map[string]any
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		delete(got, "first_seen_at")
		delete(got, "last_seen_at")
		if diff := cmp.Diff(want, numbersAsText(got)); diff != "" {
			t.Errorf("%s: numbers (-want +got):\n%s", name, diff)
		}
	}
}

// numbersAsText replaces the json.Numbers in v by their text.
func numbersAsText(v any) any {
	switch v := v.(type) {
	case json.Number:
		return string(v)
	case map[string]any:
		for k, e := range v {
			v[k] = numbersAsText(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbersAsText(e)
		}
	}
	return v
}
