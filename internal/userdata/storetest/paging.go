package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// listPage lists one page of users as external ids.
func listPage(t *testing.T, s userdata.Store, tn userdata.Tenant, f userdata.UserFilter) ([]string, *userdata.List[*userdata.User]) {
	t.Helper()
	l, err := s.ListUsers(t.Context(), tn, f)
	if err != nil {
		t.Fatalf("ListUsers(%+v): %v", f, err)
	}
	ids := make([]string, len(l.Items))
	for i, u := range l.Items {
		ids[i] = u.ExternalID
	}
	return ids, l
}

// checkWalk pages forward through the users with every limit from 1 to
// len(want)+1, checking that the pages concatenate to want, that next and
// previous follow §5.3, and that each previous cursor returns exactly the
// page before.
func checkWalk(t *testing.T, s userdata.Store, tn userdata.Tenant, want []string, sorts ...userdata.Sort) {
	t.Helper()
	for limit := 1; limit <= len(want)+1; limit++ {
		var all []string
		var pages [][]string
		cursor := ""
		for i := 0; ; i++ {
			ids, l := listPage(t, s, tn, userdata.UserFilter{PageRequest: page(limit, cursor, sorts...)})
			pages = append(pages, ids)
			all = append(all, ids...)
			switch {
			case i == 0 && l.Prev != userdata.PrevNone:
				t.Errorf("limit %d: first page has a previous link", limit)
			case i == 1 && l.Prev != userdata.PrevFirstPage:
				t.Errorf("limit %d: second page's previous = %v, want the first page", limit, l.Prev)
			case i > 1:
				if l.Prev != userdata.PrevCursor {
					t.Fatalf("limit %d page %d: previous = %v, want a cursor", limit, i, l.Prev)
				}
				prev, _ := listPage(t, s, tn, userdata.UserFilter{PageRequest: page(limit, l.PrevCursor, sorts...)})
				if diff := cmp.Diff(pages[i-1], prev); diff != "" {
					t.Errorf("limit %d page %d: previous page (-want +got):\n%s", limit, i, diff)
				}
			}
			if l.NextCursor == "" {
				break
			}
			if len(ids) != limit {
				t.Fatalf("limit %d: a page with a next link has %d items", limit, len(ids))
			}
			cursor = l.NextCursor
		}
		if diff := cmp.Diff(want, all); diff != "" {
			t.Errorf("limit %d: pages concatenated (-want +got):\n%s", limit, diff)
		}
	}
}

func makeUsers(t *testing.T, s userdata.Store, tn userdata.Tenant, n int) []string {
	var ids []string
	for i := range n {
		id := fmt.Sprintf("user-%02d", i)
		user(t, s, tn, id, fmt.Sprintf(`{"i":%d}`, i))
		ids = append(ids, id)
	}
	return ids
}

func testPaging(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	ids := makeUsers(t, s, tn, 7)
	checkWalk(t, s, tn, ids)
	// The reference's pinned case: 3 items, limit 2.
	small := Tenant(t, s, "p", "small")
	makeUsers(t, s, small, 3)
	p1, l1 := listPage(t, s, small, userdata.UserFilter{PageRequest: page(2, "")})
	p2, l2 := listPage(t, s, small, userdata.UserFilter{PageRequest: page(2, l1.NextCursor)})
	if len(p1) != 2 || l1.Prev != userdata.PrevNone || l1.NextCursor == "" || len(p2) != 1 || l2.Prev != userdata.PrevFirstPage || l2.NextCursor != "" || p2[0] == p1[1] {
		t.Errorf("3 items, limit 2: pages %v %v, links %+v %+v", p1, p2, l1, l2)
	}
	empty := Tenant(t, s, "p", "empty")
	got, l := listPage(t, s, empty, userdata.UserFilter{PageRequest: page(5, "")})
	if len(got) != 0 || l.NextCursor != "" || l.Prev != userdata.PrevNone || l.Items == nil {
		t.Errorf("empty list: %v %+v", got, l)
	}
}

