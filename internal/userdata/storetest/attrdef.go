package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func createAttribute(t *testing.T, s userdata.Store, projectID string, in userdata.AttributeDefinitionInput) *userdata.AttributeDefinition {
	t.Helper()
	if err := in.Validate(); err != nil {
		t.Fatalf("test input %+v is invalid: %v", in, err)
	}
	d, err := s.CreateAttributeDefinition(t.Context(), projectID, &in)
	if err != nil {
		t.Fatalf("CreateAttributeDefinition(%+v): %v", in, err)
	}
	return d
}

// attribute finds an attribute definition of tn's project by scope and
// codeName, or fails.
func attribute(t *testing.T, s userdata.Store, tn userdata.Tenant, scope userdata.Scope, codeName string) *userdata.AttributeDefinition {
	t.Helper()
	for _, d := range allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{Scope: scope, Name: codeName}) {
		if d.CodeName == codeName {
			return d
		}
	}
	t.Fatalf("no %s definition %q", scope, codeName)
	return nil
}

func ptr[T any](v T) *T { return &v }

// Attribute definitions are created, read, changed and deleted by id
// within their project; duplicates of (scope, codeName) conflict.
func testAttributeDefinitionCRUD(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "q", "e")
	d := createAttribute(t, s, tn.ProjectID, userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser, DataType: userdata.DataTypeNumber,
		CodeName: "seats", DisplayName: "Seats", Description: "Paid seats"})
	want := &userdata.AttributeDefinition{ID: d.ID, Scope: userdata.ScopeUser, CodeName: "seats", DisplayName: "Seats",
		Description: "Paid seats", DataType: userdata.DataTypeNumber, CreatedAt: d.CreatedAt}
	if diff := cmp.Diff(want, d); diff != "" || d.ID == "" || d.CreatedAt.IsZero() {
		t.Errorf("CreateAttributeDefinition (-want +got):\n%s", diff)
	}
	got, err := s.GetAttributeDefinition(ctx, tn.ProjectID, d.ID)
	if diff := cmp.Diff(d, got); err != nil || diff != "" {
		t.Errorf("GetAttributeDefinition: %v (-created +got):\n%s", err, diff)
	}
	if listed := attribute(t, s, tn, userdata.ScopeUser, "seats"); !cmp.Equal(listed, d) {
		t.Errorf("listed %+v, created %+v", listed, d)
	}
	for _, id := range []string{"nope", "", "a\x00", tn.ProjectID} {
		_, err := s.GetAttributeDefinition(ctx, tn.ProjectID, id)
		wantCode(t, fmt.Sprintf("GetAttributeDefinition(%q)", id), err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)
	}
	// Another project's definition is missing, whatever it does.
	_, err = s.GetAttributeDefinition(ctx, other.ProjectID, d.ID)
	wantCode(t, "GetAttributeDefinition(another project's)", err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)
	_, err = s.UpdateAttributeDefinition(ctx, other.ProjectID, d.ID, &userdata.AttributeDefinitionUpdate{DisplayName: ptr("x")})
	wantCode(t, "UpdateAttributeDefinition(another project's)", err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)
	err = s.DeleteAttributeDefinition(ctx, other.ProjectID, d.ID)
	wantCode(t, "DeleteAttributeDefinition(another project's)", err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)

	// (project, scope, codeName) is unique; another scope or project may
	// have the codeName, and a definition a write created conflicts too.
	dup := userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser, DataType: userdata.DataTypeString, CodeName: "seats", DisplayName: "Other"}
	_, err = s.CreateAttributeDefinition(ctx, tn.ProjectID, &dup)
	wantCode(t, "CreateAttributeDefinition(duplicate)", err, userdata.CodeConflict, "")
	if e := (*userdata.Error)(nil); !errors.As(err, &e) || e.Resource != userdata.ResourceAttributeDefinition {
		t.Errorf("duplicate: %v, want a conflict for %s", err, userdata.ResourceAttributeDefinition)
	}
	createAttribute(t, s, tn.ProjectID, userdata.AttributeDefinitionInput{Scope: userdata.ScopeCompany, DataType: userdata.DataTypeString, CodeName: "seats", DisplayName: "Seats"})
	createAttribute(t, s, other.ProjectID, dup)
	user(t, s, tn, "u1", `{"plan":"pro"}`)
	_, err = s.CreateAttributeDefinition(ctx, tn.ProjectID, &userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser, DataType: userdata.DataTypeString, CodeName: "plan", DisplayName: "Plan"})
	wantCode(t, "CreateAttributeDefinition(auto-created by a write)", err, userdata.CodeConflict, "")
	_, err = s.CreateAttributeDefinition(ctx, "nope", &dup)
	wantCode(t, "CreateAttributeDefinition(unknown project)", err, userdata.CodeNotFound, userdata.ResourceProject)

	// Updates change what they give.
	for _, step := range []struct {
		u    userdata.AttributeDefinitionUpdate
		want func(d *userdata.AttributeDefinition)
	}{
		{userdata.AttributeDefinitionUpdate{}, func(*userdata.AttributeDefinition) {}},
		{userdata.AttributeDefinitionUpdate{DisplayName: ptr("Seat count")}, func(d *userdata.AttributeDefinition) { d.DisplayName = "Seat count" }},
		{userdata.AttributeDefinitionUpdate{Description: ptr("")}, func(d *userdata.AttributeDefinition) { d.Description = "" }},
		{userdata.AttributeDefinitionUpdate{DataType: ptr(userdata.DataTypeNumber), Description: ptr("again")}, func(d *userdata.AttributeDefinition) { d.Description = "again" }},
		{userdata.AttributeDefinitionUpdate{DataType: ptr(userdata.DataTypeString), DisplayName: ptr("S")}, func(d *userdata.AttributeDefinition) {
			d.DataType, d.DisplayName = userdata.DataTypeString, "S"
		}},
	} {
		step.want(want)
		got, err := s.UpdateAttributeDefinition(ctx, tn.ProjectID, d.ID, &step.u)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("UpdateAttributeDefinition(%+v): %v (-want +got):\n%s", step.u, err, diff)
		}
		if got, _ := s.GetAttributeDefinition(ctx, tn.ProjectID, d.ID); !cmp.Equal(want, got) {
			t.Errorf("after UpdateAttributeDefinition(%+v): Get = %+v, want %+v", step.u, got, want)
		}
	}
	_, err = s.UpdateAttributeDefinition(ctx, tn.ProjectID, "nope", &userdata.AttributeDefinitionUpdate{})
	wantCode(t, "UpdateAttributeDefinition(unknown)", err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)

	// Predefined definitions stay as they are, checked after existence.
	email := attribute(t, s, tn, userdata.ScopeUser, "email")
	for _, u := range []userdata.AttributeDefinitionUpdate{{}, {DisplayName: ptr("Mail")}, {DataType: ptr(userdata.DataTypeNumber)}} {
		_, err = s.UpdateAttributeDefinition(ctx, tn.ProjectID, email.ID, &u)
		wantCode(t, fmt.Sprintf("UpdateAttributeDefinition(predefined, %+v)", u), err, userdata.CodePredefined, "")
	}
	err = s.DeleteAttributeDefinition(ctx, tn.ProjectID, email.ID)
	wantCode(t, "DeleteAttributeDefinition(predefined)", err, userdata.CodePredefined, "")
	if got := attribute(t, s, tn, userdata.ScopeUser, "email"); !cmp.Equal(got, email) {
		t.Errorf("predefined definition changed: %+v, was %+v", got, email)
	}
	_, err = s.UpdateAttributeDefinition(ctx, other.ProjectID, email.ID, &userdata.AttributeDefinitionUpdate{})
	wantCode(t, "UpdateAttributeDefinition(another project's predefined)", err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)

	if err := s.DeleteAttributeDefinition(ctx, tn.ProjectID, d.ID); err != nil {
		t.Fatalf("DeleteAttributeDefinition: %v", err)
	}
	_, err = s.GetAttributeDefinition(ctx, tn.ProjectID, d.ID)
	wantCode(t, "GetAttributeDefinition(deleted)", err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)
	err = s.DeleteAttributeDefinition(ctx, tn.ProjectID, d.ID)
	wantCode(t, "DeleteAttributeDefinition(deleted)", err, userdata.CodeNotFound, userdata.ResourceAttributeDefinition)
	if n := len(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{Name: "seats"})); n != 1 {
		t.Errorf("after the deletion, %d definitions named seats, want the company one", n)
	}
	// The codeName is free again.
	createAttribute(t, s, tn.ProjectID, dup)
}

