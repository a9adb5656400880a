package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// createdAt lists items created one after the other, at distinct instants,
// oldest first, and their creation times.
type createdAt struct {
	ids   []string
	times []time.Time
}

// makeCreated creates n items with create, which returns the creation time
// of the item with the given id, waiting between them so that each has a
// time of its own.
func makeCreated(t *testing.T, n int, create func(id string) time.Time) createdAt {
	t.Helper()
	var c createdAt
	for i := range n {
		if i > 0 {
			time.Sleep(time.Millisecond)
		}
		id := fmt.Sprintf("item-%d", i)
		c.ids, c.times = append(c.ids, id), append(c.times, create(id))
		if i > 0 && !c.times[i].After(c.times[i-1]) {
			t.Fatalf("%s was created at %v, not after %s at %v", id, c.times[i], c.ids[i-1], c.times[i-1])
		}
	}
	return c
}

// createdCase is a pair of creation bounds and the items they keep.
type createdCase struct {
	name          string
	after, before *time.Time
	want          []string
}

// createdCases are the cases of testCreatedFilters for items c.
func createdCases(t *testing.T, c createdAt) []createdCase {
	t.Helper()
	bound := func(value string, before bool) *time.Time {
		t.Helper()
		b, err := userdata.ParseCreatedBound(value, before)
		if err != nil {
			t.Fatal(err)
		}
		return &b
	}
	today := c.times[0].Format(time.DateOnly)
	yesterday := c.times[0].AddDate(0, 0, -1).Format(time.DateOnly)
	tomorrow := c.times[len(c.times)-1].AddDate(0, 0, 1).Format(time.DateOnly)
	return []createdCase{
		{"no bounds", nil, nil, c.ids},
		{"after the third (inclusive)", &c.times[2], nil, c.ids[2:]},
		{"before the third (inclusive)", nil, &c.times[2], c.ids[:3]},
		{"second to fourth", &c.times[1], &c.times[3], c.ids[1:4]},
		{"a microsecond after the third", new(c.times[2].Add(time.Microsecond)), nil, c.ids[3:]},
		{"a microsecond before the third", nil, new(c.times[2].Add(-time.Microsecond)), c.ids[:2]},
		{"after > before", &c.times[3], &c.times[1], []string{}},
		{"before today's date: the whole day", nil, bound(today, true), c.ids},
		{"after today's date", bound(today, false), nil, c.ids},
		{"after and before today's date", bound(today, false), bound(today, true), c.ids},
		{"before yesterday's date", nil, bound(yesterday, true), []string{}},
		{"after tomorrow's date", bound(tomorrow, false), nil, []string{}},
		{"date-time with an offset", bound(c.times[2].In(time.FixedZone("", 5*3600+1800)).Format(time.RFC3339Nano), false), nil, c.ids[2:]},
	}
}

// createdLister lists the external ids of a page of users or companies
// with creation bounds.
type createdLister func(t *testing.T, p userdata.PageRequest, after, before *time.Time) ([]string, *userdata.List[string])

// checkCreated checks every case of createdCases with list, in both orders
// and page by page.
func checkCreated(t *testing.T, what string, c createdAt, list createdLister) {
	t.Helper()
	for _, tt := range createdCases(t, c) {
		got, _ := list(t, page(10, ""), tt.after, tt.before)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s, %s (-want +got):\n%s", what, tt.name, diff)
		}
		desc, _ := list(t, page(10, "", userdata.Sort{Field: userdata.SortCreatedAt, Desc: true}), tt.after, tt.before)
		newest := slices.Clone(tt.want)
		slices.Reverse(newest)
		if !slices.Equal(newest, desc) {
			t.Errorf("%s, %s, newest first: %v, want %v reversed", what, tt.name, desc, tt.want)
		}
		// One item a page: the bounds hold on every page.
		var walked []string
		for cursor := ""; ; {
			ids, l := list(t, page(1, cursor), tt.after, tt.before)
			walked = append(walked, ids...)
			if cursor = l.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(walked, tt.want) {
			t.Errorf("%s, %s, one a page: %v, want %v", what, tt.name, walked, tt.want)
		}
	}
}

// CreatedAfter and CreatedBefore keep the users and companies created
// within them, bounds included, on every page, in both orders; a date-only
// createdBefore includes its whole day. Other environments' rows are not
// listed.
func testCreatedFilters(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	users := makeCreated(t, 5, func(id string) time.Time {
		user(t, s, other, id, `{}`)
		return user(t, s, tn, id, `{}`).CreatedAt
	})
	checkCreated(t, "users", users, func(t *testing.T, p userdata.PageRequest, after, before *time.Time) ([]string, *userdata.List[string]) {
		t.Helper()
		l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: p, CreatedAfter: after, CreatedBefore: before})
		if err != nil {
			t.Fatalf("ListUsers(%v, %v): %v", after, before, err)
		}
		return externalIDs(l, func(u *userdata.User) string { return u.ExternalID })
	})
	companies := makeCreated(t, 5, func(id string) time.Time {
		if _, _, err := s.UpsertCompany(ctx, other, &userdata.CompanyUpsert{ExternalID: id}); err != nil {
			t.Fatal(err)
		}
		c, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: id})
		if err != nil {
			t.Fatal(err)
		}
		return c.CreatedAt
	})
	checkCreated(t, "companies", companies, func(t *testing.T, p userdata.PageRequest, after, before *time.Time) ([]string, *userdata.List[string]) {
		t.Helper()
		l, err := s.ListCompanies(ctx, tn, userdata.CompanyFilter{PageRequest: p, CreatedAfter: after, CreatedBefore: before})
		if err != nil {
			t.Fatalf("ListCompanies(%v, %v): %v", after, before, err)
		}
		return externalIDs(l, func(c *userdata.Company) string { return c.ExternalID })
	})
}

// externalIDs maps a page to the external ids of its items.
func externalIDs[T any](l *userdata.List[T], id func(T) string) ([]string, *userdata.List[string]) {
	out := &userdata.List[string]{Items: make([]string, len(l.Items)), NextCursor: l.NextCursor, Prev: l.Prev, PrevCursor: l.PrevCursor}
	for i, it := range l.Items {
		out.Items[i] = id(it)
	}
	return out.Items, out
}

// With RequireCompany, a companyId that names no company of the
// environment is CodeNotFound for ResourceCompany (v2); a company without
// members is an empty list; without it, every unknown company is an empty
// list (v1).
func testRequireCompany(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "a", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	upsertUser(t, s, other, &userdata.UserUpsert{ExternalID: "z", Companies: []userdata.CompanyUpsert{{ExternalID: "initech"}}})
	if _, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "empty"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		company string
		require bool
		want    []string // nil: not found
	}{
		{"acme", true, []string{"a"}},
		{"empty", true, []string{}},
		{"unknown", true, nil},
		{"initech", true, nil}, // another environment's
		{"a\x00", true, nil},
		{"unknown", false, []string{}},
		{"initech", false, []string{}},
		{"acme", false, []string{"a"}},
	} {
		l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(10, ""), CompanyID: tt.company, RequireCompany: tt.require})
		what := fmt.Sprintf("ListUsers(company %q, require %t)", tt.company, tt.require)
		if tt.want == nil {
			wantCode(t, what, err, userdata.CodeNotFound, userdata.ResourceCompany)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, _ := externalIDs(l, func(u *userdata.User) string { return u.ExternalID })
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s = %v, want %v", what, got, tt.want)
		}
	}
}
