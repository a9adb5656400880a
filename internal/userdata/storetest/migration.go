package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// The rows of a database made before the v2 tenancy migration (SQLite's
// 0005, PostgreSQL's 0006). Each backend's test writes them with its own
// SQL, in the schema of the migrations before that one, migrates the
// database and calls CheckMigrated. Times are whole seconds of 2025-01-01
// UTC (PreV2Time).
//
//	projects:     p1 "acme" (at 0 s), p2 "beta" (1 s)
//	environments: e1 "production" of p1 (0 s); "a-staging" "staging" of p1
//	              (2 s: its id sorts first, yet it was made later); e3
//	              "production" of p2 (1 s)
//	api_keys:     k1 of e1, hash HashKey("fixture-key-1"), prefix "ak_fix1",
//	              active (0 s); k2 of a-staging, HashKey("fixture-key-2"),
//	              "ak_fix2", revoked (2 s)
//	users:        u1 "alice" of e1 {"name":"Alice","email":"alice@example.com"}
//	              (3 s); u2 "bob" of e1 {"n":1} (4 s); u3 "carol" of
//	              a-staging {} (5 s)
//	companies:    c1 "acme-inc" of e1 {"plan":"pro"} (3 s)
//	memberships:  m1 alice in acme-inc {"role":"admin"} (6 s)
//	attribute_definitions of p1: ad1 user "name" "Name" string predefined
//	              (0 s); ad2 company "plan" "Plan" string (3 s); ad3
//	              eventDefinition "step" "Step" number (7 s)
//	event_definitions of p1: ed1 "signed_up" "Signed Up" (7 s), linked to ad3
//	events:       ev1 "signed_up" of alice at acme-inc, e1, {"step":2} (7 s)
const (
	PreV2Key1 = "fixture-key-1"
	PreV2Key2 = "fixture-key-2"
)

// PreV2Time is the time of the fixture's rows made at second s.
func PreV2Time(s int) time.Time { return time.Date(2025, 1, 1, 0, 0, s, 0, time.UTC) }

