package apiv2_test

import (
	"fmt"
	"strings"
	"testing"

	"tourd/internal/backendtest"
)

// TestPagination: v2's limit rules, links that keep the request's
// parameters and end with cursor and limit, and an empty page for a cursor
// that selects nothing (v2.md §6).
func TestPagination(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		for i := range 5 {
			e.call("PUT", en(e.a, e.a0, fmt.Sprintf("/users/u%d", i)), tok, "").want(t, 200)
		}
		users := en(e.a, e.a0, "/users")
		for _, bad := range []string{"0", "101", "-1", "2.5", "abc", ""} {
			e.call("GET", users+"?limit="+bad, tok, "").wantError(t, 400, "E1017")
		}
		e.call("GET", users+"?orderBy=email", tok, "").wantError(t, 400, "E1017")
		first := e.call("GET", users+"?limit=2&foo=bar&orderBy=-createdAt", tok, "").want(t, 200)
		next, _ := first["next"].(string)
		if !strings.HasPrefix(next, users+"?foo=bar&orderBy=-createdAt&cursor=") || !strings.HasSuffix(next, "&limit=2") || first["previous"] != nil {
			t.Fatalf("first page links: next %q previous %v", next, first["previous"])
		}
		second := e.call("GET", next, tok, "").want(t, 200)
		if second["previous"] != users+"?foo=bar&orderBy=-createdAt&limit=2" {
			t.Errorf("previous of the second page: %v", second["previous"])
		}
		seen := map[string]bool{}
		for page := first; ; {
			for _, u := range page["results"].([]any) {
				id := u.(map[string]any)["id"].(string)
				if seen[id] {
					t.Errorf("%s listed twice", id)
				}
				seen[id] = true
			}
			n, _ := page["next"].(string)
			if n == "" {
				break
			}
			page = e.call("GET", n, tok, "").want(t, 200)
		}
		if len(seen) != 5 {
			t.Errorf("walked %d users, want 5", len(seen))
		}
		for _, cursor := range []string{"garbage", e.a0} {
			page := e.call("GET", users+"?cursor="+cursor, tok, "").want(t, 200)
			if r := page["results"].([]any); len(r) != 0 || page["next"] != nil || page["previous"] != nil {
				t.Errorf("cursor %s: %v", cursor, page)
			}
		}
	})
}

// TestListFilters: companyId of an unknown company is 404 E1002; email and
// the created bounds are checked; the scope filter of definitions is E1015.
func TestListFilters(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		users := en(e.a, e.a0, "/users")
		e.call("GET", users+"?companyId=nope", tok, "").wantError(t, 404, "E1002")
		e.call("GET", users+"?email=nope", tok, "").wantError(t, 400, "E1017")
		e.call("GET", users+"?createdAfter=2024-01-01T00:00:00", tok, "").wantError(t, 400, "E1017")
		e.call("GET", users+"?segmentId=s1", tok, "").wantError(t, 404, "E1025")
		e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, `{"attributes":{"email":"u1@example.com"}}`).want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/c1"), tok, "").want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/c1/memberships/u1"), tok, "").want(t, 200)
		for _, q := range []string{"companyId=c1", "email=u1@example.com", "createdAfter=2000-01-01", "createdBefore=2999-12-31"} {
			r := e.call("GET", users+"?"+q, tok, "").want(t, 200)["results"].([]any)
			if len(r) != 1 {
				t.Errorf("%s: %d users", q, len(r))
			}
		}
		if r := e.call("GET", users+"?createdBefore=2000-01-01", tok, "").want(t, 200)["results"].([]any); len(r) != 0 {
			t.Errorf("createdBefore 2000: %d users", len(r))
		}
		defs := p(e.a, "/attribute-definitions")
		e.call("GET", defs+"?scope=content", tok, "").wantError(t, 400, "E1015")
		r := e.call("GET", defs+"?scope=company&name=NAM&limit=100", tok, "").want(t, 200)["results"].([]any)
		if len(r) == 0 {
			t.Fatal("no company definition matches name=NAM")
		}
		for _, d := range r {
			m := d.(map[string]any)
			if m["scope"] != "company" || !strings.Contains(strings.ToLower(m["codeName"].(string)+m["displayName"].(string)), "nam") {
				t.Errorf("filtered definition %v", m)
			}
		}
	})
}
