package apiv2_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tourd/internal/backendtest"
)

// v1 sends a v1 request with key.
func (e *env) v1(method, path, key, body string) *response {
	e.t.Helper()
	return e.call(method, path, "Bearer "+key, body)
}

// TestParity writes users and companies through one version and reads
// them back through the other: the answers are byte-identical (v2.md §2).
func TestParity(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		key, tok := e.key(), e.all()
		e.v1("POST", "/v1/users", key, `{"id":"v1user","attributes":{"plan":"pro","seats":3},"companies":[{"id":"acme","attributes":{"size":10}}]}`).want(t, 201)
		e.call("PUT", en(e.a, e.a0, "/users/v2user"), tok, `{"attributes":{"plan":"free","tags":{"union":["a","b"]}}}`).want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/v2co"), tok, `{"attributes":{"size":3}}`).want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/v2co/memberships/v2user"), tok, `{"attributes":{"role":"admin"}}`).want(t, 200)
		for _, c := range []struct{ v1, v2 string }{
			{"/v1/users/v1user", "/users/v1user"},
			{"/v1/users/v2user?expand=memberships.company", "/users/v2user?expand=memberships.company"},
			{"/v1/users/v1user?expand=companies", "/users/v1user?expand=companies"},
			{"/v1/companies/acme?expand=users", "/companies/acme?expand=users"},
			{"/v1/companies/v2co?expand=memberships.user", "/companies/v2co?expand=memberships.user"},
		} {
			one := e.v1("GET", c.v1, key, "").want(t, 200)
			two := e.call("GET", en(e.a, e.a0, c.v2), tok, "").want(t, 200)
			a, _ := json.Marshal(one)
			b, _ := json.Marshal(two)
			if !bytes.Equal(a, b) {
				t.Errorf("%s and %s differ:\nv1 %s\nv2 %s", c.v1, c.v2, a, b)
			}
		}
		// A v2 PUT of a new user seeds first_seen_at and last_seen_at as
		// v1 does; an update answers 200 too.
		u := e.call("GET", en(e.a, e.a0, "/users/v2user"), tok, "").want(t, 200)
		attrs := u["attributes"].(map[string]any)
		if attrs["first_seen_at"] == nil || attrs["last_seen_at"] == nil {
			t.Errorf("v2 PUT did not seed the seen times: %v", attrs)
		}
		e.call("PUT", en(e.a, e.a0, "/users/v1user"), tok, `{"attributes":{"seats":{"add":2}}}`).want(t, 200)
		if got := e.v1("GET", "/v1/users/v1user", key, "").want(t, 200)["attributes"].(map[string]any)["seats"]; got != 5.0 {
			t.Errorf("seats after a v2 add: %v", got)
		}
		// Definitions: one created on v2 is listed by v1 with the same
		// fields (v1's object has no predefined).
		d := e.call("POST", p(e.a, "/attribute-definitions"), tok, `{"scope":"company","dataType":"number","codeName":"arr","displayName":"ARR","description":"annual"}`).want(t, 201)
		list := e.v1("GET", "/v1/attribute-definitions?scope=company&limit=100", key, "").want(t, 200)["results"].([]any)
		found := false
		for _, it := range list {
			m := it.(map[string]any)
			if m["id"] != d["id"] {
				continue
			}
			found = true
			for k, v := range m {
				if d[k] != v {
					t.Errorf("definition %s: v1 %v, v2 %v", k, v, d[k])
				}
			}
		}
		if !found {
			t.Errorf("the v2 definition is not in v1's list")
		}
	})
}

// TestStrictBodies: each unknown key is one issue of one 400 E1017, in
// body order, and nothing is written.
func TestStrictBodies(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		res := e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, `{"zeta":1,"attributes":{},"id":"x"}`)
		res.wantError(t, 400, "E1017")
		body, _ := json.Marshal(res.body["error"])
		want := `{"code":"E1017","doc_url":"https://docs.usertour.io","issues":[{"message":"Unrecognized key: \"zeta\"","path":"zeta","rule":"schema"},{"message":"Unrecognized key: \"id\"","path":"id","rule":"schema"}],"message":"zeta: Unrecognized key: \"zeta\" | id: Unrecognized key: \"id\""}`
		if string(body) != want {
			t.Errorf("got  %s\nwant %s", body, want)
		}
		e.call("GET", en(e.a, e.a0, "/users/u1"), tok, "").wantError(t, 404, "E1001")
		for _, bad := range []string{
			`[]`, `"x"`, `{"attributes":[]}`, `{"attributes":null}`, `{"attributes":{"9lives":1}}`, `{"attributes":{"a":1}}`,
			`{"attributes":{"has-dash":1}}`, `{"attributes":{"obj":{"k":1}}}`, `{"attributes":{"n":{"add":"x"}}}`,
		} {
			e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, bad).wantError(t, 400, "E1017")
		}
		e.call("GET", en(e.a, e.a0, "/users/u1"), tok, "").wantError(t, 404, "E1001")
		for _, id := range []string{"%20", "%09"} {
			e.call("PUT", en(e.a, e.a0, "/users/"+id), tok, "").wantError(t, 400, "E1017")
		}
		// An empty body is {}; a user with only the seeded attributes.
		e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, "").want(t, 200)
	})
}

