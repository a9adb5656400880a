package apiv2_test

// Usertour's own e2e cases for the users, companies and memberships routes
// (usertour/usertour apps/server/test/e2e/api/users.e2e-spec.ts and
// companies.e2e-spec.ts), ported. Cases the other tests of this package
// already cover are not repeated: GET by id parity (TestParity), unknown
// user 404 E1001 on GET and DELETE, membership 404s and DELETE 204 then
// 404 E1003 (TestMemberships), the seeded first/last_seen_at (TestParity),
// bad attribute codeNames (TestStrictBodies), the time-zone-less
// createdAfter (TestListFilters), and every 401/403 E1012 case
// (TestCheckOrder, TestCapabilityMatrix). The segmentId cases (another
// project's segment, cross-entity company segments) wait for segments.md.

import (
	"encoding/json"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// results returns the results of a list answer.
func results(t *testing.T, page map[string]any) []map[string]any {
	t.Helper()
	raw, ok := page["results"].([]any)
	if !ok {
		t.Fatalf("no results in %v", page)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

// field returns the string field of each item.
func field(items []map[string]any, name string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it[name].(string)
	}
	return out
}

// find returns the item whose field name is value, nil when none is.
func find(items []map[string]any, name, value string) map[string]any {
	for _, it := range items {
		if it[name] == value {
			return it
		}
	}
	return nil
}

// TestUsertourListParity: an item of a v2 list is byte-identical to the
// same item of the v1 list, expanded or not; v2's definitions add only
// predefined.
func TestUsertourListParity(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		key, tok := e.key(), e.all()
		e.call("PUT", en(e.a, e.a0, "/users/bu-parity-jane"), tok, `{"attributes":{"name":"Jane","email":"jane@example.com"}}`).want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/co-parity-acme"), tok, `{"attributes":{"plan":"pro"}}`).want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/co-parity-acme/memberships/bu-parity-jane"), tok, `{"attributes":{"role":"admin"}}`).want(t, 200)
		e.call("POST", p(e.a, "/attribute-definitions"), tok,
			`{"scope":"user","dataType":"datetime","codeName":"attr_parity_signup","displayName":"Signed Up","description":"When the user signed up"}`).want(t, 201)
		for _, c := range []struct {
			spec, v1, v2 string
			key, id      string // the item to compare: its key and value
			expanded     string // the expanded list the item must carry, and the id in it
			expandedID   string
		}{
			// users.e2e-spec.ts: returns byte-identical user JSON on v1 and v2 (base)
			{"users", "/v1/users", en(e.a, e.a0, "/users"), "id", "bu-parity-jane", "", ""},
			// users.e2e-spec.ts: returns byte-identical user JSON on v1 and v2 (expand=companies)
			{"users", "/v1/users?expand=companies", en(e.a, e.a0, "/users?expand=companies"), "id", "bu-parity-jane", "companies", "co-parity-acme"},
			// companies.e2e-spec.ts: returns byte-identical company JSON on v1 and v2 (base)
			{"companies", "/v1/companies", en(e.a, e.a0, "/companies"), "id", "co-parity-acme", "", ""},
			// companies.e2e-spec.ts: returns byte-identical company JSON on v1 and v2 (expand=users)
			{"companies", "/v1/companies?expand=users", en(e.a, e.a0, "/companies?expand=users"), "id", "co-parity-acme", "users", "bu-parity-jane"},
			// attribute-definitions.e2e-spec.ts: returns byte-identical
			// attribute JSON on v1 and v2 (v2 adds predefined).
			{"attribute-definitions", "/v1/attribute-definitions?limit=100", p(e.a, "/attribute-definitions?limit=100"), "codeName", "attr_parity_signup", "", ""},
		} {
			one := find(results(t, e.v1("GET", c.v1, key, "").want(t, 200)), c.key, c.id)
			two := find(results(t, e.call("GET", c.v2, tok, "").want(t, 200)), c.key, c.id)
			if one == nil || two == nil {
				t.Fatalf("%s: %s not in both lists (v1 %v, v2 %v)", c.v2, c.id, one, two)
			}
			if c.spec == "attribute-definitions" {
				if two["predefined"] != false {
					t.Errorf("%s: predefined %v", c.v2, two["predefined"])
				}
				delete(two, "predefined")
			}
			a, _ := json.Marshal(one)
			b, _ := json.Marshal(two)
			if string(a) != string(b) {
				t.Errorf("%s and %s differ:\nv1 %s\nv2 %s", c.v1, c.v2, a, b)
			}
			if c.expanded != "" {
				raw, _ := two[c.expanded].([]any)
				if len(raw) != 1 || raw[0].(map[string]any)["id"] != c.expandedID {
					t.Errorf("%s: %s %v, want only %s", c.v2, c.expanded, raw, c.expandedID)
				}
			}
		}
	})
}

