package storetest

import (
	"fmt"
	"regexp"
	"testing"

	"tourd/internal/userdata"
)

// retype changes the type of tn's definition (scope, codeName) to dt and
// returns the error; on error it checks that nothing changed, the display
// name given beside the type included.
func retype(t *testing.T, s userdata.Store, tn userdata.Tenant, scope userdata.Scope, codeName string, dt userdata.DataType) error {
	t.Helper()
	before := attribute(t, s, tn, scope, codeName)
	d, err := s.UpdateAttributeDefinition(t.Context(), tn.ProjectID, before.ID,
		&userdata.AttributeDefinitionUpdate{DataType: &dt, DisplayName: ptr("Renamed " + codeName)})
	after := attribute(t, s, tn, scope, codeName)
	switch {
	case err != nil && (after.DataType != before.DataType || after.DisplayName != before.DisplayName):
		t.Errorf("refused retype of %s %s to %s changed it: %+v, was %+v", scope, codeName, dt, after, before)
	case err == nil && (d.DataType != dt || after.DataType != dt || after.DisplayName != "Renamed "+codeName):
		t.Errorf("retype of %s %s to %s: got %+v, stored %+v", scope, codeName, dt, d, after)
	}
	return err
}

// wantRetype fails unless retyping succeeds.
func wantRetype(t *testing.T, s userdata.Store, tn userdata.Tenant, scope userdata.Scope, codeName string, dt userdata.DataType) {
	t.Helper()
	if err := retype(t, s, tn, scope, codeName, dt); err != nil {
		t.Errorf("retype of %s %s to %s: %v, want success", scope, codeName, dt, err)
	}
}

// wantRefused fails unless retyping is refused with CodeInvalid and a
// message matching pattern (after its fixed prefix).
func wantRefused(t *testing.T, s userdata.Store, tn userdata.Tenant, scope userdata.Scope, codeName string, dt userdata.DataType, pattern string) {
	t.Helper()
	err := retype(t, s, tn, scope, codeName, dt)
	wantCode(t, fmt.Sprintf("retype of %s %s to %s", scope, codeName, dt), err, userdata.CodeInvalid, "")
	re := regexp.MustCompile(fmt.Sprintf(`^invalid: Cannot change the type of %s to %s: the value (%s) is not `,
		regexp.QuoteMeta(fmt.Sprintf("%q", codeName)), dt, pattern))
	if !re.MatchString(err.Error()) {
		t.Errorf("retype of %s %s to %s: %v, want a message matching %s", scope, codeName, dt, err, re)
	}
}

