package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func createEvent(t *testing.T, s userdata.Store, projectID string, in userdata.EventDefinitionInput) *userdata.EventDefinition {
	t.Helper()
	if err := in.Validate(); err != nil {
		t.Fatalf("test input %+v is invalid: %v", in, err)
	}
	d, err := s.CreateEventDefinition(t.Context(), projectID, &in)
	if err != nil {
		t.Fatalf("CreateEventDefinition(%+v): %v", in, err)
	}
	return d
}

// eventDefinition finds an event definition of tn's project by codeName,
// or fails.
func eventDefinition(t *testing.T, s userdata.Store, tn userdata.Tenant, codeName string) *userdata.EventDefinition {
	t.Helper()
	f := userdata.EventDefinitionFilter{PageRequest: page(userdata.MaxLimit, ""), Name: codeName}
	for {
		l, err := s.ListEventDefinitions(t.Context(), tn, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range l.Items {
			if d.CodeName == codeName {
				return d
			}
		}
		if l.NextCursor == "" {
			t.Fatalf("no event definition %q", codeName)
		}
		f.Cursor = l.NextCursor
	}
}

// Event definitions are created, read, changed and deleted by id within
// their project, linked to eventDefinition-scoped attribute definitions by
// codeName.
func testEventDefinitionCRUD(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "q", "e")
	for _, code := range []string{"amount", "currency"} {
		createAttribute(t, s, tn.ProjectID, userdata.AttributeDefinitionInput{Scope: userdata.ScopeEvent, DataType: userdata.DataTypeString, CodeName: code, DisplayName: code})
	}
	createAttribute(t, s, tn.ProjectID, userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser, DataType: userdata.DataTypeString, CodeName: "plan", DisplayName: "Plan"})
	createAttribute(t, s, other.ProjectID, userdata.AttributeDefinitionInput{Scope: userdata.ScopeEvent, DataType: userdata.DataTypeString, CodeName: "theirs", DisplayName: "Theirs"})

	d := createEvent(t, s, tn.ProjectID, userdata.EventDefinitionInput{CodeName: "purchased", DisplayName: "Purchased", Description: "Paid",
		Attributes: []string{"currency", "amount", "currency"}})
	want := &userdata.EventDefinition{ID: d.ID, CodeName: "purchased", DisplayName: "Purchased", Description: "Paid",
		CreatedAt: d.CreatedAt, Attributes: []string{"amount", "currency"}}
	if diff := cmp.Diff(want, d); diff != "" || d.ID == "" || d.CreatedAt.IsZero() {
		t.Errorf("CreateEventDefinition (-want +got):\n%s", diff)
	}
	check := func(what string) {
		t.Helper()
		got, err := s.GetEventDefinition(ctx, tn.ProjectID, d.ID)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("%s: GetEventDefinition: %v (-want +got):\n%s", what, err, diff)
		}
		if diff := cmp.Diff(want, eventDefinition(t, s, tn, "purchased")); diff != "" {
			t.Errorf("%s: listed (-want +got):\n%s", what, diff)
		}
	}
	check("created")
	if got := eventDefinition(t, s, tn, "page_viewed"); !got.Predefined || len(got.Attributes) == 0 {
		t.Errorf("predefined page_viewed listed as %+v, want predefined with its attributes", got)
	}
	for _, id := range []string{"nope", "", "a\x00"} {
		_, err := s.GetEventDefinition(ctx, tn.ProjectID, id)
		wantCode(t, fmt.Sprintf("GetEventDefinition(%q)", id), err, userdata.CodeNotFound, userdata.ResourceEventDefinition)
	}
	_, err := s.GetEventDefinition(ctx, other.ProjectID, d.ID)
	wantCode(t, "GetEventDefinition(another project's)", err, userdata.CodeNotFound, userdata.ResourceEventDefinition)
	_, err = s.UpdateEventDefinition(ctx, other.ProjectID, d.ID, &userdata.EventDefinitionUpdate{})
	wantCode(t, "UpdateEventDefinition(another project's)", err, userdata.CodeNotFound, userdata.ResourceEventDefinition)
	err = s.DeleteEventDefinition(ctx, other.ProjectID, d.ID)
	wantCode(t, "DeleteEventDefinition(another project's)", err, userdata.CodeNotFound, userdata.ResourceEventDefinition)

	// Attributes must be eventDefinition-scoped definitions of the project,
	// checked before the codeName's uniqueness.
	unknown := []string{"amount", "nope", "plan", "theirs", "nope", "a\x00"}
	_, err = s.CreateEventDefinition(ctx, tn.ProjectID, &userdata.EventDefinitionInput{CodeName: "purchased", DisplayName: "P", Attributes: unknown})
	wantCode(t, "CreateEventDefinition(unknown attributes)", err, userdata.CodeInvalid, "")
	if want := "invalid: Unknown event attribute codeName(s): nope, plan, theirs, a\x00"; err.Error() != want {
		t.Errorf("unknown attributes: %q, want %q", err, want)
	}
	_, err = s.CreateEventDefinition(ctx, tn.ProjectID, &userdata.EventDefinitionInput{CodeName: "purchased", DisplayName: "P"})
	wantCode(t, "CreateEventDefinition(duplicate)", err, userdata.CodeConflict, "")
	if e := (*userdata.Error)(nil); !errors.As(err, &e) || e.Resource != userdata.ResourceEventDefinition {
		t.Errorf("duplicate: %v, want a conflict for %s", err, userdata.ResourceEventDefinition)
	}
	user(t, s, tn, "u1", `{}`)
	if _, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u1", Name: "tracked"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateEventDefinition(ctx, tn.ProjectID, &userdata.EventDefinitionInput{CodeName: "tracked", DisplayName: "T"})
	wantCode(t, "CreateEventDefinition(defined by tracking)", err, userdata.CodeConflict, "")
	_, err = s.CreateEventDefinition(ctx, "nope", &userdata.EventDefinitionInput{CodeName: "x1", DisplayName: "X"})
	wantCode(t, "CreateEventDefinition(unknown project)", err, userdata.CodeNotFound, userdata.ResourceProject)
	createEvent(t, s, other.ProjectID, userdata.EventDefinitionInput{CodeName: "purchased", DisplayName: "Theirs", Attributes: []string{"theirs"}})
	check("after refused creations")

	// Updates change what they give; attributes replace the links.
	for _, step := range []struct {
		u    userdata.EventDefinitionUpdate
		want func(d *userdata.EventDefinition)
	}{
		{userdata.EventDefinitionUpdate{}, func(*userdata.EventDefinition) {}},
		{userdata.EventDefinitionUpdate{DisplayName: ptr("Bought")}, func(d *userdata.EventDefinition) { d.DisplayName = "Bought" }},
		{userdata.EventDefinitionUpdate{Description: ptr(""), Attributes: &[]string{"currency"}}, func(d *userdata.EventDefinition) {
			d.Description, d.Attributes = "", []string{"currency"}
		}},
		{userdata.EventDefinitionUpdate{Attributes: &[]string{"amount", "currency", "amount"}}, func(d *userdata.EventDefinition) { d.Attributes = []string{"amount", "currency"} }},
		{userdata.EventDefinitionUpdate{Attributes: &[]string{}}, func(d *userdata.EventDefinition) { d.Attributes = []string{} }},
		{userdata.EventDefinitionUpdate{Attributes: &[]string{"amount"}}, func(d *userdata.EventDefinition) { d.Attributes = []string{"amount"} }},
	} {
		step.want(want)
		got, err := s.UpdateEventDefinition(ctx, tn.ProjectID, d.ID, &step.u)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("UpdateEventDefinition(%+v): %v (-want +got):\n%s", step.u, err, diff)
		}
		check(fmt.Sprintf("after UpdateEventDefinition(%+v)", step.u))
	}
	if got := codeNames(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{EventNames: []string{"purchased"}})); !cmp.Equal(got, []string{"amount"}) {
		t.Errorf("attributes of purchased by eventName: %v, want [amount]", got)
	}
	_, err = s.UpdateEventDefinition(ctx, tn.ProjectID, d.ID, &userdata.EventDefinitionUpdate{DisplayName: ptr("Changed"), Attributes: &unknown})
	wantCode(t, "UpdateEventDefinition(unknown attributes)", err, userdata.CodeInvalid, "")
	check("after an update with unknown attributes")
	_, err = s.UpdateEventDefinition(ctx, tn.ProjectID, "nope", &userdata.EventDefinitionUpdate{})
	wantCode(t, "UpdateEventDefinition(unknown)", err, userdata.CodeNotFound, userdata.ResourceEventDefinition)

	// Predefined definitions stay as they are, checked after existence and
	// before the attributes.
	viewed := eventDefinition(t, s, tn, "page_viewed")
	for _, u := range []userdata.EventDefinitionUpdate{{}, {DisplayName: ptr("Seen")}, {Attributes: &unknown}} {
		_, err = s.UpdateEventDefinition(ctx, tn.ProjectID, viewed.ID, &u)
		wantCode(t, fmt.Sprintf("UpdateEventDefinition(predefined, %+v)", u), err, userdata.CodePredefined, "")
	}
	err = s.DeleteEventDefinition(ctx, tn.ProjectID, viewed.ID)
	wantCode(t, "DeleteEventDefinition(predefined)", err, userdata.CodePredefined, "")
	if got := eventDefinition(t, s, tn, "page_viewed"); !cmp.Equal(got, viewed) {
		t.Errorf("predefined definition changed: %+v, was %+v", got, viewed)
	}

	// A deleted attribute definition is unlinked.
	amount := attribute(t, s, tn, userdata.ScopeEvent, "amount")
	if err := s.DeleteAttributeDefinition(ctx, tn.ProjectID, amount.ID); err != nil {
		t.Fatal(err)
	}
	want.Attributes = []string{}
	check("after its attribute was deleted")

	if err := s.DeleteEventDefinition(ctx, tn.ProjectID, d.ID); err != nil {
		t.Fatalf("DeleteEventDefinition: %v", err)
	}
	_, err = s.GetEventDefinition(ctx, tn.ProjectID, d.ID)
	wantCode(t, "GetEventDefinition(deleted)", err, userdata.CodeNotFound, userdata.ResourceEventDefinition)
	err = s.DeleteEventDefinition(ctx, tn.ProjectID, d.ID)
	wantCode(t, "DeleteEventDefinition(deleted)", err, userdata.CodeNotFound, userdata.ResourceEventDefinition)
	createEvent(t, s, tn.ProjectID, userdata.EventDefinitionInput{CodeName: "purchased", DisplayName: "Again"})
}

