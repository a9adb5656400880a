package segment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// LookUp asks for each scope's codeNames once, sorted and without
// repeats, and only for the scopes the trees name.
func TestLookUp(t *testing.T) {
	conds, err := segment.Parse(json.RawMessage(`[
		{"type":"attribute","scope":"user","attribute":"plan","op":"any"},
		{"type":"group","match":"any","conditions":[
			{"type":"attribute","scope":"user","attribute":"age","op":"any"},
			{"type":"attribute","scope":"companyMembership","attribute":"role","op":"any"},
			{"type":"attribute","scope":"user","attribute":"plan","op":"empty"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	asked := map[userdata.Scope][]string{}
	types := func(_ context.Context, projectID string, scope userdata.Scope, keys []string) (map[string]userdata.DataType, error) {
		if projectID != "p" || asked[scope] != nil {
			t.Errorf("types(%q, %s, %q) asked again or for another project", projectID, scope, keys)
		}
		asked[scope] = keys
		return map[string]userdata.DataType{keys[0]: userdata.DataTypeString}, nil
	}
	defs, err := segment.LookUp(t.Context(), types, "p", conds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || !slices.Equal(asked[userdata.ScopeUser], []string{"age", "plan"}) || !slices.Equal(asked[userdata.ScopeMembership], []string{"role"}) {
		t.Errorf("asked %v", asked)
	}
	want := segment.DefinitionMap{{Scope: userdata.ScopeUser, CodeName: "age"}: userdata.DataTypeString, {Scope: userdata.ScopeMembership, CodeName: "role"}: userdata.DataTypeString}
	if len(defs) != len(want) || defs[segment.DefinitionKey{Scope: userdata.ScopeUser, CodeName: "age"}] != userdata.DataTypeString {
		t.Errorf("definitions %v, want %v", defs, want)
	}
}

// Stored conditions that do not parse are one unsupported condition,
// which reads back as such and matches nobody.
func TestStored(t *testing.T) {
	conds := segment.Stored(json.RawMessage(`[{"type":"weird-legacy-type","data":{}}]`))
	if len(conds) != 1 || conds[0].Kind != segment.KindUnsupported || !strings.Contains(conds[0].Note, "matches nobody") {
		t.Fatalf("Stored: %+v", conds)
	}
	if got := string(segment.Encode(segment.ReadBack(conds, segment.DefinitionMap{}))); !strings.HasPrefix(got, `[{"type":"unsupported","note":"stored conditions`) {
		t.Errorf("read back %s", got)
	}
	if segment.Match(conds, segment.DefinitionMap{}, userdata.ScopeUser, segment.Entity{Attributes: json.RawMessage(`{}`)}, time.Now()) {
		t.Error("unreadable stored conditions match")
	}
	ok := `[{"type":"attribute","scope":"user","attribute":"plan","op":"any"}]`
	if got := string(segment.Encode(segment.Stored(json.RawMessage(ok)))); got != ok {
		t.Errorf("Stored(%s) = %s", ok, got)
	}
}

// Where compiles nothing for an audience without trees, refuses ad-hoc
// conditions that do not parse, and numbers the parameters of a
// segment's tree and of the ad-hoc one in a row from argStart.
func TestWhere(t *testing.T) {
	types := func(context.Context, string, userdata.Scope, []string) (map[string]userdata.DataType, error) {
		return map[string]userdata.DataType{"plan": userdata.DataTypeString}, nil
	}
	now := time.Now()
	manual := &userdata.Segment{Kind: userdata.SegmentManual, BizType: userdata.ScopeUser}
	for _, a := range []userdata.Audience{{}, {Segment: manual}} {
		if where, args, err := segment.Where(t.Context(), segment.Postgres, types, "p", &a, segment.Target{Biz: userdata.ScopeUser, Alias: "users", ArgStart: 2}, now); where != "" || args != nil || err != nil {
			t.Errorf("Where(%+v) = %q, %v, %v", a, where, args, err)
		}
	}
	bad := userdata.Audience{Conditions: json.RawMessage(`{}`)}
	if _, _, err := segment.Where(t.Context(), segment.Postgres, types, "p", &bad, segment.Target{Biz: userdata.ScopeUser, Alias: "users", ArgStart: 2}, now); userdata.ErrorCode(err) != userdata.CodeInvalid {
		t.Errorf("Where with conditions {}: %v", err)
	}
	cond := &userdata.Segment{Kind: userdata.SegmentCondition, BizType: userdata.ScopeUser,
		Conditions: json.RawMessage(`[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"}]`)}
	a := userdata.Audience{Segment: cond, Conditions: json.RawMessage(`[{"type":"attribute","scope":"user","attribute":"plan","op":"not","value":"free"}]`)}
	where, args, err := segment.Where(t.Context(), segment.Postgres, types, "p", &a, segment.Target{Biz: userdata.ScopeUser, Alias: "users", ArgStart: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	last := fmt.Sprintf("$%d::", 1+len(args))
	if len(args) < 2 || !strings.Contains(where, "$2::") || !strings.Contains(where, last) || strings.Contains(where, "$1::") ||
		!slices.Contains(args, any("pro")) || !slices.Contains(args, any("free")) {
		t.Errorf("Where = %s, %v", where, args)
	}
}