// Deleting a definition keeps the stored values, and the next write of the
// key defines it again, even after writes of it had defined it before.
func testAttributeDefinitionRedefined(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	user(t, s, tn, "u1", `{"plan":"pro"}`)
	user(t, s, tn, "u2", `{"plan":"basic"}`)
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u1", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "c1", Attributes: attrs(t, `{"tier":1}`)}, Attributes: attrs(t, `{"role":"admin"}`)}}})
	for _, def := range []struct {
		scope    userdata.Scope
		codeName string
		write    func()
	}{
		{userdata.ScopeUser, "plan", func() { user(t, s, tn, "u3", `{"plan":7}`) }},
		{userdata.ScopeCompany, "tier", func() { company(t, s, tn, "c2", `{"tier":[1]}`) }},
		{userdata.ScopeMembership, "role", func() {
			upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u2", Memberships: []userdata.MembershipUpsert{
				{Company: userdata.CompanyUpsert{ExternalID: "c1"}, Attributes: attrs(t, `{"role":7}`)}}})
		}},
	} {
		d := attribute(t, s, tn, def.scope, def.codeName)
		if err := s.DeleteAttributeDefinition(ctx, tn.ProjectID, d.ID); err != nil {
			t.Fatalf("DeleteAttributeDefinition(%s %s): %v", def.scope, def.codeName, err)
		}
		def.write()
		again := attribute(t, s, tn, def.scope, def.codeName)
		if again.ID == d.ID || again.DataType == d.DataType {
			t.Errorf("%s %s defined again as %+v, was %+v: want a new definition of the new value's type", def.scope, def.codeName, again, d)
		}
	}
	if u := getUser(t, s, tn, "u1", 0); decode(t, u.Attributes)["plan"] != "pro" {
		t.Errorf("u1 after its plan's definition was deleted: %s, want the value kept", u.Attributes)
	}
}

