package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// testImport applies many upserts of one import in order: later lines for
// an id after earlier ones, exactly as separate upserts.
func testImport(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	var ins []*userdata.UserUpsert
	var want []bool
	for i := range 450 { // more than one chunk of any backend
		id := fmt.Sprintf("u%d", i%150)
		ins = append(ins, &userdata.UserUpsert{ExternalID: id, Attributes: userdata.Attributes{fmt.Sprintf("k%d", i/150): float64(i), "gone": nil},
			Companies: []userdata.CompanyUpsert{{ExternalID: fmt.Sprintf("c%d", i%7)}}})
		want = append(want, i < 150)
	}
	ins = append(ins, &userdata.UserUpsert{ExternalID: "u0", Attributes: userdata.Attributes{"k1": nil}})
	want = append(want, false)
	res := s.ImportUsers(t.Context(), tn, ins)
	var got []bool
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("import item %d: %v", i, r.Err)
		}
		got = append(got, r.Created)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created flags (-want +got):\n%s", diff)
	}
	u0 := decode(t, getUser(t, s, tn, "u0", userdata.ExpandCompanies).Attributes)
	if u0["k0"] != 0.0 || u0["k2"] != 300.0 || u0["k1"] != nil || u0["first_seen_at"] == nil {
		t.Errorf("u0 after import: %v", u0)
	}
	l, err := s.ListUsers(t.Context(), tn, userdata.UserFilter{PageRequest: page(100, ""), CompanyID: "c0"})
	if err != nil || len(l.Items) == 0 {
		t.Errorf("company c0 members: %v, %v", l, err)
	}
	cs := s.ImportCompanies(t.Context(), tn, []*userdata.CompanyUpsert{
		{ExternalID: "c0", Attributes: userdata.Attributes{"plan": "pro"}}, {ExternalID: "new"}, {ExternalID: "new", Attributes: userdata.Attributes{"x": 1.0}}})
	if cs[0].Err != nil || cs[0].Created || !cs[1].Created || cs[2].Created || cs[2].Err != nil {
		t.Errorf("ImportCompanies = %+v", cs)
	}
	if a := decode(t, getCompany(t, s, tn, "new", 0).Attributes); a["x"] != 1.0 {
		t.Errorf("company new: %v", a)
	}
	if defs := defsByKey(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{Scope: userdata.ScopeUser})); defs["user/k2"] != "number K2" {
		t.Errorf("definitions after import: %v", defs)
	}
}
