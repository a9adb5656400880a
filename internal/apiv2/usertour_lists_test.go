package apiv2_test

// Usertour's own e2e cases for v2 lists (usertour/usertour
// apps/server/test/e2e/api/pagination.e2e-spec.ts, and the query cases of
// users, attribute-definitions and event-definitions.e2e-spec.ts), ported.
// Not repeated here: the garbage cursor's empty page, limit on the users
// list (TestPagination), the time-zone-less createdAfter and the date-only
// one (TestListFilters), scope=nope E1015 (TestListFilters).

import (
	"fmt"
	"slices"
	"testing"

	"tourd/internal/backendtest"
)

// TestUsertourListQueries ports the query validation cases of the
// definition lists — "maps a bad limit to E1017" and "maps a bad orderBy
// enum to E1017" (attribute-definitions.e2e-spec.ts), "maps a zod
// validation failure to the documented E1017 (limit=0)" and orderBy=id
// (event-definitions.e2e-spec.ts) — and the accepted half of "rejects a
// timezone-less createdAfter datetime" (users.e2e-spec.ts): a date-time
// with an explicit offset.
func TestUsertourListQueries(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		for _, c := range []struct {
			path   string
			status int
		}{
			{p(e.a, "/attribute-definitions?limit=0"), 400},
			{p(e.a, "/attribute-definitions?orderBy=nope"), 400},
			{p(e.a, "/event-definitions?limit=0"), 400},
			{p(e.a, "/event-definitions?orderBy=id"), 400},
			{en(e.a, e.a0, "/users?createdAfter=2026-07-10T00:00:00%2B08:00"), 200},
		} {
			res := e.call("GET", c.path, tok, "")
			if c.status == 400 {
				res.wantError(t, 400, "E1017")
			} else {
				res.want(t, c.status)
			}
		}
	})
}

// TestUsertourPagination ports the cases of pagination.e2e-spec.ts on the event
// definitions list, five of them, two a page: "traverses all pages via the
// real cursor with no overlap; previous appears after page 1" and
// "following the previous URL returns the ACTUAL previous page (no
// off-by-one)". The list is filtered by name to leave out the predefined
// events tourd's projects start with; the links keep the filter.
func TestUsertourPagination(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		events := p(e.a, "/event-definitions")
		for i := range 5 {
			e.call("POST", events, e.all(), fmt.Sprintf(`{"codeName":"evt_page_%d","displayName":"Page %d"}`, i, i)).want(t, 201)
		}
		tok := e.token(e.a, "event:read")
		get := func(path string) (map[string]any, []string) {
			page := e.call("GET", path, tok, "").want(t, 200)
			return page, field(results(t, page), "id")
		}
		p1, ids1 := get(events + "?name=evt_page_&limit=2")
		p2, ids2 := get(p1["next"].(string))
		p3, ids3 := get(p2["next"].(string))
		if len(ids1) != 2 || p1["previous"] != nil || len(ids2) != 2 || p2["previous"] == nil || p2["next"] == nil ||
			len(ids3) != 1 || p3["previous"] == nil || p3["next"] != nil {
			t.Fatalf("pages:\n%v\n%v\n%v", p1, p2, p3)
		}
		all := slices.Concat(ids1, ids2, ids3)
		slices.Sort(all)
		if len(slices.Compact(all)) != 5 {
			t.Errorf("the pages overlap: %v %v %v", ids1, ids2, ids3)
		}
		if _, back := get(p3["previous"].(string)); !slices.Equal(back, ids2) {
			t.Errorf("previous of page 3 lists %v, page 2 was %v", back, ids2)
		}
		if _, back := get(p2["previous"].(string)); !slices.Equal(back, ids1) {
			t.Errorf("previous of page 2 lists %v, page 1 was %v", back, ids1)
		}
	})
}