// An attribute definition deleted through one store is defined again by
// the next writes of its key through the other, which knew it (at once
// on SQLite; on PostgreSQL once the other has heard the notification, so
// the test writes until then).
func testDefinitionDeletedAcrossStores(t *testing.T, a, b userdata.Store) {
	tn := Tenant(t, a, "p", "e")
	user(t, b, tn, "u1", `{"plan":"pro"}`)
	user(t, b, tn, "u2", `{"plan":"basic"}`) // b knows plan is defined
	d := attribute(t, a, tn, userdata.ScopeUser, "plan")
	if err := a.DeleteAttributeDefinition(t.Context(), tn.ProjectID, d.ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		user(t, b, tn, "u3", `{"plan":7}`)
		if len(allAttributeDefinitions(t, a, tn, userdata.AttributeDefinitionFilter{Scope: userdata.ScopeUser, Name: "plan"})) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes of plan through the other store do not define it again")
		}
		user(t, b, tn, "u3", `{"plan":null}`)
	}
	if again := attribute(t, a, tn, userdata.ScopeUser, "plan"); again.DataType != userdata.DataTypeNumber {
		t.Errorf("plan defined again as %+v, want a number", again)
	}
}

func company(t *testing.T, s userdata.Store, tn userdata.Tenant, id, js string) *userdata.Company {
	t.Helper()
	in := &userdata.CompanyUpsert{ExternalID: id, Attributes: attrs(t, js)}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	c, _, err := s.UpsertCompany(t.Context(), tn, in)
	if err != nil {
		t.Fatalf("UpsertCompany(%q): %v", id, err)
	}
	return c
}
