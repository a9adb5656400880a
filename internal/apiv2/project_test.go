package apiv2_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// TestEnvironments: the CRUD of v2.md §9, inTokenScope and the withheld
// SDK token, E1032 for a token with a list, the primary kept, and a
// deleted environment gone from every route at once.
func TestEnvironments(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		project := e.token(e.a, "environment:read,environment:manage")
		listed := e.token(e.a, "environment:read,environment:manage,user:read", e.a1)
		envs := p(e.a, "/environments")

		list := e.call("GET", envs, listed, "").want(t, 200)["results"].([]any)
		if len(list) != 2 {
			t.Fatalf("%d environments", len(list))
		}
		a0 := list[0].(map[string]any)
		if a0["id"] != e.a0 || a0["isPrimary"] != true || a0["inTokenScope"] != false || a0["token"] != nil || a0["object"] != "environment" {
			t.Errorf("primary, out of scope: %v", a0)
		}
		if a1 := list[1].(map[string]any); a1["inTokenScope"] != true || a1["token"] == nil || len(a1) != 8 {
			t.Errorf("staging, in scope: %v", a1)
		}
		e.call("GET", envs+"/"+e.a0, listed, "").wantError(t, 403, "E1029")
		e.call("GET", envs+"/nope", listed, "").wantError(t, 404, "E1026")
		e.call("GET", envs+"/"+e.b0, listed, "").wantError(t, 404, "E1026")
		e.call("POST", envs, listed, `{"name":"qa"}`).wantError(t, 403, "E1032")
		e.call("POST", envs, project, `{"name":""}`).wantError(t, 400, "E1017")
		e.call("POST", envs, project, `{"name":"qa","isPrimary":true}`).wantError(t, 400, "E1017")

		qa := e.call("POST", envs, project, `{"name":"qa"}`).want(t, 201)
		if qa["isPrimary"] != false || qa["inTokenScope"] != true || qa["name"] != "qa" {
			t.Errorf("created %v", qa)
		}
		id := qa["id"].(string)
		renamed := e.call("PATCH", envs+"/"+id, project, `{"name":"QA"}`).want(t, 200)
		if renamed["name"] != "QA" {
			t.Errorf("renamed %v", renamed)
		}
		if got := e.call("GET", envs+"?name=q", project, "").want(t, 200)["results"].([]any); len(got) != 1 {
			t.Errorf("name=q: %d environments", len(got))
		}
		e.call("DELETE", envs+"/"+e.a0, project, "").wantError(t, 409, "E0023")

		// Data in the new environment, then its deletion: its routes and
		// its v1 keys are refused at once.
		all := e.token(e.a, "all", id)
		e.call("PUT", en(e.a, id, "/users/u1"), all, "").want(t, 200)
		key, hash, prefix := newKey()
		if _, err := e.store.CreateKey(t.Context(), e.a.ID, id, hash, prefix); err != nil {
			t.Fatal(err)
		}
		e.v1("GET", "/v1/users/u1", key, "").want(t, 200)
		res := e.call("DELETE", envs+"/"+id, project, "")
		if res.status != http.StatusNoContent || len(res.raw) != 0 {
			t.Fatalf("DELETE: %d %q", res.status, res.raw)
		}
		e.call("GET", en(e.a, id, "/users/u1"), all, "").wantError(t, 404, "E1026")
		e.call("GET", envs+"/"+id, project, "").wantError(t, 404, "E1026")
		e.v1("GET", "/v1/users/u1", key, "").wantError(t, 403, "E1000")
		if got := e.call("GET", envs, project, "").want(t, 200)["results"].([]any); len(got) != 2 {
			t.Errorf("%d environments after the deletion", len(got))
		}
	})
}

