package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// defRow is what the orders and the name filter of definition lists look
// at.
type defRow struct {
	id, codeName, displayName string
	createdAt                 time.Time
}

// asciiLower folds ASCII letters only, as the name filter does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// nameMatches is the name filter, as the contract says it.
func nameMatches(r defRow, name string) bool {
	return strings.Contains(asciiLower(r.codeName), asciiLower(name)) || strings.Contains(asciiLower(r.displayName), asciiLower(name))
}

// sortRows sorts rows as a list with p's order does: its sorts, then the
// id, ascending or, with IDFollowsSort, in the last sort's direction.
func sortRows(rows []defRow, p userdata.PageRequest) []string {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b defRow) int {
		idDesc := false
		for _, s := range p.Sort {
			var c int
			switch s.Field {
			case userdata.SortCodeName:
				c = strings.Compare(a.codeName, b.codeName)
			case userdata.SortDisplayName:
				c = strings.Compare(a.displayName, b.displayName)
			case userdata.SortCreatedAt:
				c = a.createdAt.Compare(b.createdAt)
			}
			if s.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
			idDesc = p.IDFollowsSort && s.Desc
		}
		if idDesc {
			return strings.Compare(b.id, a.id)
		}
		return cmp.Compare(a.id, b.id)
	})
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	return ids
}

// definitionOrders are the orders the definition lists are checked in.
var definitionOrders = func() [][]userdata.Sort {
	var out [][]userdata.Sort
	for _, f := range []userdata.SortField{userdata.SortCodeName, userdata.SortDisplayName, userdata.SortCreatedAt} {
		out = append(out, []userdata.Sort{{Field: f}}, []userdata.Sort{{Field: f, Desc: true}})
	}
	return append(out,
		[]userdata.Sort{{Field: userdata.SortCreatedAt}, {Field: userdata.SortCodeName}, {Field: userdata.SortDisplayName}},
		[]userdata.Sort{{Field: userdata.SortDisplayName, Desc: true}, {Field: userdata.SortCreatedAt, Desc: true}},
		[]userdata.Sort{{Field: userdata.SortCreatedAt}, {Field: userdata.SortDisplayName, Desc: true}})
}()

// defPage is one page of a definition list, as walkDefinitions reads it.
type defPage struct {
	ids        []string
	next       string
	prev       userdata.PrevKind
	prevCursor string
}

func newDefPage[T any](l *userdata.List[T], id func(T) string) defPage {
	pg := defPage{next: l.NextCursor, prev: l.Prev, prevCursor: l.PrevCursor}
	for _, it := range l.Items {
		pg.ids = append(pg.ids, id(it))
	}
	return pg
}

// walkDefinitions pages through a list with limit 7 and returns the ids,
// checking that each page's previous link leads to the page before.
func walkDefinitions(t *testing.T, list func(p userdata.PageRequest) defPage, p userdata.PageRequest) []string {
	t.Helper()
	all := []string{}
	var pages [][]string
	for p.Limit = 7; ; {
		pg := list(p)
		if len(pages) > 0 {
			prev := p
			switch prev.Cursor = pg.prevCursor; pg.prev {
			case userdata.PrevFirstPage:
				prev.Cursor = ""
			case userdata.PrevNone:
				t.Fatalf("page %d of %+v has no previous link", len(pages), p)
			}
			if got := list(prev).ids; !slices.Equal(got, pages[len(pages)-1]) {
				t.Errorf("previous of page %d of %+v = %v, want %v", len(pages), p, got, pages[len(pages)-1])
			}
		}
		pages = append(pages, pg.ids)
		all = append(all, pg.ids...)
		if pg.next == "" {
			return all
		}
		p.Cursor = pg.next
	}
}