// A retype is allowed when every non-null value of the key stored in the
// definition's scope, in every environment of its project, fits the new
// type; else it is refused naming one that does not, and nothing changes.
func testRetype(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	prod := Tenant(t, s, "p", "prod")
	staging := Tenant(t, s, "p", "staging")
	q := regexp.QuoteMeta

	// Every environment counts; another project's values and another
	// scope's do not, nor users without the key.
	user(t, s, staging, "u2", `{"score":2}`)
	user(t, s, prod, "u1", `{"score":[1]}`)
	user(t, s, prod, "u3", `{"other":1}`)
	user(t, s, Tenant(t, s, "other", "prod"), "u4", `{"score":"abc"}`)
	company(t, s, prod, "c1", `{"score":"abc"}`)
	wantRefused(t, s, prod, userdata.ScopeUser, "score", userdata.DataTypeList, q(`2 of user "u2" in environment `+staging.EnvironmentID))
	user(t, s, staging, "u2", `{"score":[2]}`)
	wantRetype(t, s, prod, userdata.ScopeUser, "score", userdata.DataTypeList)
	wantRetype(t, s, prod, userdata.ScopeUser, "score", userdata.DataTypeList) // the same type: nothing to check

	// Datetimes are strings in the stored form.
	user(t, s, prod, "u1", `{"seen":"2024-01-01T00:00:00Z"}`)
	user(t, s, staging, "u2", `{"seen":"2024-01-01T00:00:00.000Z"}`)
	wantRetype(t, s, prod, userdata.ScopeUser, "seen", userdata.DataTypeString)
	wantRetype(t, s, prod, userdata.ScopeUser, "seen", userdata.DataTypeDatetime)
	wantRetype(t, s, prod, userdata.ScopeUser, "seen", userdata.DataTypeString)
	user(t, s, prod, "u3", `{"seen":"2024-01-01"}`)
	wantRefused(t, s, prod, userdata.ScopeUser, "seen", userdata.DataTypeDatetime, q(`"2024-01-01" of user "u3" in environment `+prod.EnvironmentID))

	// Companies, memberships and events hold the values of their scopes.
	wantRefused(t, s, prod, userdata.ScopeCompany, "score", userdata.DataTypeNumber, q(`"abc" of company "c1" in environment `+prod.EnvironmentID))
	company(t, s, prod, "c1", `{"score":10}`)
	wantRetype(t, s, prod, userdata.ScopeCompany, "score", userdata.DataTypeNumber)
	upsertUser(t, s, staging, &userdata.UserUpsert{ExternalID: "u2", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "c2"}, Attributes: attrs(t, `{"role":"admin"}`)}}})
	wantRefused(t, s, prod, userdata.ScopeMembership, "role", userdata.DataTypeBoolean,
		q(`"admin" of the membership of user "u2" in company "c2" in environment `+staging.EnvironmentID))
	upsertUser(t, s, staging, &userdata.UserUpsert{ExternalID: "u2", Memberships: []userdata.MembershipUpsert{
		{Company: userdata.CompanyUpsert{ExternalID: "c2"}, Attributes: attrs(t, `{"role":true}`)}}})
	wantRetype(t, s, prod, userdata.ScopeMembership, "role", userdata.DataTypeBoolean)
	user(t, s, prod, "tracker", `{}`)
	ev, err := s.TrackEvent(ctx, prod, &userdata.EventInput{UserID: "tracker", Name: "clicked", Attributes: attrs(t, `{"count":"3"}`)})
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s, prod, userdata.ScopeEvent, "count", userdata.DataTypeNumber,
		q(`"3" of event `+ev.ID+` of user "tracker" in environment `+prod.EnvironmentID))
	if err := s.DeleteUser(ctx, prod, "tracker"); err != nil { // and its events
		t.Fatal(err)
	}
	wantRetype(t, s, prod, userdata.ScopeEvent, "count", userdata.DataTypeNumber)

	// Keys are keys, whatever their characters: "x.y" is not y in x.
	user(t, s, prod, "u5", `{"x.y":"abc","x":{"y":5},"q\"k\\":"abc","$[0]":"abc"}`)
	for _, key := range []string{"x.y", `q"k\`, "$[0]"} {
		wantRefused(t, s, prod, userdata.ScopeUser, key, userdata.DataTypeNumber, q(`"abc" of user "u5" in environment `+prod.EnvironmentID))
	}
	wantRefused(t, s, prod, userdata.ScopeUser, "x", userdata.DataTypeList, q(`{"y":5} of user "u5" in environment `+prod.EnvironmentID))
}

// A retype reads every stored value, however many: here more than a page
// of PostgreSQL's cursor, with the one that does not fit written last.
func testRetypeManyValues(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	var ins []*userdata.UserUpsert
	for i := range 2100 {
		ins = append(ins, &userdata.UserUpsert{ExternalID: fmt.Sprintf("u%04d", i), Attributes: attrs(t, `{"at":"2024-01-01T00:00:00Z"}`)})
	}
	for i, r := range s.ImportUsers(t.Context(), tn, ins) {
		if r.Err != nil {
			t.Fatalf("import line %d: %v", i, r.Err)
		}
	}
	wantRetype(t, s, tn, userdata.ScopeUser, "at", userdata.DataTypeString)
	user(t, s, tn, "last", `{"at":"soon"}`)
	wantRefused(t, s, tn, userdata.ScopeUser, "at", userdata.DataTypeDatetime, regexp.QuoteMeta(`"soon" of user "last" in environment `+tn.EnvironmentID))
}

// DeletedEnvironmentDefinitions checks, on a store whose environment
// markDeleted marks deleted behind its back, that the values and events of
// a deleted environment no longer count: a retype does not check them, and
// an event definition recorded only there may be deleted. A backend's test
// calls it with its own SQL.
func DeletedEnvironmentDefinitions(t *testing.T, s userdata.Store, markDeleted func(envID string)) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	prod := Tenant(t, s, p.ID, p.Environments[0].ID)
	gone := Tenant(t, s, p.ID, createEnvironment(t, s, p.ID, "gone").ID)
	createAttribute(t, s, p.ID, userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser, DataType: userdata.DataTypeNumber, CodeName: "score", DisplayName: "Score"})
	user(t, s, prod, "u1", `{"score":"a"}`)
	user(t, s, gone, "u2", `{"score":5}`)
	d := createEvent(t, s, p.ID, userdata.EventDefinitionInput{CodeName: "signed_up", DisplayName: "Signed up"})
	if _, err := s.TrackEvent(ctx, gone, &userdata.EventInput{UserID: "u2", Name: "signed_up"}); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s, prod, userdata.ScopeUser, "score", userdata.DataTypeString, regexp.QuoteMeta(`5 of user "u2" in environment `+gone.EnvironmentID))
	err := s.DeleteEventDefinition(ctx, p.ID, d.ID)
	wantCode(t, "DeleteEventDefinition(recorded in a live environment)", err, userdata.CodeInUse, "")

	markDeleted(gone.EnvironmentID)
	wantRetype(t, s, prod, userdata.ScopeUser, "score", userdata.DataTypeString)
	if err := s.DeleteEventDefinition(ctx, p.ID, d.ID); err != nil {
		t.Errorf("DeleteEventDefinition(recorded in a deleted environment only): %v", err)
	}
}
