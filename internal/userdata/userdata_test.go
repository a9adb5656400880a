package userdata_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func TestInferDataType(t *testing.T) {
	for _, tt := range []struct {
		js   string
		want string
	}{
		{`1`, "number"}, {`-2.5`, "number"}, {`true`, "boolean"}, {`false`, "boolean"},
		{`[]`, "list"}, {`["a",1]`, "list"}, {`{"a":1}`, "string"}, {`"x"`, "string"},
		{`"2024-03-20T08:30:00.000Z"`, "datetime"}, {`"2024-03-20T08:30:00Z"`, "datetime"},
		{`"2024-02-29T00:00:00Z"`, "datetime"}, {`"2023-02-29T00:00:00Z"`, "string"},
		{`"2024-02-30T00:00:00Z"`, "string"}, {`"2024-03-20T24:00:00Z"`, "string"},
		{`"2024-03-20T08:30:00.00Z"`, "string"}, {`"2024-03-20T08:30:00.0Z"`, "string"},
		{`"2024-03-20T08:30:00.000000Z"`, "string"}, {`"2024-03-20T08:30:00+00:00"`, "string"},
		{`"2024-03-20T08:30:00.000z"`, "string"}, {`"2024-03-20"`, "string"}, {`"2024-03-20 08:30:00Z"`, "string"},
		{`"２024-03-20T08:30:00Z"`, "string"}, {`"2024-13-01T00:00:00Z"`, "string"}, {`"2024-03-20T08:60:00Z"`, "string"},
	} {
		var v any
		if err := json.Unmarshal([]byte(tt.js), &v); err != nil {
			t.Fatal(err)
		}
		if got := userdata.InferDataType(v).String(); got != tt.want {
			t.Errorf("InferDataType(%s) = %s, want %s", tt.js, got, tt.want)
		}
	}
}

func TestDataTypeNames(t *testing.T) {
	for code, want := range []string{"string", "number", "string", "boolean", "list", "datetime", "random_ab", "random_number"} {
		if got := userdata.DataType(code).String(); got != want {
			t.Errorf("DataType(%d) = %s, want %s", code, got, want)
		}
	}
	if got := userdata.DataType(99).String(); got != "string" {
		t.Errorf("unknown data type reads %q", got)
	}
}