// The definition lists of v2: the name filter, alone and with the scope
// filter, and every order, each made total by the id (in the last sort's
// direction with IDFollowsSort, ascending without, as on v1), page after
// page.
func testDefinitionListsV2(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	for _, in := range []userdata.AttributeDefinitionInput{
		{Scope: userdata.ScopeUser, CodeName: "alpha_one", DisplayName: "Same"},
		{Scope: userdata.ScopeCompany, CodeName: "alpha_one", DisplayName: "Same"},
		{Scope: userdata.ScopeUser, CodeName: "Beta_x", DisplayName: "same"},
		{Scope: userdata.ScopeEvent, CodeName: "gamma", DisplayName: "Alpha Gamma"},
		{Scope: userdata.ScopeUser, CodeName: "pct", DisplayName: "100% Éclair"},
	} {
		in.DataType = userdata.DataTypeString
		createAttribute(t, s, tn.ProjectID, in)
		createEvent(t, s, tn.ProjectID, userdata.EventDefinitionInput{CodeName: in.CodeName + fmt.Sprint(int(in.Scope)), DisplayName: in.DisplayName})
	}
	attrRows := map[userdata.Scope][]defRow{}
	for _, d := range allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{}) {
		attrRows[0] = append(attrRows[0], defRow{d.ID, d.CodeName, d.DisplayName, d.CreatedAt})
		attrRows[d.Scope] = append(attrRows[d.Scope], defRow{d.ID, d.CodeName, d.DisplayName, d.CreatedAt})
	}
	var eventRows []defRow
	listEvents := func(p userdata.PageRequest, name string) defPage {
		l, err := s.ListEventDefinitions(t.Context(), tn, userdata.EventDefinitionFilter{PageRequest: p, Name: name})
		if err != nil {
			t.Fatalf("ListEventDefinitions(%+v, %q): %v", p, name, err)
		}
		return newDefPage(l, func(d *userdata.EventDefinition) string { return d.ID })
	}
	l, err := s.ListEventDefinitions(t.Context(), tn, userdata.EventDefinitionFilter{PageRequest: page(userdata.MaxLimit, "")})
	if err != nil || l.NextCursor != "" {
		t.Fatalf("ListEventDefinitions: %v, or more than a page", err)
	}
	for _, d := range l.Items {
		eventRows = append(eventRows, defRow{d.ID, d.CodeName, d.DisplayName, d.CreatedAt})
	}

	check := func(scope userdata.Scope, name string, p userdata.PageRequest) {
		t.Helper()
		keep := func(rows []defRow) []defRow {
			return slices.DeleteFunc(slices.Clone(rows), func(r defRow) bool { return name != "" && !nameMatches(r, name) })
		}
		got := walkDefinitions(t, func(p userdata.PageRequest) defPage {
			l, err := s.ListAttributeDefinitions(t.Context(), tn, userdata.AttributeDefinitionFilter{PageRequest: p, Scope: scope, Name: name})
			if err != nil {
				t.Fatalf("ListAttributeDefinitions(%+v, %s, %q): %v", p, scope, name, err)
			}
			return newDefPage(l, func(d *userdata.AttributeDefinition) string { return d.ID })
		}, p)
		if diff := gocmp.Diff(sortRows(keep(attrRows[scope]), p), got); diff != "" {
			t.Errorf("attribute definitions, name %q, scope %s, order %+v (-want +got):\n%s", name, scope, p, diff)
		}
		if scope == 0 {
			got := walkDefinitions(t, func(p userdata.PageRequest) defPage { return listEvents(p, name) }, p)
			if diff := gocmp.Diff(sortRows(keep(eventRows), p), got); diff != "" {
				t.Errorf("event definitions, name %q, order %+v (-want +got):\n%s", name, p, diff)
			}
		}
	}
	for _, sorts := range definitionOrders {
		for _, follows := range []bool{true, false} {
			check(0, "", userdata.PageRequest{Sort: sorts, IDFollowsSort: follows})
		}
	}
	byName := userdata.PageRequest{Sort: []userdata.Sort{{Field: userdata.SortDisplayName, Desc: true}}, IDFollowsSort: true}
	for _, name := range []string{"ALPHA", "_one", "%", "same", "É", "é", "zzz", "a\x00"} {
		for _, scope := range []userdata.Scope{0, userdata.ScopeUser, userdata.ScopeCompany} {
			check(scope, name, byName)
		}
	}
	if got := slices.DeleteFunc(slices.Clone(attrRows[0]), func(r defRow) bool { return !nameMatches(r, "alpha") }); len(got) != 3 {
		t.Errorf("%d attribute definitions match alpha, want 3: the test's data is not what it means", len(got))
	}
}