// TestDefinitions: the CRUD of v2.md §8 with its codes.
func TestDefinitions(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		attrs, events := p(e.a, "/attribute-definitions"), p(e.a, "/event-definitions")
		d := e.call("POST", attrs, tok, `{"scope":"user","dataType":"string","codeName":"plan","displayName":"Plan"}`).want(t, 201)
		if d["predefined"] != false || d["object"] != "attributeDefinition" || d["dataType"] != "string" {
			t.Errorf("created %v", d)
		}
		e.call("POST", attrs, tok, `{"scope":"user","dataType":"number","codeName":"plan","displayName":"Plan"}`).wantError(t, 409, "E1023")
		e.call("POST", attrs, tok, `{"scope":"company","dataType":"number","codeName":"plan","displayName":"Plan"}`).want(t, 201)
		for _, bad := range []string{
			`{"scope":"user","dataType":"string","codeName":"9x","displayName":"X"}`,
			`{"scope":"user","dataType":"random_ab","codeName":"xx","displayName":"X"}`,
			`{"scope":"content","dataType":"string","codeName":"xx","displayName":"X"}`,
			`{"scope":"user","dataType":"string","codeName":"xx","displayName":""}`,
			`{"scope":"user","dataType":"string","codeName":"xx"}`,
			`{"scope":"user","dataType":"string","codeName":"xx","displayName":"X","predefined":true}`,
		} {
			e.call("POST", attrs, tok, bad).wantError(t, 400, "E1017")
		}
		id := d["id"].(string)
		// Retype: refused while a stored value does not fit.
		e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, `{"attributes":{"plan":"pro"}}`).want(t, 200)
		e.call("PATCH", attrs+"/"+id, tok, `{"dataType":"number"}`).wantError(t, 400, "E1017")
		e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, `{"attributes":{"plan":null}}`).want(t, 200)
		if got := e.call("PATCH", attrs+"/"+id, tok, `{"dataType":"number","description":"d"}`).want(t, 200); got["dataType"] != "number" || got["description"] != "d" {
			t.Errorf("patched %v", got)
		}
		// Coercion follows the new type at once.
		u := e.call("PUT", en(e.a, e.a0, "/users/u2"), tok, `{"attributes":{"plan":"7"}}`).want(t, 200)
		if u["attributes"].(map[string]any)["plan"] != 7.0 {
			t.Errorf("after the retype: %v", u["attributes"])
		}
		e.call("GET", attrs+"/nope", tok, "").wantError(t, 404, "E1022")
		// Predefined definitions cannot change.
		pre := e.call("GET", attrs+"?name=email&scope=user", tok, "").want(t, 200)["results"].([]any)
		if len(pre) == 0 {
			t.Fatal("no predefined email attribute")
		}
		preID := pre[0].(map[string]any)["id"].(string)
		e.call("PATCH", attrs+"/"+preID, tok, `{"displayName":"E"}`).wantError(t, 409, "E1036")
		e.call("DELETE", attrs+"/"+preID, tok, "").wantError(t, 409, "E1036")
		e.call("DELETE", attrs+"/"+id, tok, "").want(t, 204)
		e.call("GET", attrs+"/"+id, tok, "").wantError(t, 404, "E1022")

		// Event definitions.
		e.call("POST", attrs, tok, `{"scope":"eventDefinition","dataType":"number","codeName":"amount","displayName":"Amount"}`).want(t, 201)
		e.call("POST", events, tok, `{"codeName":"paid","displayName":"Paid","attributes":["amount","nope"]}`).wantError(t, 400, "E1017")
		ev := e.call("POST", events, tok, `{"codeName":"paid","displayName":"Paid","attributes":["amount"]}`).want(t, 201)
		if a := ev["attributes"].([]any); len(a) != 1 || a[0] != "amount" || ev["predefined"] != false {
			t.Errorf("created %v", ev)
		}
		e.call("POST", events, tok, `{"codeName":"paid","displayName":"Paid"}`).wantError(t, 409, "E1023")
		evID := ev["id"].(string)
		if a := e.call("PATCH", events+"/"+evID, tok, `{"attributes":[]}`).want(t, 200)["attributes"].([]any); len(a) != 0 {
			t.Errorf("attributes after []: %v", a)
		}
		key := e.key()
		e.call("PUT", en(e.a, e.a0, "/users/u1"), tok, "").want(t, 200)
		e.v1("POST", "/v1/events", key, `{"name":"paid","userId":"u1"}`).want(t, 201)
		e.call("DELETE", events+"/"+evID, tok, "").wantError(t, 409, "E1030")
		e.call("GET", events+"/nope", tok, "").wantError(t, 404, "E1024")
		other := e.call("POST", events, tok, `{"codeName":"other","displayName":"Other"}`).want(t, 201)
		e.call("DELETE", events+"/"+other["id"].(string), tok, "").want(t, 204)
		// Another project's definition is not found.
		bTok := e.token(e.b, "attribute:read,event:read")
		e.call("GET", p(e.b, "/event-definitions/"+evID), bTok, "").wantError(t, 404, "E1024")
	})
}

// TestExpiry: a token is refused at its expiry instant.
func TestExpiry(t *testing.T) {
	e := newEnv(t, backendtest.SQLite, noLimits)
	at := time.Now().Add(1500 * time.Millisecond)
	tok := e.tokenUntil(e.a, "user:read", &at, e.a0)
	e.call("GET", en(e.a, e.a0, "/users"), tok, "").want(t, 200)
	time.Sleep(time.Until(at))
	e.call("GET", en(e.a, e.a0, "/users"), tok, "").wantError(t, 401, "E1020")
}

// TestUnknownV2Routes: paths tourd does not serve (segment members
// without an environment, an unknown action of a webhook) are 404; a
// wrong method on a known path is 405 with Allow; neither is rate limited.
func TestUnknownV2Routes(t *testing.T) {
	e := newEnv(t, backendtest.SQLite, limits(1, 1))
	tok := e.all()
	for _, path := range []string{p(e.a, "/segments/x/members"), en(e.a, e.a0, "/webhooks/x/nope"), "/v2/nope", p(e.a, "/users")} {
		res := e.call("GET", path, tok, "")
		res.wantError(t, 404, "E1033")
		if res.header.Get("X-RateLimit-Limit") != "" {
			t.Errorf("%s: rate limit headers", path)
		}
	}
	res := e.call("POST", en(e.a, e.a0, "/users/u1"), tok, "{")
	res.wantError(t, 405, "E1033")
	if res.header.Get("Allow") != "DELETE, GET, PUT" || res.header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("405 headers %v", res.header)
	}
	spec := e.call("GET", "/v2/openapi.json", "", "").want(t, 200)
	if !strings.HasPrefix(spec["openapi"].(string), "3.1") {
		t.Errorf("openapi %v", spec["openapi"])
	}
}