// CheckMigrated checks, through s, that the migration kept every row of
// the fixture above, and that the migrated database takes new keys.
func CheckMigrated(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn, err := s.Authenticate(ctx, userdata.HashKey(PreV2Key1))
	if err != nil || tn != (userdata.Tenant{ProjectID: "p1", EnvironmentID: "e1"}) {
		t.Fatalf("Authenticate(key 1) = %+v, %v; want p1/e1", tn, err)
	}
	_, err = s.Authenticate(ctx, userdata.HashKey(PreV2Key2))
	wantCode(t, "Authenticate(revoked key 2)", err, userdata.CodeForbidden, "")
	keys, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []*userdata.APIKey{
		{ID: "k1", ProjectID: "p1", Project: "acme", EnvironmentID: "e1", Environment: "production", Prefix: "ak_fix1", Active: true, CreatedAt: PreV2Time(0)},
		{ID: "k2", ProjectID: "p1", Project: "acme", EnvironmentID: "a-staging", Environment: "staging", Prefix: "ak_fix2", CreatedAt: PreV2Time(2)},
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("ListKeys after migration (-want +got):\n%s", diff)
	}

	alice := getUser(t, s, tn, "alice", userdata.ExpandMemberships|userdata.ExpandMembershipCompany)
	if alice.ID != "u1" || !alice.CreatedAt.Equal(PreV2Time(3)) || !cmp.Equal(decode(t, alice.Attributes), map[string]any{"name": "Alice", "email": "alice@example.com"}) ||
		len(alice.Memberships) != 1 || alice.Memberships[0].ID != "m1" || alice.Memberships[0].Company.ExternalID != "acme-inc" ||
		!cmp.Equal(decode(t, alice.Memberships[0].Attributes), map[string]any{"role": "admin"}) || !alice.Memberships[0].CreatedAt.Equal(PreV2Time(6)) {
		t.Errorf("alice after migration: %+v", alice)
	}
	byEmail, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(10, ""), Email: "alice@example.com"})
	if err != nil || len(byEmail.Items) != 1 {
		t.Errorf("users by email after migration: %+v, %v", byEmail, err)
	}
	users, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(10, "")})
	if err != nil || len(users.Items) != 2 || users.Items[1].ExternalID != "bob" || string(users.Items[1].Attributes) != `{"n":1}` {
		t.Errorf("users of e1 after migration: %+v, %v", users, err)
	}
	co := getCompany(t, s, tn, "acme-inc", userdata.ExpandUsers)
	if co.ID != "c1" || string(co.Attributes) != `{"plan":"pro"}` || len(co.Users) != 1 || co.Users[0].ExternalID != "alice" {
		t.Errorf("acme-inc after migration: %+v", co)
	}
	staging := userdata.Tenant{ProjectID: "p1", EnvironmentID: "a-staging"}
	if carol := getUser(t, s, staging, "carol", 0); carol.ID != "u3" {
		t.Errorf("carol after migration: %+v", carol)
	}

	defs, err := s.ListAttributeDefinitions(ctx, tn, userdata.AttributeDefinitionFilter{PageRequest: page(10, "")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range defs.Items {
		got = append(got, d.Scope.String()+"/"+d.CodeName+"/"+d.DisplayName+"/"+d.DataType.String()+"/"+boolWord(d.Predefined))
	}
	if want := []string{"user/name/Name/string/predefined", "company/plan/Plan/string/custom", "eventDefinition/step/Step/number/custom"}; !cmp.Equal(got, want) {
		t.Errorf("attribute definitions after migration: %v, want %v", got, want)
	}
	linked, err := s.ListAttributeDefinitions(ctx, tn, userdata.AttributeDefinitionFilter{PageRequest: page(10, ""), EventNames: []string{"signed_up"}})
	if err != nil || len(linked.Items) != 1 || linked.Items[0].ID != "ad3" {
		t.Errorf("attributes of signed_up after migration: %+v, %v", linked, err)
	}
	events, err := s.ListEventDefinitions(ctx, tn, userdata.EventDefinitionFilter{PageRequest: page(10, "")})
	if err != nil || len(events.Items) != 1 || events.Items[0].CodeName != "signed_up" || events.Items[0].DisplayName != "Signed Up" {
		t.Errorf("event definitions after migration: %+v, %v", events, err)
	}
	tracked, err := s.ListEvents(ctx, tn, userdata.EventFilter{PageRequest: page(10, "")})
	if err != nil || len(tracked.Items) != 1 {
		t.Fatalf("events after migration: %+v, %v", tracked, err)
	}
	want := &userdata.Event{ID: "ev1", Name: "signed_up", UserID: "alice", CompanyID: "acme-inc", Attributes: []byte(`{"step":2}`), CreatedAt: PreV2Time(7)}
	if diff := cmp.Diff(want, tracked.Items[0]); diff != "" {
		t.Errorf("event after migration (-want +got):\n%s", diff)
	}

	// The tenancy of v2: every project has one primary environment, its
	// first, and every environment a token of its own.
	projects, err := s.ListProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]bool{}
	for _, p := range projects {
		for _, e := range p.Environments {
			if !envToken.MatchString(e.Token) || tokens[e.Token] {
				t.Errorf("environment %s has token %q: want 32 hexadecimal digits of its own", e.ID, e.Token)
			}
			tokens[e.Token] = true
			e.Token = ""
		}
	}
	env := func(id, project, name string, primary bool, s int) *userdata.Environment {
		return &userdata.Environment{ID: id, ProjectID: project, Name: name, IsPrimary: primary, CreatedAt: PreV2Time(s), UpdatedAt: PreV2Time(s)}
	}
	wantProjects := []*userdata.Project{
		{ID: "p1", Name: "acme", CreatedAt: PreV2Time(0), Environments: []*userdata.Environment{
			env("e1", "p1", "production", true, 0), env("a-staging", "p1", "staging", false, 2)}},
		{ID: "p2", Name: "beta", CreatedAt: PreV2Time(1), Environments: []*userdata.Environment{env("e3", "p2", "production", true, 1)}},
	}
	if diff := cmp.Diff(wantProjects, projects); diff != "" {
		t.Errorf("ListProjects after migration (-want +got):\n%s", diff)
	}
	if e, err := s.Environment(ctx, "a-staging"); err != nil || e.Name != "staging" || e.IsPrimary {
		t.Errorf("Environment(a-staging) after migration: %+v, %v", e, err)
	}

	// Every project has its built-in segments, as old as it, and takes
	// manual segments whose members are its users.
	for id, at := range map[string]time.Time{"p1": PreV2Time(0), "p2": PreV2Time(1)} {
		if got := builtIns(t, s, id); !cmp.Equal(got, wantBuiltIns) {
			t.Errorf("built-in segments of %s after migration: %v", id, got)
		}
		for _, sg := range listSegments(t, s, id, userdata.SegmentFilter{PageRequest: page(10, "")}) {
			if !sg.CreatedAt.Equal(at) || !sg.UpdatedAt.Equal(at) || len(sg.ID) != 25 {
				t.Errorf("built-in segment of %s after migration: %+v, want it made at %v with an id of 25 characters", id, sg, at)
			}
		}
	}
	vips := manual(t, s, "p1", "VIPs", userdata.ScopeUser)
	if err := s.AddSegmentMember(ctx, tn, vips.ID, "bob"); err != nil {
		t.Fatalf("AddSegmentMember(bob) after migration: %v", err)
	}
	wantMembers(t, s, vips.ID, "e1/bob")

	// Names still find the migrated rows.
	_, hash, prefix := userdata.NewKey()
	k, err := s.CreateKey(ctx, "acme", "staging", hash, prefix)
	if err != nil || k.ProjectID != "p1" || k.EnvironmentID != "a-staging" {
		t.Errorf("CreateKey(acme, staging) after migration = %+v, %v; want a key of p1/a-staging", k, err)
	}
	user(t, s, staging, "dave", `{"new":true}`)
	if e := createEnvironment(t, s, "p2", "production"); e.IsPrimary {
		t.Errorf("a new environment of a migrated project is primary: %+v", e)
	}
}

func boolWord(predefined bool) string {
	if predefined {
		return "predefined"
	}
	return "custom"
}