func TestDefaultDisplayName(t *testing.T) {
	for in, want := range map[string]string{"plan": "Plan", "signed_up_at": "Signed_up_at", "Plan": "Plan", "élan": "Élan", "1x": "1x"} {
		if got := userdata.DefaultDisplayName(in); got != want {
			t.Errorf("DefaultDisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMergeAndCreate(t *testing.T) {
	var a userdata.Attributes
	if err := json.Unmarshal([]byte(`{"b":2,"c":null,"n":{"x":[1,"<&>"]},"f":1.0}`), &a); err != nil {
		t.Fatal(err)
	}
	merged, changed, err := a.Merge(json.RawMessage(`{"a":1,"b":1,"c":3,"n":{"y":1}}`))
	if err != nil || !changed {
		t.Fatalf("Merge: changed %t, err %v", changed, err)
	}
	if want := `{"a":1,"b":2,"f":1,"n":{"x":[1,"<&>"]}}`; string(merged) != want {
		t.Errorf("Merge = %s, want %s", merged, want)
	}
	same, changed, err := a.Merge(merged)
	if err != nil || changed || string(same) != string(merged) {
		t.Errorf("Merge of the same values: %s, changed %t, err %v", same, changed, err)
	}
	created, err := a.Create(userdata.SeedAttributes(time.Date(2025, 1, 2, 3, 4, 5, 678999999, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":2,"f":1,"first_seen_at":"2025-01-02T03:04:05.678Z","last_seen_at":"2025-01-02T03:04:05.678Z","n":{"x":[1,"<&>"]}}`; string(created) != want {
		t.Errorf("Create = %s, want %s", created, want)
	}
	empty, err := userdata.Attributes(nil).Create(nil)
	if err != nil || string(empty) != "{}" {
		t.Errorf("Create(nil) = %s, %v", empty, err)
	}
	set, del, err := a.Split()
	if err != nil || string(set) != `{"b":2,"f":1,"n":{"x":[1,"<&>"]}}` || !cmp.Equal(del, []string{"c"}) {
		t.Errorf("Split = %s, %v, %v", set, del, err)
	}
	if diff := cmp.Diff([]string{"b", "f", "n"}, a.Keys()); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
}

func TestFormatTime(t *testing.T) {
	ts := time.Date(2025, 4, 27, 15, 39, 47, 24999999, time.FixedZone("x", 2*3600))
	if got := userdata.FormatTime(ts); got != "2025-04-27T13:39:47.024Z" {
		t.Errorf("FormatTime = %s", got)
	}
}

func TestNewID(t *testing.T) {
	ids := make([]string, 1000)
	seen := map[string]bool{}
	for i := range ids {
		ids[i] = userdata.NewID()
		if len(ids[i]) != 25 || ids[i][0] != 'c' || strings.Trim(ids[i], "0123456789abcdefghijklmnopqrstuvwxyz") != "" || seen[ids[i]] {
			t.Fatalf("NewID = %q", ids[i])
		}
		seen[ids[i]] = true
	}
	if !sort.StringsAreSorted(ids) {
		t.Error("ids made one after another do not sort in order")
	}
}

func TestKeys(t *testing.T) {
	key, hash, prefix := userdata.NewKey()
	if !strings.HasPrefix(key, "ak_") || len(key) < 35 || !strings.HasPrefix(key, prefix) {
		t.Errorf("NewKey = %q, prefix %q", key, prefix)
	}
	if hash != userdata.HashKey(userdata.TokenFromKey(key)) || strings.Contains(hash, key[3:]) {
		t.Errorf("hash %q does not match the key", hash)
	}
	if userdata.TokenFromKey("ak_ak_x") != "ak_x" {
		t.Error("TokenFromKey must strip the prefix once")
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", 1025)
	for name, u := range map[string]userdata.UserUpsert{
		"blank id":      {ExternalID: " \t"},
		"long id":       {ExternalID: long},
		"bom id":        {ExternalID: "\ufeff"},
		"both":          {ExternalID: "a", Companies: []userdata.CompanyUpsert{}, Memberships: []userdata.MembershipUpsert{}},
		"empty key":     {ExternalID: "a", Attributes: userdata.Attributes{"": 1}},
		"long key":      {ExternalID: "a", Attributes: userdata.Attributes{strings.Repeat("k", 256): 1}},
		"company id":    {ExternalID: "a", Companies: []userdata.CompanyUpsert{{ExternalID: ""}}},
		"membership id": {ExternalID: "a", Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: long}}}},
		"membership key": {ExternalID: "a", Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "c"},
			Attributes: userdata.Attributes{"": 1}}}},
	} {
		if err := u.Validate(); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("%s: Validate = %v, want CodeInvalid", name, err)
		}
	}
	ok := userdata.UserUpsert{ExternalID: long[1:], Attributes: userdata.Attributes{strings.Repeat("k", 255): nil},
		Companies: []userdata.CompanyUpsert{{ExternalID: "c"}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
}

func TestPredefined(t *testing.T) {
	attrs, events := userdata.Predefined()
	n := map[userdata.Scope]int{}
	for _, a := range attrs {
		n[a.Scope]++
	}
	if diff := cmp.Diff(map[userdata.Scope]int{userdata.ScopeUser: 6, userdata.ScopeCompany: 4, userdata.ScopeEvent: 66}, n); diff != "" {
		t.Errorf("predefined attributes per scope (-want +got):\n%s", diff)
	}
	if len(events) != 26 {
		t.Errorf("%d predefined events, want 26", len(events))
	}
}

func BenchmarkMerge(b *testing.B) {
	stored := json.RawMessage(`{"email":"user42@example.com","first_seen_at":"2026-11-27T10:00:00.000Z","last_login":"2026-11-27T10:00:00.000Z","last_seen_at":"2026-11-27T10:00:00.000Z","name":"User 42","plan":"pro","seats":42}`)
	a := userdata.Attributes{"name": "User 42", "email": "user42@example.com", "plan": "pro", "seats": 42.0, "last_login": "2026-11-27T10:00:01.000Z"}
	for b.Loop() {
		if _, _, err := a.Merge(stored); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUniqueSorts(t *testing.T) {
	in := []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}, {Field: userdata.SortCodeName}, {Field: userdata.SortCreatedAt}, {Field: userdata.SortCodeName, Desc: true}}
	want := []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}, {Field: userdata.SortCodeName}}
	if diff := cmp.Diff(want, userdata.UniqueSorts(in)); diff != "" {
		t.Errorf("UniqueSorts (-want +got):\n%s", diff)
	}
}

// Merging many keys into many stored keys works (and stays linear: 60,000
// keys each way would take minutes if it were quadratic).
func TestMergeLarge(t *testing.T) {
	const n = 60000
	stored := userdata.Attributes{}
	patch := userdata.Attributes{}
	for i := range n {
		stored[fmt.Sprintf("s%d", i)] = float64(i)
		patch[fmt.Sprintf("p%d", i)] = float64(i)
		if i%2 == 0 {
			patch[fmt.Sprintf("s%d", i)] = nil
		}
	}
	raw, err := stored.Create(nil)
	if err != nil {
		t.Fatal(err)
	}
	merged, changed, err := patch.Merge(raw)
	if err != nil || !changed {
		t.Fatalf("Merge: %v, changed %t", err, changed)
	}
	var got map[string]any
	if err := json.Unmarshal(merged, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != n+n/2 || got["s1"] != 1.0 || got["p7"] != 7.0 || got["s2"] != nil {
		t.Errorf("merged %d keys", len(got))
	}
}

func TestEventDisplayName(t *testing.T) {
	for in, want := range map[string]string{"flow_step_number": "Flow Step Number", "page_viewed": "Page Viewed",
		"signup": "Signup", "a__b": "A B", "checkout-started": "Checkout Started", "élan_vital": "Élan Vital"} {
		if got := userdata.EventDisplayName(in); got != want {
			t.Errorf("EventDisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}
