package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"tourd/internal/userdata"
)

// audienceWorld is the data of testAudience: in environment prod of one
// project, users u00..u11 (plan "pro" when i%3 == 0, else "free", none
// for u11; seen on 2024-01-(10+i)), companies c0..c3 (size 2i), and
// memberships of u00..u07 in c(i%4), role "admin" when i is even;
// environment staging has users and companies of the same ids, other
// attributes and no memberships.
type audienceWorld struct {
	prod, staging userdata.Tenant
	users         []string // prod's, in list order
	companies     []string
	created       map[string]time.Time
}

func makeAudienceWorld(t *testing.T, s userdata.Store) *audienceWorld {
	ctx := t.Context()
	p := createProject(t, s, "p")
	w := &audienceWorld{
		prod:    userdata.Tenant{ProjectID: p.ID, EnvironmentID: p.Environments[0].ID},
		staging: userdata.Tenant{ProjectID: p.ID, EnvironmentID: createEnvironment(t, s, p.ID, "staging").ID},
		created: map[string]time.Time{},
	}
	for i := range 4 {
		id := fmt.Sprintf("c%d", i)
		company(t, s, w.prod, id, fmt.Sprintf(`{"size":%d}`, 2*i))
		company(t, s, w.staging, id, `{"size":100}`)
	}
	for i := range 12 {
		id := fmt.Sprintf("u%02d", i)
		plan := `"free"`
		if i%3 == 0 {
			plan = `"pro"`
		}
		js := fmt.Sprintf(`{"plan":%s,"seen":"2024-01-%02dT00:00:00.000Z"}`, plan, 10+i)
		if i == 11 {
			js = `{"seen":"2024-01-21T00:00:00.000Z"}`
		}
		w.created[id] = user(t, s, w.prod, id, js).CreatedAt
		user(t, s, w.staging, id, `{"plan":"pro","seen":"2024-01-20T00:00:00.000Z"}`)
		if i < 8 {
			role := "member"
			if i%2 == 0 {
				role = "admin"
			}
			if _, err := s.UpsertMembership(ctx, w.prod, fmt.Sprintf("c%d", i%4), id, attrs(t, `{"role":"`+role+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The list orders of prod, without filters: rows created in the same
	// microsecond order by their random ids.
	w.users, _ = listPage(t, s, w.prod, userdata.UserFilter{PageRequest: page(100, "")})
	cl, err := s.ListCompanies(ctx, w.prod, userdata.CompanyFilter{PageRequest: page(100, "")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cl.Items {
		w.companies = append(w.companies, c.ExternalID)
	}
	return w
}

// An audienceCase is a filter and the prod rows it selects.
type audienceCase struct {
	name string
	f    userdata.Audience
	// created bounds the list from the creation of that user; "" for
	// none.
	createdAfter string
	want         []string // in any order
}

// testAudience: the segment filter and ad-hoc conditions of the user and
// company lists (segments.md §4, §6), on both orders and v1's newest
// first, with every page size, AND-ed with each other and with the other
// filters; each count is the number of rows the walk returns.
func testAudience(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	w := makeAudienceWorld(t, s)
	p := w.prod.ProjectID
	segs := builtInSegments(t, s, p)
	users := manual(t, s, p, "Users", userdata.ScopeUser)
	companies := manual(t, s, p, "Companies", userdata.ScopeCompany)
	for _, id := range []string{"u01", "u04", "u07", "u10"} {
		if err := s.AddSegmentMember(ctx, w.prod, users.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"u00", "u01"} {
		if err := s.AddSegmentMember(ctx, w.staging, users.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"c1", "c3"} {
		if err := s.AddSegmentMember(ctx, w.prod, companies.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	cond := func(bizType userdata.Scope, conds string) *userdata.Segment {
		return createSegment(t, s, p, userdata.SegmentInput{Name: conds, BizType: bizType, Kind: userdata.SegmentCondition, Conditions: json.RawMessage(conds)})
	}
	pro := `[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"}]`
	now := time.Date(2024, 1, 20, 12, 0, 0, 0, time.UTC)
	userCases := []audienceCase{
		{name: "none", want: w.users},
		{name: "all", f: userdata.Audience{Segment: segs[userdata.ScopeUser]}, want: w.users},
		{name: "manual", f: userdata.Audience{Segment: users}, want: []string{"u01", "u04", "u07", "u10"}},
		{name: "condition", f: userdata.Audience{Segment: cond(userdata.ScopeUser, pro)}, want: []string{"u00", "u03", "u06", "u09"}},
		{name: "condition []", f: userdata.Audience{Segment: cond(userdata.ScopeUser, `[]`)}, want: w.users},
		{name: "cross-entity", f: userdata.Audience{Segment: cond(userdata.ScopeUser,
			`[{"type":"attribute","scope":"company","attribute":"size","op":"gte","value":"4"}]`)}, want: []string{"u02", "u03", "u06", "u07"}},
		{name: "unevaluable", f: userdata.Audience{Segment: cond(userdata.ScopeUser,
			`[{"type":"attribute","scope":"user","attribute":"nosuch","op":"any"}]`)}},
		{name: "relative date", f: userdata.Audience{Conditions: json.RawMessage(
			`[{"type":"attribute","scope":"user","attribute":"seen","op":"less_than","value":"3"}]`), Now: now}, want: []string{"u08", "u09", "u10", "u11"}},
		{name: "manual and conditions", f: userdata.Audience{Segment: users, Conditions: json.RawMessage(
			`[{"type":"attribute","scope":"user","attribute":"seen","op":"less_than","value":"3"}]`), Now: now}, want: []string{"u10"}},
		{name: "manual, conditions and created", f: userdata.Audience{Segment: users, Conditions: json.RawMessage(
			`[{"type":"attribute","scope":"companyMembership","attribute":"role","op":"is","value":"admin"}]`)}, createdAfter: "u02", want: []string{"u04"}},
		{name: "condition and conditions", f: userdata.Audience{Segment: cond(userdata.ScopeUser, pro), Conditions: json.RawMessage(
			`[{"type":"attribute","scope":"company","attribute":"size","op":"lt","value":"4"}]`)}, want: []string{"u00"}},
	}
	for _, c := range userCases {
		checkAudience(t, c, w.users, w, func(f userdata.Audience, after *time.Time, p userdata.PageRequest) ([]string, string, error) {
			l, err := s.ListUsers(ctx, w.prod, userdata.UserFilter{PageRequest: p, Audience: f, CreatedAfter: after})
			if err != nil {
				return nil, "", err
			}
			return idsOf(l.Items, func(u *userdata.User) string { return u.ExternalID }), l.NextCursor, nil
		}, func(f userdata.Audience, after *time.Time) (int64, error) {
			return s.CountUsers(ctx, w.prod, userdata.UserFilter{Audience: f, CreatedAfter: after})
		})
	}
	companyCases := []audienceCase{
		{name: "all", f: userdata.Audience{Segment: segs[userdata.ScopeCompany]}, want: w.companies},
		{name: "manual", f: userdata.Audience{Segment: companies}, want: []string{"c1", "c3"}},
		{name: "condition", f: userdata.Audience{Segment: cond(userdata.ScopeCompany,
			`[{"type":"attribute","scope":"company","attribute":"size","op":"gt","value":"2"}]`)}, want: []string{"c2", "c3"}},
		{name: "cross-entity user", f: userdata.Audience{Segment: cond(userdata.ScopeCompany, pro)}, want: []string{"c0", "c2", "c3"}},
		{name: "cross-entity membership", f: userdata.Audience{Conditions: json.RawMessage(
			`[{"type":"attribute","scope":"companyMembership","attribute":"role","op":"is","value":"admin"}]`)}, want: []string{"c0", "c2"}},
		{name: "manual and conditions", f: userdata.Audience{Segment: companies, Conditions: json.RawMessage(
			`[{"type":"attribute","scope":"company","attribute":"size","op":"between","value":"1","value2":"3"}]`)}, want: []string{"c1"}},
	}
	for _, c := range companyCases {
		checkAudience(t, c, w.companies, w, func(f userdata.Audience, after *time.Time, p userdata.PageRequest) ([]string, string, error) {
			l, err := s.ListCompanies(ctx, w.prod, userdata.CompanyFilter{PageRequest: p, Audience: f, CreatedAfter: after})
			if err != nil {
				return nil, "", err
			}
			return idsOf(l.Items, func(c *userdata.Company) string { return c.ExternalID }), l.NextCursor, nil
		}, func(f userdata.Audience, after *time.Time) (int64, error) {
			return s.CountCompanies(ctx, w.prod, userdata.CompanyFilter{Audience: f, CreatedAfter: after})
		})
	}

	// A segment of the other bizType, and conditions that do not parse,
	// are refused.
	for name, err := range map[string]error{
		"ListUsers(company segment)":      second(s.ListUsers(ctx, w.prod, userdata.UserFilter{PageRequest: page(10, ""), Audience: userdata.Audience{Segment: companies}})),
		"CountUsers(company segment)":     second(s.CountUsers(ctx, w.prod, userdata.UserFilter{Audience: userdata.Audience{Segment: companies}})),
		"ListCompanies(user segment)":     second(s.ListCompanies(ctx, w.prod, userdata.CompanyFilter{PageRequest: page(10, ""), Audience: userdata.Audience{Segment: users}})),
		"CountCompanies(user segment)":    second(s.CountCompanies(ctx, w.prod, userdata.CompanyFilter{Audience: userdata.Audience{Segment: users}})),
		"ListUsers(conditions not array)": second(s.ListUsers(ctx, w.prod, userdata.UserFilter{PageRequest: page(10, ""), Audience: userdata.Audience{Conditions: json.RawMessage(`{}`)}})),
	} {
		wantCode(t, name, err, userdata.CodeInvalid, "")
	}
}

func second[T any](_ T, err error) error { return err }

func idsOf[T any](items []T, id func(T) string) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = id(it)
	}
	return ids
}

// checkAudience walks the list of c's filter, oldest first, newest first
// (v2) and newest first with ascending ids (v1), with several page sizes,
// and checks that it returns c.want in the order of all (the unfiltered
// list, oldest first), and that the count is its length.
func checkAudience(t *testing.T, c audienceCase, all []string, w *audienceWorld,
	list func(userdata.Audience, *time.Time, userdata.PageRequest) ([]string, string, error), count func(userdata.Audience, *time.Time) (int64, error)) {
	t.Helper()
	var after *time.Time
	if c.createdAfter != "" {
		after = ptr(w.created[c.createdAfter])
	}
	want := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return !slices.Contains(c.want, id) })
	if after != nil {
		want = slices.DeleteFunc(want, func(id string) bool { return w.created[id].Before(*after) })
	}
	n, err := count(c.f, after)
	if err != nil {
		t.Fatalf("%s: count: %v", c.name, err)
	}
	if n != int64(len(want)) {
		t.Errorf("%s: count %d, want %d", c.name, n, len(want))
	}
	for _, order := range []struct {
		name    string
		desc    bool
		idFirst bool // v2: the id follows the sort's direction
	}{{"oldest first", false, true}, {"newest first", true, true}, {"newest first, v1", true, false}} {
		for _, limit := range []int{1, 3, 100} {
			p := userdata.PageRequest{Limit: limit, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: order.desc}}, IDFollowsSort: order.idFirst}
			var got []string
			for pages := 0; ; pages++ {
				ids, next, err := list(c.f, after, p)
				if err != nil {
					t.Fatalf("%s, %s, limit %d: %v", c.name, order.name, limit, err)
				}
				got = append(got, ids...)
				if next == "" || pages > len(all) {
					break
				}
				p.Cursor = next
			}
			expected := want
			if order.desc {
				expected = slices.Clone(want)
				slices.Reverse(expected)
				if !order.idFirst {
					// Rows created in the same microsecond keep ascending
					// ids: compare as sets.
					got, expected = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(expected))
				}
			}
			if !slices.Equal(expected, got) {
				t.Errorf("%s, %s, limit %d: %q, want %q", c.name, order.name, limit, got, expected)
			}
		}
	}
}

// builtInSegments returns the built-in segments of a project by bizType.
func builtInSegments(t *testing.T, s userdata.Store, projectID string) map[userdata.Scope]*userdata.Segment {
	t.Helper()
	out := map[userdata.Scope]*userdata.Segment{}
	for _, sg := range listSegments(t, s, projectID, userdata.SegmentFilter{PageRequest: page(100, "")}) {
		if sg.Kind == userdata.SegmentAll {
			out[sg.BizType] = sg
		}
	}
	return out
}
