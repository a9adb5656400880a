package storetest

import (
	"maps"
	"testing"
	"time"

	"tourd/internal/userdata"
)

// wantTypes fails unless AttributeTypes of keys is want.
func wantTypes(t *testing.T, s userdata.Store, tn userdata.Tenant, scope userdata.Scope, keys []string, want map[string]userdata.DataType) {
	t.Helper()
	got, err := s.AttributeTypes(t.Context(), tn.ProjectID, scope, keys)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("AttributeTypes(%s, %v) = %v, want %v", scope, keys, got, want)
	}
}

// AttributeTypes gives the types of the keys defined in the project's
// scope, whether defined by a write or created, and follows a retype and
// a deletion at once, however often it was asked before.
func testAttributeTypes(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "prod")
	other := Tenant(t, s, "q", "prod")
	keys := []string{"plan", "seats", "nope", "tags"}
	wantTypes(t, s, tn, userdata.ScopeUser, keys, map[string]userdata.DataType{})
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u1",
		Attributes: userdata.Attributes{"plan": "pro", "seats": 3.0, "tags": []any{"a"}}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]userdata.DataType{"plan": userdata.DataTypeString, "seats": userdata.DataTypeNumber, "tags": userdata.DataTypeList}
	for range 2 { // the second from the cache
		wantTypes(t, s, tn, userdata.ScopeUser, keys, want)
	}
	wantTypes(t, s, tn, userdata.ScopeCompany, keys, map[string]userdata.DataType{})
	wantTypes(t, s, other, userdata.ScopeUser, keys, map[string]userdata.DataType{})

	// A retype, then a deletion, are seen by the next call.
	plan := attribute(t, s, tn, userdata.ScopeUser, "plan")
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u1", Attributes: userdata.Attributes{"plan": nil}}); err != nil {
		t.Fatal(err)
	}
	dt := userdata.DataTypeNumber
	if _, err := s.UpdateAttributeDefinition(ctx, tn.ProjectID, plan.ID, &userdata.AttributeDefinitionUpdate{DataType: &dt}); err != nil {
		t.Fatal(err)
	}
	want["plan"] = userdata.DataTypeNumber
	wantTypes(t, s, tn, userdata.ScopeUser, keys, want)
	if err := s.DeleteAttributeDefinition(ctx, tn.ProjectID, plan.ID); err != nil {
		t.Fatal(err)
	}
	delete(want, "plan")
	wantTypes(t, s, tn, userdata.ScopeUser, keys, want)
	// A definition created through the v2 CRUD is seen too.
	if _, err := s.CreateAttributeDefinition(ctx, tn.ProjectID, &userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser,
		DataType: userdata.DataTypeBoolean, CodeName: "nope", DisplayName: "Nope"}); err != nil {
		t.Fatal(err)
	}
	want["nope"] = userdata.DataTypeBoolean
	wantTypes(t, s, tn, userdata.ScopeUser, keys, want)
}

// A retype through one store reaches the other's type cache within the
// time revocations take.
func testAttributeTypesAcrossStores(t *testing.T, a, b userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, a, "p", "prod")
	if _, _, err := a.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u1", Attributes: userdata.Attributes{"n": "x"}}); err != nil {
		t.Fatal(err)
	}
	wantTypes(t, b, tn, userdata.ScopeUser, []string{"n"}, map[string]userdata.DataType{"n": userdata.DataTypeString})
	if _, _, err := a.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u1", Attributes: userdata.Attributes{"n": nil}}); err != nil {
		t.Fatal(err)
	}
	dt := userdata.DataTypeNumber
	n := attribute(t, a, tn, userdata.ScopeUser, "n")
	if _, err := a.UpdateAttributeDefinition(ctx, tn.ProjectID, n.ID, &userdata.AttributeDefinitionUpdate{DataType: &dt}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := b.AttributeTypes(ctx, tn.ProjectID, userdata.ScopeUser, []string{"n"})
		if err != nil {
			t.Fatal(err)
		}
		if got["n"] == userdata.DataTypeNumber {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other store still has type %v 5 s after the retype", got["n"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