// An event definition with recorded events, in any live environment of its
// project, cannot be deleted; once they are gone it can, and tracking the
// event defines it again.
func testEventDefinitionRecorded(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	prod := Tenant(t, s, "p", "prod")
	staging := Tenant(t, s, "p", "staging")
	other := Tenant(t, s, "q", "prod")
	d := createEvent(t, s, prod.ProjectID, userdata.EventDefinitionInput{CodeName: "signed_up", DisplayName: "Signed up"})
	for _, tn := range []userdata.Tenant{staging, other} {
		user(t, s, tn, "u1", `{}`)
		if _, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u1", Name: "signed_up", Attributes: attrs(t, `{"via":"ad"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.DeleteEventDefinition(ctx, prod.ProjectID, d.ID)
	wantCode(t, "DeleteEventDefinition(recorded in another environment)", err, userdata.CodeInUse, "")
	if got, err := s.GetEventDefinition(ctx, prod.ProjectID, d.ID); err != nil || !cmp.Equal(got.Attributes, []string{"via"}) {
		t.Errorf("after a refused deletion: %+v, %v; want it linked to via by tracking", got, err)
	}
	if err := s.DeleteUser(ctx, staging, "u1"); err != nil { // and its events
		t.Fatal(err)
	}
	if err := s.DeleteEventDefinition(ctx, prod.ProjectID, d.ID); err != nil {
		t.Fatalf("DeleteEventDefinition once its events are gone (another project's stay): %v", err)
	}
	if got := codeNames(allAttributeDefinitions(t, s, prod, userdata.AttributeDefinitionFilter{EventNames: []string{"signed_up"}})); len(got) != 0 {
		t.Errorf("attributes linked to the deleted event: %v", got)
	}
	user(t, s, prod, "u2", `{}`)
	if _, err := s.TrackEvent(ctx, prod, &userdata.EventInput{UserID: "u2", Name: "signed_up"}); err != nil {
		t.Fatal(err)
	}
	if again := eventDefinition(t, s, prod, "signed_up"); again.ID == d.ID || again.Predefined {
		t.Errorf("tracking defined the event again as %+v", again)
	}
}

func codeNames(defs []*userdata.AttributeDefinition) []string {
	out := []string{}
	for _, d := range defs {
		out = append(out, d.CodeName)
	}
	return out
}
