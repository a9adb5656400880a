package apiv2_test

// Usertour's own e2e cases for the environments routes (usertour/usertour
// apps/server/test/e2e/api/environments.e2e-spec.ts), ported. Not
// repeated here: the list shape, unknown id 404 E1026, create, rename and
// delete, the codes of E0023 and E1032, GET of an environment outside the
// list 403 E1029 (TestEnvironments), and every 403 E1012
// (TestCheckOrder, TestCapabilityMatrix).
//
// DEVIATION in every case with an "allowlist-scoped token": Usertour gives
// an environment list to a token holding only environment:*, but on tourd
// only a token with an environment-targeted capability has a list (v2.md
// §4), so those tokens here also hold user:read.

import (
	"slices"
	"strings"
	"testing"

	"tourd/internal/backendtest"
)

// TestUsertourEnvironments ports "paginates with limit", "gets an
// environment by id, exposing the SDK token", the message of "cannot
// delete the primary environment (409 E0023 state-conflict)" and "rejects
// create from an allowlist-scoped token (403 E1032, no orphan)", with its
// message and nothing created (environments.e2e-spec.ts).
func TestUsertourEnvironments(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		envs := p(e.a, "/environments")
		read := e.token(e.a, "environment:read")
		page := e.call("GET", envs+"?limit=1", read, "").want(t, 200)
		if next, _ := page["next"].(string); len(results(t, page)) != 1 || !strings.Contains(next, "cursor=") {
			t.Errorf("limit=1: %v", page)
		}
		listed := find(results(t, e.call("GET", envs, read, "").want(t, 200)), "id", e.a0)
		got := e.call("GET", envs+"/"+e.a0, read, "").want(t, 200)
		if token, _ := got["token"].(string); got["id"] != e.a0 || got["object"] != "environment" || got["name"] != listed["name"] || token == "" {
			t.Errorf("environment %v", got)
		}

		res := e.call("DELETE", envs+"/"+e.a0, e.token(e.a, "environment:manage"), "")
		res.wantError(t, 409, "E0023")
		if msg := res.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "primary") {
			t.Errorf("E0023 message %q", msg)
		}

		res = e.call("POST", envs, e.token(e.a, "environment:manage,user:read", e.a0), `{"name":"Orphan"}`)
		res.wantError(t, 403, "E1032")
		if msg := res.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "project-level") || strings.Contains(msg, "scoped to all environments") {
			t.Errorf("E1032 message %q", msg)
		}
		if names := field(results(t, e.call("GET", envs, read, "").want(t, 200)), "name"); slices.Contains(names, "Orphan") {
			t.Errorf("a refused create made an environment: %v", names)
		}
	})
}

// TestUsertourEnvironmentAllowlist ports the cases of "environment allowlist
// enforcement (handler asserts on :id)" (environments.e2e-spec.ts), with a
// token listing a0 or a1 (see the DEVIATION above): existence is checked
// before the list, and a token with a list neither renames nor deletes an
// environment outside it, but renames one inside it.
func TestUsertourEnvironmentAllowlist(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		envs := p(e.a, "/environments")
		onA0 := e.token(e.a, "environment:manage,environment:read,user:read", e.a0)
		onA1 := e.token(e.a, "environment:manage,environment:read,user:read", e.a1)
		for _, c := range []struct {
			name, method, id, token, body string
			status                        int
			code                          string
		}{
			{"404s a NON-existent id even for an env-restricted token", "DELETE", "does-not-exist", onA0, "", 404, "E1026"},
			{"rejects DELETE of an out-of-scope environment", "DELETE", e.a1, onA0, "", 403, "E1029"},
			{"rejects PATCH-rename of an out-of-scope environment", "PATCH", e.a1, onA0, `{"name":"Hijacked"}`, 403, "E1029"},
			{"allows PATCH-rename of an IN-scope environment", "PATCH", e.a1, onA1, `{"name":"Staging 2"}`, 200, ""},
		} {
			res := e.call(c.method, envs+"/"+c.id, c.token, c.body)
			if c.code != "" {
				res.wantError(t, c.status, c.code)
				continue
			}
			if got := res.want(t, c.status); got["name"] != "Staging 2" {
				t.Errorf("%s: %v", c.name, got)
			}
		}
		// The refused DELETE and PATCH changed nothing.
		names := field(results(t, e.call("GET", envs, onA0, "").want(t, 200)), "name")
		if len(names) != 2 || slices.Contains(names, "Hijacked") {
			t.Errorf("environments after the refusals: %v", names)
		}
	})
}
