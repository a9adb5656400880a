package segment_test

import (
	"testing"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// TestUsertourUnset ports Usertour's
// apps/server/test/e2e/segment-filter-unset.e2e-spec.ts ("Segment SQL
// filter vs unset attribute values"): a number and a string attribute,
// absent, null, "" and set. tourd stores no null: a null written over v1
// deletes the key, so num-null and str-null are unset like the absent
// ones. The one difference is tourd's rule that any and empty look only at
// presence: "" is a wrong-typed number, so it is any, not empty (Usertour's
// SQL counts it as empty; its in-memory evaluator as unset).
func TestUsertourUnset(t *testing.T) {
	defs := segment.DefinitionMap{
		{Scope: userdata.ScopeUser, CodeName: "score"}: userdata.DataTypeNumber,
		{Scope: userdata.ScopeUser, CodeName: "plan"}:  userdata.DataTypeString,
	}
	leaf := func(attr, op string) string {
		return `[{"type":"attribute","scope":"user","attribute":"` + attr + `",` + op + `}]`
	}
	t.Run("number", func(t *testing.T) {
		w := &world{users: []entity{
			{"num-absent", userdata.Attributes{}},
			{"num-null", userdata.Attributes{"score": nil}},
			{"num-empty-string", userdata.Attributes{"score": ""}},
			{"num-five", userdata.Attributes{"score": 5.0}},
		}}
		runCases(t, w, defs, opNow, []segCase{
			{"empty", userdata.ScopeUser, leaf("score", `"op":"empty"`), []string{"num-absent", "num-null"}},
			{"any", userdata.ScopeUser, leaf("score", `"op":"any"`), []string{"num-empty-string", "num-five"}},
			{"not 5", userdata.ScopeUser, leaf("score", `"op":"not","value":"5"`), []string{"num-absent", "num-empty-string", "num-null"}},
			{"lte 6", userdata.ScopeUser, leaf("score", `"op":"lte","value":"6"`), []string{"num-five"}},
		})
	})
	t.Run("string", func(t *testing.T) {
		w := &world{users: []entity{
			{"str-absent", userdata.Attributes{}},
			{"str-null", userdata.Attributes{"plan": nil}},
			{"str-pro", userdata.Attributes{"plan": "pro"}},
			{"str-free", userdata.Attributes{"plan": "free"}},
		}}
		runCases(t, w, defs, opNow, []segCase{
			{"not pro", userdata.ScopeUser, leaf("plan", `"op":"not","value":"pro"`), []string{"str-absent", "str-free", "str-null"}},
		})
	})
}

// crossWorld is the fixture of Usertour's
// apps/server/test/e2e/gql/segment-cross-entity-filters.e2e-spec.ts:
// three companies, four users, the multi-org user a member in the pro
// org and admin in the free one.
var crossWorld = &world{
	companies: []entity{
		{"companyPro", userdata.Attributes{"subscription": "pro", "seats": 5.0}},
		{"companyFree", userdata.Attributes{"subscription": "free", "seats": 20.0}},
		{"companyEmpty", userdata.Attributes{"subscription": "enterprise", "seats": 50.0}},
	},
	users: []entity{
		{"userInPro", userdata.Attributes{"tier": "basic"}},
		{"userInFree", userdata.Attributes{"tier": "basic"}},
		{"userMultiOrg", userdata.Attributes{"tier": "basic"}},
		{"userNoCompany", userdata.Attributes{"tier": "vip"}},
	},
	memberships: []membershipOf{
		{"userInPro", "companyPro", userdata.Attributes{"role": "admin"}},
		{"userInFree", "companyFree", userdata.Attributes{"role": "member"}},
		{"userMultiOrg", "companyPro", userdata.Attributes{"role": "member"}},
		{"userMultiOrg", "companyFree", userdata.Attributes{"role": "admin"}},
	},
}

var crossDefs = segment.DefinitionMap{
	{Scope: userdata.ScopeUser, CodeName: "tier"}:            userdata.DataTypeString,
	{Scope: userdata.ScopeCompany, CodeName: "subscription"}: userdata.DataTypeString,
	{Scope: userdata.ScopeCompany, CodeName: "seats"}:        userdata.DataTypeNumber,
	{Scope: userdata.ScopeMembership, CodeName: "role"}:      userdata.DataTypeString,
}

// TestUsertourCrossEntity ports the cases of that spec (its OR-ed lists
// are an any group in the v2 representation), then adds the examples of
// segments.md §3.2.
func TestUsertourCrossEntity(t *testing.T) {
	const (
		subPro     = `{"type":"attribute","scope":"company","attribute":"subscription","op":"is","value":"pro"}`
		subNotPro  = `{"type":"attribute","scope":"company","attribute":"subscription","op":"not","value":"pro"}`
		subEmpty   = `{"type":"attribute","scope":"company","attribute":"subscription","op":"empty"}`
		subEnt     = `{"type":"attribute","scope":"company","attribute":"subscription","op":"is","value":"enterprise"}`
		seatsGt10  = `{"type":"attribute","scope":"company","attribute":"seats","op":"gt","value":"10"}`
		seatsLt10  = `{"type":"attribute","scope":"company","attribute":"seats","op":"lt","value":"10"}`
		roleAdmin  = `{"type":"attribute","scope":"companyMembership","attribute":"role","op":"is","value":"admin"}`
		tierVip    = `{"type":"attribute","scope":"user","attribute":"tier","op":"is","value":"vip"}`
		tierBasic  = `{"type":"attribute","scope":"user","attribute":"tier","op":"is","value":"basic"}`
		tierNotVip = `{"type":"attribute","scope":"user","attribute":"tier","op":"not","value":"vip"}`
	)
	any := func(a, b string) string { return `{"type":"group","match":"any","conditions":[` + a + `,` + b + `]}` }
	user, company := userdata.ScopeUser, userdata.ScopeCompany
	runCases(t, crossWorld, crossDefs, opNow, []segCase{
		// queryBizUser with cross-entity conditions.
		{"filters users by a company attribute across their memberships", user,
			`[` + subPro + `]`, []string{"userInPro", "userMultiOrg"}},
		{"matches membership-less users through the fallback branch of an OR-ed mixed tree", user,
			`[` + any(tierVip, subPro) + `]`, []string{"userInPro", "userMultiOrg", "userNoCompany"}},
		{"binds AND-ed company conditions to one membership row (across orgs)", user,
			`[` + subPro + `,` + seatsGt10 + `]`, nil},
		{"binds AND-ed company conditions to one membership row (within an org)", user,
			`[` + subPro + `,` + seatsLt10 + `]`, []string{"userInPro", "userMultiOrg"}},
		{"binds membership and company conditions to the same membership row", user,
			`[` + roleAdmin + `,` + subPro + `]`, []string{"userInPro"}},
		// queryBizCompany with cross-entity conditions.
		{"filters companies by a user attribute across their members", company,
			`[` + tierBasic + `]`, []string{"companyPro", "companyFree"}},
		{"no company reaches the vip user, who has no memberships", company,
			`[` + tierVip + `]`, nil},
		{"excludes member-less companies from membership-only conditions", company,
			`[` + roleAdmin + `]`, []string{"companyPro", "companyFree"}},
		{"matches member-less companies through the company-only fallback of an OR-ed tree", company,
			`[` + any(subEnt, roleAdmin) + `]`, []string{"companyEmpty", "companyPro", "companyFree"}},
		// segments.md §3.2: a user in a pro and a free company matches
		// both "is pro" and "not pro"; a user without companies matches
		// no company leaf under AND, not even empty or not.
		{"§3.2 not pro: some one membership", user,
			`[` + subNotPro + `]`, []string{"userInFree", "userMultiOrg"}},
		{"§3.2 empty: never without memberships", user,
			`[` + subEmpty + `]`, nil},
		{"§3.2 a false AND child fails its group", user,
			`[` + tierNotVip + `,` + any(subNotPro, tierVip) + `]`, []string{"userInFree", "userMultiOrg"}},
		{"§3.2 company segments mirror it: not vip among the members", company,
			`[` + tierNotVip + `]`, []string{"companyPro", "companyFree"}},
	})
}

// TestUnevaluable pins segments.md §3.3: a leaf whose definition is gone,
// or whose operator or operand no longer fits its type, is absent from its
// list; a group of absent leaves is absent; with nothing left the segment
// matches nobody, while no conditions at all match everyone.
func TestUnevaluable(t *testing.T) {
	const (
		gone      = `{"type":"attribute","scope":"user","attribute":"deleted","op":"is","value":"x"}`
		retyped   = `{"type":"attribute","scope":"company","attribute":"seats","op":"contains","value":"5"}`
		badNumber = `{"type":"attribute","scope":"company","attribute":"seats","op":"is","value":"pro"}`
		tierVip   = `{"type":"attribute","scope":"user","attribute":"tier","op":"is","value":"vip"}`
		tierBasic = `{"type":"attribute","scope":"user","attribute":"tier","op":"is","value":"basic"}`
	)
	user := userdata.ScopeUser
	all := []string{"userInPro", "userInFree", "userMultiOrg", "userNoCompany"}
	runCases(t, crossWorld, crossDefs, opNow, []segCase{
		{"no conditions: everyone", user, `[]`, all},
		{"an AND sibling disappears, widening", user, `[` + gone + `,` + tierVip + `]`, []string{"userNoCompany"}},
		{"an OR sibling disappears, narrowing", user,
			`[{"type":"group","match":"any","conditions":[` + retyped + `,` + tierVip + `]}]`, []string{"userNoCompany"}},
		{"a group of absent leaves is absent", user,
			`[{"type":"group","match":"all","conditions":[` + gone + `,` + badNumber + `]},` + tierBasic + `]`,
			[]string{"userInPro", "userInFree", "userMultiOrg"}},
		{"nothing left: nobody", user, `[` + gone + `,{"type":"group","match":"any","conditions":[` + retyped + `]}]`, nil},
	})
}