// TestCoercion: v2 coerces values to the defined type (operations.md §3)
// and refuses what cannot be coerced, writing nothing.
func TestCoercion(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		for _, def := range []string{
			`{"scope":"user","dataType":"number","codeName":"seats","displayName":"Seats"}`,
			`{"scope":"user","dataType":"string","codeName":"ref","displayName":"Ref"}`,
			`{"scope":"user","dataType":"boolean","codeName":"paid","displayName":"Paid"}`,
			`{"scope":"user","dataType":"list","codeName":"tags","displayName":"Tags"}`,
			`{"scope":"user","dataType":"datetime","codeName":"renews","displayName":"Renews"}`,
		} {
			e.call("POST", p(e.a, "/attribute-definitions"), tok, def).want(t, 201)
		}
		u := e.call("PUT", en(e.a, e.a0, "/users/u1"), tok,
			`{"attributes":{"seats":"42","ref":7,"paid":"true","tags":"x","renews":"2026-01-02T03:04:05+02:00"}}`).want(t, 200)
		got, _ := json.Marshal(u["attributes"])
		for _, want := range []string{`"seats":42`, `"ref":"7"`, `"paid":true`, `"tags":["x"]`, `"renews":"2026-01-02T01:04:05.000Z"`} {
			if !strings.Contains(string(got), want) {
				t.Errorf("attributes %s lack %s", got, want)
			}
		}
		// A data_type defining a new key converts its value too.
		u = e.call("PUT", en(e.a, e.a0, "/users/u2"), tok, `{"attributes":{"level":{"set":"3","data_type":"number"}}}`).want(t, 200)
		if got := u["attributes"].(map[string]any)["level"]; got != 3.0 {
			t.Errorf("level %v", got)
		}
		for _, bad := range []string{`{"seats":"042"}`, `{"paid":"yes"}`, `{"renews":"soon"}`, `{"seats":{"set":"many"}}`} {
			res := e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, `{"attributes":`+bad+`}`)
			res.wantError(t, 400, "E1017")
			if msg := res.body["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, "Attribute value type mismatch: ") {
				t.Errorf("%s: message %q", bad, msg)
			}
		}
		again := e.call("GET", en(e.a, e.a0, "/users/u1"), tok, "").want(t, 200)
		if a, _ := json.Marshal(again["attributes"]); string(a) != string(got) {
			t.Errorf("a refused write changed the user: %s, was %s", a, got)
		}
	})
}

// TestMemberships: the company is checked first, then the user; the
// answer names both by external id; DELETE is 204, then 404 E1003.
func TestMemberships(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		path := en(e.a, e.a0, "/companies/c1/memberships/u1")
		e.call("PUT", path, tok, "").wantError(t, 404, "E1002")
		e.call("PUT", en(e.a, e.a0, "/companies/c1"), tok, "").want(t, 200)
		e.call("PUT", path, tok, "").wantError(t, 404, "E1001")
		e.call("DELETE", path, tok, "").wantError(t, 404, "E1003")
		e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, "").want(t, 200)
		m := e.call("PUT", path, tok, `{"attributes":{"role":"admin"}}`).want(t, 200)
		if m["companyId"] != "c1" || m["userId"] != "u1" || m["object"] != "companyMembership" {
			t.Errorf("membership %v", m)
		}
		m = e.call("PUT", path, tok, `{"attributes":{"since":2020}}`).want(t, 200)
		if a := m["attributes"].(map[string]any); a["role"] != "admin" || a["since"] != 2020.0 {
			t.Errorf("merged attributes %v", a)
		}
		res := e.call("DELETE", path, tok, "")
		if res.status != http.StatusNoContent || len(res.raw) != 0 {
			t.Errorf("DELETE: %d %q", res.status, res.raw)
		}
		e.call("DELETE", path, tok, "").wantError(t, 404, "E1003")
		m = e.call("PUT", path, tok, "").want(t, 200)
		if a := m["attributes"].(map[string]any); len(a) != 0 {
			t.Errorf("a membership added again is not empty: %v", a)
		}
		res = e.call("DELETE", en(e.a, e.a0, "/users/u1"), tok, "")
		if res.status != http.StatusNoContent || len(res.raw) != 0 {
			t.Errorf("DELETE user: %d %q", res.status, res.raw)
		}
		e.call("DELETE", en(e.a, e.a0, "/users/u1"), tok, "").wantError(t, 404, "E1001")
		e.call("DELETE", path, tok, "").wantError(t, 404, "E1003")
		e.call("DELETE", en(e.a, e.a0, "/companies/c1"), tok, "").want(t, 204)
		e.call("DELETE", en(e.a, e.a0, "/companies/c1"), tok, "").wantError(t, 404, "E1002")
	})
}
