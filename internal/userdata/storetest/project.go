package storetest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

var envToken = regexp.MustCompile(`^[0-9a-f]{32}$`)

func createProject(t *testing.T, s userdata.Store, name string) *userdata.Project {
	t.Helper()
	p, err := s.CreateProject(t.Context(), name)
	if err != nil {
		t.Fatalf("CreateProject(%q): %v", name, err)
	}
	return p
}

func createEnvironment(t *testing.T, s userdata.Store, projectID, name string) *userdata.Environment {
	t.Helper()
	e, err := s.CreateEnvironment(t.Context(), projectID, name)
	if err != nil {
		t.Fatalf("CreateEnvironment(%q, %q): %v", projectID, name, err)
	}
	return e
}

// A project comes with its primary environment "Production"; names are
// not unique; ListProjects returns what the creations returned.
func testProjects(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	acme := createProject(t, s, "acme")
	if acme.ID == "" || acme.Name != "acme" || acme.CreatedAt.IsZero() || len(acme.Environments) != 1 {
		t.Fatalf("CreateProject(acme) = %+v", acme)
	}
	prod := acme.Environments[0]
	want := &userdata.Environment{ID: prod.ID, ProjectID: acme.ID, Name: "Production", IsPrimary: true, Token: prod.Token, CreatedAt: acme.CreatedAt, UpdatedAt: acme.CreatedAt}
	if diff := cmp.Diff(want, prod); diff != "" || !envToken.MatchString(prod.Token) {
		t.Errorf("primary environment (-want +got):\n%s\ntoken %q", diff, prod.Token)
	}
	again := createProject(t, s, "acme")
	if again.ID == acme.ID || again.Environments[0].ID == prod.ID || again.Environments[0].Token == prod.Token {
		t.Errorf("a second project named acme: %+v, first %+v", again, acme)
	}
	staging := createEnvironment(t, s, acme.ID, "Staging")
	if staging.IsPrimary || staging.ProjectID != acme.ID || staging.Name != "Staging" || !envToken.MatchString(staging.Token) ||
		staging.Token == prod.Token || staging.CreatedAt.IsZero() || !staging.UpdatedAt.Equal(staging.CreatedAt) {
		t.Errorf("CreateEnvironment(acme, Staging) = %+v", staging)
	}
	staging2 := createEnvironment(t, s, acme.ID, "Staging")
	if staging2.ID == staging.ID {
		t.Error("a second environment named Staging is the first")
	}
	_, err := s.CreateEnvironment(ctx, "nope", "x")
	wantCode(t, "CreateEnvironment(unknown project)", err, userdata.CodeNotFound, userdata.ResourceProject)
	for _, bad := range []string{"", " \t", strings.Repeat("x", userdata.MaxNameBytes+1), "a\x00"} {
		_, err := s.CreateProject(ctx, bad)
		wantCode(t, fmt.Sprintf("CreateProject(%q)", bad), err, userdata.CodeInvalid, "")
		_, err = s.CreateEnvironment(ctx, acme.ID, bad)
		wantCode(t, fmt.Sprintf("CreateEnvironment(%q)", bad), err, userdata.CodeInvalid, "")
	}
	projects, err := s.ListProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acme.Environments = append(acme.Environments, staging, staging2)
	if diff := cmp.Diff([]*userdata.Project{acme, again}, projects); diff != "" {
		t.Errorf("ListProjects (-want +got):\n%s", diff)
	}

	// keys create names them: ids work, ambiguous names are refused with
	// the ids they match.
	_, hash, prefix := userdata.NewKey()
	_, err = s.CreateKey(ctx, "acme", "Production", hash, prefix)
	wantCode(t, "CreateKey(acme)", err, userdata.CodeInvalid, "")
	if msg := err.Error(); !strings.Contains(msg, acme.ID+", "+again.ID) {
		t.Errorf("CreateKey(acme): %q does not list %s and %s", msg, acme.ID, again.ID)
	}
	_, err = s.CreateKey(ctx, acme.ID, "Staging", hash, prefix)
	wantCode(t, "CreateKey(acme, Staging)", err, userdata.CodeInvalid, "")
	if msg := err.Error(); !strings.Contains(msg, staging.ID+", "+staging2.ID) {
		t.Errorf("CreateKey(acme, Staging): %q does not list %s and %s", msg, staging.ID, staging2.ID)
	}
	if k := createKey(t, s, acme.ID, staging2.ID); k.EnvironmentID != staging2.ID || k.Environment != "Staging" {
		t.Errorf("CreateKey(acme, staging2 id) = %+v", k)
	}
	if k := createKey(t, s, again.ID, "Production"); k.EnvironmentID != again.Environments[0].ID {
		t.Errorf("CreateKey(second acme, Production) = %+v", k)
	}
	if projects, _ := s.ListProjects(ctx); len(projects) != 2 {
		t.Errorf("keys of existing environments made projects: %d, want 2", len(projects))
	}
}