// TestUsertourUpserts ports "PUT upserts a user (create → merge update),
// then DELETE removes it (204)" (users.e2e-spec.ts) and "PUT upserts a
// company (create → merge), then DELETE removes it (204)" with "returns
// 404 for an unknown company (E1002)" (companies.e2e-spec.ts), each with a
// token holding only the route's scopes.
func TestUsertourUpserts(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		for _, c := range []struct {
			kind, scopes, id, object, notFound string
			first, second                      string
			merged                             map[string]any
		}{
			{"users", "user:write,user:read,user:delete", "bu-write-bob", "user", "E1001",
				`{"attributes":{"name":"Bob"}}`, `{"attributes":{"plan":"pro"}}`, map[string]any{"name": "Bob", "plan": "pro"}},
			{"companies", "company:write,company:read,company:delete", "co-write-x", "company", "E1002",
				`{"attributes":{"plan":"free"}}`, `{"attributes":{"seats":5}}`, map[string]any{"plan": "free", "seats": 5.0}},
		} {
			tok := e.token(e.a, c.scopes, e.a0)
			path := en(e.a, e.a0, "/"+c.kind+"/"+c.id)
			created := e.call("PUT", path, tok, c.first).want(t, 200)
			if created["id"] != c.id || created["object"] != c.object {
				t.Errorf("%s: created %v", c.kind, created)
			}
			updated := e.call("PUT", path, tok, c.second).want(t, 200)
			attrs := updated["attributes"].(map[string]any)
			for k, v := range c.merged {
				if attrs[k] != v {
					t.Errorf("%s: merged attributes %v, want %s=%v", c.kind, attrs, k, v)
				}
			}
			if res := e.call("DELETE", path, tok, ""); res.status != 204 || len(res.raw) != 0 {
				t.Errorf("%s: DELETE %d %q", c.kind, res.status, res.raw)
			}
			e.call("GET", path, tok, "").wantError(t, 404, c.notFound)
			e.call("GET", en(e.a, e.a0, "/"+c.kind+"/nope"), tok, "").wantError(t, 404, c.notFound)
		}
	})
}

// TestUsertourSeenTimes ports "a NEW user is born with first/last_seen_at"
// (users.e2e-spec.ts): the seeded times are date-times, and an explicit
// first_seen_at wins over the seed (v2.md §7).
func TestUsertourSeenTimes(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.token(e.a, "user:write,user:read", e.a0)
		fresh := e.call("PUT", en(e.a, e.a0, "/users/bu-fresh-seen"), tok, `{"attributes":{"name":"Fresh"}}`).want(t, 200)
		attrs := fresh["attributes"].(map[string]any)
		for _, k := range []string{"first_seen_at", "last_seen_at"} {
			s, _ := attrs[k].(string)
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				t.Errorf("%s %v: %v", k, attrs[k], err)
			}
		}
		backfill := e.call("PUT", en(e.a, e.a0, "/users/bu-backfill-seen"), tok, `{"attributes":{"first_seen_at":"2020-01-01T00:00:00.000Z"}}`).want(t, 200)
		if got := backfill["attributes"].(map[string]any)["first_seen_at"]; got != "2020-01-01T00:00:00.000Z" {
			t.Errorf("explicit first_seen_at: %v", got)
		}
	})
}

// TestUsertourMembershipWrites ports two cases of companies.e2e-spec.ts:
// "PUT echoes the membership (external ids + attributes)" — the part the
// other tests lack, the membership seen through the company's users
// expand — and "membership PUT rejects a type-mismatched attribute (400
// E1017), like the user/company upsert", which changes nothing.
func TestUsertourMembershipWrites(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		all := e.all()
		e.call("PUT", en(e.a, e.a0, "/users/bu-parity-jane"), all, "").want(t, 200)
		tok := e.token(e.a, "company:write,company:read", e.a0)
		e.call("PUT", en(e.a, e.a0, "/companies/co-mem-x"), tok, `{"attributes":{}}`).want(t, 200)
		m := e.call("PUT", en(e.a, e.a0, "/companies/co-mem-x/memberships/bu-parity-jane"), tok,
			`{"attributes":{"role_echo_probe":"member"}}`).want(t, 200)
		if m["companyId"] != "co-mem-x" || m["userId"] != "bu-parity-jane" || m["attributes"].(map[string]any)["role_echo_probe"] != "member" {
			t.Errorf("echo %v", m)
		}
		c := e.call("GET", en(e.a, e.a0, "/companies/co-mem-x?expand=users"), tok, "").want(t, 200)
		users, _ := c["users"].([]any)
		if len(users) != 1 || users[0].(map[string]any)["id"] != "bu-parity-jane" {
			t.Errorf("users of co-mem-x: %v", c["users"])
		}

		e.call("POST", p(e.a, "/attribute-definitions"), all,
			`{"scope":"companyMembership","dataType":"number","codeName":"seat_count","displayName":"Seats"}`).want(t, 201)
		writer := e.token(e.a, "company:write", e.a0)
		e.call("PUT", en(e.a, e.a0, "/companies/co-mem-x/memberships/bu-parity-jane"), writer,
			`{"attributes":{"seat_count":"lots","role_echo_probe":"admin"}}`).wantError(t, 400, "E1017")
		u := e.call("GET", en(e.a, e.a0, "/users/bu-parity-jane?expand=memberships"), all, "").want(t, 200)
		ms, _ := u["memberships"].([]any)
		if len(ms) != 1 {
			t.Fatalf("memberships %v", u["memberships"])
		}
		attrs := ms[0].(map[string]any)["attributes"].(map[string]any)
		if _, stored := attrs["seat_count"]; stored || attrs["role_echo_probe"] != "member" {
			t.Errorf("a refused membership write changed it: %v", attrs)
		}
	})
}