func testPagingDescending(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	ids := makeUsers(t, s, tn, 6)
	slices.Reverse(ids)
	checkWalk(t, s, tn, ids, userdata.Sort{Field: userdata.SortCreatedAt, Desc: true})
}

func testInvalidCursor(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	makeUsers(t, s, tn, 3)
	makeUsers(t, s, other, 3)
	c, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "co"})
	if err != nil {
		t.Fatal(err)
	}
	_, l := listPage(t, s, tn, userdata.UserFilter{PageRequest: page(2, "")})
	_, last := listPage(t, s, tn, userdata.UserFilter{PageRequest: page(2, l.NextCursor)})
	lastID := last.Items[0].ID
	_, ol := listPage(t, s, other, userdata.UserFilter{PageRequest: page(1, "")})
	for name, cursor := range map[string]string{
		"unknown": "nope", "last row": lastID, "other environment": ol.NextCursor, "a company": c.ID,
		"external id": "user-00",
	} {
		_, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(2, cursor)})
		wantCode(t, "cursor "+name, err, userdata.CodeInvalidCursor, "")
	}
	_, err = s.ListCompanies(ctx, tn, userdata.CompanyFilter{PageRequest: page(2, lastID)})
	wantCode(t, "user cursor on companies", err, userdata.CodeInvalidCursor, "")
	_, err = s.ListAttributeDefinitions(ctx, tn, userdata.AttributeDefinitionFilter{PageRequest: page(2, lastID)})
	wantCode(t, "user cursor on attribute definitions", err, userdata.CodeInvalidCursor, "")
	// A deleted row no longer works as a cursor.
	if err := s.DeleteUser(ctx, tn, "user-01"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(1, l.NextCursor)})
	wantCode(t, "deleted cursor", err, userdata.CodeInvalidCursor, "")
}

func testUserFilters(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	user(t, s, tn, "a", `{"email":"x@example.com"}`)
	user(t, s, tn, "b", `{"email":"X@example.com"}`)
	user(t, s, tn, "c", `{"email":["x@example.com"]}`)
	user(t, s, tn, "d", `{"email":"x@example.com"}`)
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "e", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "a", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "b", Companies: []userdata.CompanyUpsert{{ExternalID: "globex"}}})
	other := Tenant(t, s, "p", "other")
	upsertUser(t, s, other, &userdata.UserUpsert{ExternalID: "z", Attributes: attrs(t, `{"email":"x@example.com"}`),
		Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	for _, tt := range []struct {
		f    userdata.UserFilter
		want []string
	}{
		{userdata.UserFilter{Email: "x@example.com"}, []string{"a", "d"}},
		{userdata.UserFilter{Email: "nobody@example.com"}, []string{}},
		{userdata.UserFilter{CompanyID: "acme"}, []string{"a", "e"}},
		{userdata.UserFilter{CompanyID: "unknown"}, []string{}},
		{userdata.UserFilter{CompanyID: "acme", Email: "x@example.com"}, []string{"a"}},
	} {
		tt.f.PageRequest = page(10, "")
		got, _ := listPage(t, s, tn, tt.f)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ListUsers(email %q, company %q) (-want +got):\n%s", tt.f.Email, tt.f.CompanyID, diff)
		}
	}
	// Filters apply to the pages and links too.
	ids, l := listPage(t, s, tn, userdata.UserFilter{PageRequest: page(1, ""), Email: "x@example.com"})
	ids2, l2 := listPage(t, s, tn, userdata.UserFilter{PageRequest: page(1, l.NextCursor), Email: "x@example.com"})
	if !slices.Equal(ids, []string{"a"}) || !slices.Equal(ids2, []string{"d"}) || l2.NextCursor != "" || l2.Prev != userdata.PrevFirstPage {
		t.Errorf("filtered pages %v %v, links %+v", ids, ids2, l2)
	}
	_ = ctx
}