// CreateProject seeds the definitions exactly as CreateKey seeds a new
// project.
func testProjectDefinitions(t *testing.T, s userdata.Store) {
	p := createProject(t, s, "p")
	byKey := createKey(t, s, "k", "production")
	if defs, want := definitions(t, s, userdata.Tenant{ProjectID: p.ID, EnvironmentID: p.Environments[0].ID}),
		definitions(t, s, userdata.Tenant{ProjectID: byKey.ProjectID, EnvironmentID: byKey.EnvironmentID}); !cmp.Equal(defs, want) || len(defs) < 10 {
		t.Errorf("definitions of a created project:\n%v\nwant those of a project keys create made:\n%v", defs, want)
	}
}

// definitions describes a project's definitions, without ids and times.
func definitions(t *testing.T, s userdata.Store, tn userdata.Tenant) []string {
	t.Helper()
	attrs, err := s.ListAttributeDefinitions(t.Context(), tn, userdata.AttributeDefinitionFilter{PageRequest: page(100, "")})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range attrs.Items {
		out = append(out, fmt.Sprintf("attribute %s %s %q %s %q %t", d.Scope, d.CodeName, d.DisplayName, d.DataType, d.Description, d.Predefined))
	}
	events, err := s.ListEventDefinitions(t.Context(), tn, userdata.EventDefinitionFilter{PageRequest: page(100, "")})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		linked, err := s.ListAttributeDefinitions(t.Context(), tn, userdata.AttributeDefinitionFilter{PageRequest: page(100, ""), EventNames: []string{e.CodeName}})
		if err != nil {
			t.Fatal(err)
		}
		var codeNames []string
		for _, a := range linked.Items {
			codeNames = append(codeNames, a.CodeName)
		}
		out = append(out, fmt.Sprintf("event %s %q %q %t %v", e.CodeName, e.DisplayName, e.Description, e.Predefined, codeNames))
	}
	return out
}

// Environment finds live environments by id.
func testEnvironmentLookup(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	extra := createEnvironment(t, s, p.ID, "extra")
	k := createKey(t, s, "by key", "production")
	for _, want := range []*userdata.Environment{p.Environments[0], extra, p.Environments[0], extra} {
		got, err := s.Environment(ctx, want.ID)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("Environment(%s): %v (-want +got):\n%s", want.ID, err, diff)
		}
	}
	if e, err := s.Environment(ctx, k.EnvironmentID); err != nil || !e.IsPrimary || e.ProjectID != k.ProjectID || e.Name != "production" || !envToken.MatchString(e.Token) {
		t.Errorf("Environment of a key's environment: %+v, %v", e, err)
	}
	for _, id := range []string{"nope", p.ID, "", "a\x00"} {
		_, err := s.Environment(ctx, id)
		wantCode(t, fmt.Sprintf("Environment(%q)", id), err, userdata.CodeNotFound, userdata.ResourceEnvironment)
	}
	// What a caller does to the answer does not reach the next one.
	e, _ := s.Environment(ctx, extra.ID)
	e.Name = "changed"
	if again, _ := s.Environment(ctx, extra.ID); again.Name != "extra" {
		t.Errorf("a caller's change reached the cache: %+v", again)
	}
}

// DeletedEnvironment checks, on a store whose environment markDeleted
// marks deleted behind its back (as another process's DeleteEnvironment
// does), that a deleted environment is gone from every lookup. A backend's
// test calls it with its own SQL.
func DeletedEnvironment(t *testing.T, s userdata.Store, markDeleted func(envID string)) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	gone := createEnvironment(t, s, p.ID, "gone")
	kept := createEnvironment(t, s, p.ID, "kept")
	_, goneKey, goneKeyPrefix := userdata.NewKey()
	if _, err := s.CreateKey(ctx, p.ID, gone.ID, goneKey, goneKeyPrefix); err != nil {
		t.Fatal(err)
	}
	markDeleted(gone.ID)
	_, err := s.Authenticate(ctx, goneKey)
	wantCode(t, "Authenticate(key of a deleted environment)", err, userdata.CodeForbidden, "")
	_, err = s.Environment(ctx, gone.ID)
	wantCode(t, "Environment(deleted)", err, userdata.CodeNotFound, userdata.ResourceEnvironment)
	projects, err := s.ListProjects(ctx)
	if err != nil || len(projects) != 1 || !cmp.Equal(projects[0].Environments, []*userdata.Environment{p.Environments[0], kept}) {
		t.Errorf("ListProjects after a deletion: %+v, %v; want Production and kept", projects, err)
	}
	_, hash, prefix := userdata.NewKey()
	_, err = s.CreateKey(ctx, p.ID, gone.ID, hash, prefix)
	wantCode(t, "CreateKey(deleted environment by id)", err, userdata.CodeInvalid, "")
	_, err = s.CreateToken(ctx, newToken(p.ID, userRead, kept.ID, gone.ID))
	wantCode(t, "CreateToken(deleted environment)", err, userdata.CodeInvalid, "")
	// Its name is free again.
	if k := createKey(t, s, p.ID, "gone"); k.EnvironmentID == gone.ID {
		t.Errorf("CreateKey(gone by name) took the deleted environment: %+v", k)
	}
}
