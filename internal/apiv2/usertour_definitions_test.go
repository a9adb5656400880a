package apiv2_test

// Usertour's own e2e cases for the definitions routes (usertour/usertour
// apps/server/test/e2e/api/attribute-definitions.e2e-spec.ts and
// event-definitions.e2e-spec.ts), ported. Not repeated here: the v1
// parity of attribute definitions (TestUsertourListParity), the duplicate
// codeName 409 E1023, unknown attribute codeNames of an event, the in-use
// event 409 E1030, the predefined attribute 409 E1036 and a stored value
// that blocks a string to number retype (TestDefinitions), per-key strict
// issues (TestStrictBodies, on the same decoder), invalid scope E1015
// (TestListFilters), every 401/403 E1012 case (TestCheckOrder,
// TestCapabilityMatrix), and the rate limit (TestRateLimit; DEVIATION:
// Usertour's Hobby plan allows 100 requests a minute, v2.md §10 1,000 per
// token by default). The OpenAPI rendering cases of
// event-definitions.e2e-spec.ts test Usertour's document generator;
// tourd's document is checked by TestOpenAPIMatchesRouter and TestV2Doc*.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/userdata"
)

// definitionKind is what the tests of both kinds of definition need.
type definitionKind struct {
	name     string // the path under the project
	object   string
	scopes   string
	notFound string
	create   func(codeName, displayName string) string // a POST body
}

var definitionKinds = []definitionKind{
	{"/attribute-definitions", "attributeDefinition", "attribute:create,attribute:update,attribute:delete,attribute:read", "E1022",
		func(c, d string) string {
			return fmt.Sprintf(`{"scope":"user","dataType":"string","codeName":%q,"displayName":%q}`, c, d)
		}},
	{"/event-definitions", "eventDefinition", "event:create,event:update,event:delete,event:read", "E1024",
		func(c, d string) string { return fmt.Sprintf(`{"codeName":%q,"displayName":%q}`, c, d) }},
}

// TestUsertourDefinitionLifecycle ports, for both kinds
// (attribute-definitions.e2e-spec.ts, event-definitions.e2e-spec.ts),
// "creates → updates → deletes an attribute/event definition", "gets an
// attribute/event definition by id (404 unknown → E1022/E1024)", "PATCH 404
// for an unknown attribute/event (E1022/E1024)" and "lists event definitions
// (200) with the zod response shape".
func TestUsertourDefinitionLifecycle(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		for _, k := range definitionKinds {
			tok := e.token(e.a, k.scopes)
			base := p(e.a, k.name)
			created := e.call("POST", base, tok, k.create("def_write_x", "X")).want(t, 201)
			if created["object"] != k.object || created["codeName"] != "def_write_x" || created["displayName"] != "X" {
				t.Errorf("%s: created %v", k.name, created)
			}
			id := created["id"].(string)
			if got := e.call("GET", base+"/"+id, tok, "").want(t, 200); got["id"] != id || got["codeName"] != "def_write_x" {
				t.Errorf("%s: got %v", k.name, got)
			}
			listed := find(results(t, e.call("GET", base+"?name=def_write_x", tok, "").want(t, 200)), "id", id)
			if listed == nil || listed["object"] != k.object || listed["displayName"] != "X" {
				t.Errorf("%s: listed %v", k.name, listed)
			}
			updated := e.call("PATCH", base+"/"+id, tok, `{"displayName":"X2","description":"desc"}`).want(t, 200)
			if updated["displayName"] != "X2" || updated["description"] != "desc" {
				t.Errorf("%s: updated %v", k.name, updated)
			}
			if res := e.call("DELETE", base+"/"+id, tok, ""); res.status != 204 || len(res.raw) != 0 {
				t.Errorf("%s: DELETE %d %q", k.name, res.status, res.raw)
			}
			if ids := field(results(t, e.call("GET", base+"?limit=100", tok, "").want(t, 200)), "id"); slices.Contains(ids, id) {
				t.Errorf("%s: a deleted definition is listed", k.name)
			}
			e.call("GET", base+"/nope", tok, "").wantError(t, 404, k.notFound)
			e.call("PATCH", base+"/nope", tok, `{"displayName":"x"}`).wantError(t, 404, k.notFound)
		}
	})
}

// TestUsertourDefinitionNameFilter ports "filters `name` by codeName, not
// just displayName (the agent search path)" of both specs
// (attribute-definitions.e2e-spec.ts, event-definitions.e2e-spec.ts): name
// matches the codeName and, case-insensitively, the displayName, and nothing
// else.
func TestUsertourDefinitionNameFilter(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		for _, c := range []struct {
			kind                definitionKind
			codeName, display   string
			other, displayQuery string
		}{
			{definitionKinds[0], "attr_parity_signup", "Signed Up", "attr_parity_plan", "signed"},
			{definitionKinds[1], "evt_spike_flow_started", "Flow Started", "evt_spike_other", "flow"},
		} {
			base := p(e.a, c.kind.name)
			e.call("POST", base, tok, c.kind.create(c.codeName, c.display)).want(t, 201)
			e.call("POST", base, tok, c.kind.create(c.other, "Other")).want(t, 201)
			codes := func(q string) []string {
				return field(results(t, e.call("GET", base+"?limit=100&name="+q, tok, "").want(t, 200)), "codeName")
			}
			if got := codes(c.codeName); !slices.Contains(got, c.codeName) {
				t.Errorf("%s name=%s: %v", c.kind.name, c.codeName, got)
			}
			if got := codes(c.displayQuery); !slices.Contains(got, c.codeName) {
				t.Errorf("%s name=%s: %v", c.kind.name, c.displayQuery, got)
			}
			if got := codes(c.other); slices.Contains(got, c.codeName) || !slices.Contains(got, c.other) {
				t.Errorf("%s name=%s: %v", c.kind.name, c.other, got)
			}
		}
	})
}

// TestUsertourEventScopedAttributes ports "filters event attributes with
// scope=eventDefinition (and excludes them from scope=user)" and "creates
// an EVENT-scoped attribute, attaches it to an event, and delete severs
// the link" (attribute-definitions.e2e-spec.ts); that the event no longer
// lists the deleted attribute is v2.md §8 ("removes the definition and
// its event links").
func TestUsertourEventScopedAttributes(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.token(e.a, "attribute:create,attribute:delete,attribute:read,event:create,event:read")
		attrs := p(e.a, "/attribute-definitions")
		e.call("POST", attrs, tok, `{"scope":"user","dataType":"string","codeName":"attr_parity_signup","displayName":"Signed Up"}`).want(t, 201)
		created := e.call("POST", attrs, tok, `{"scope":"eventDefinition","dataType":"string","codeName":"evt_attr_via_api","displayName":"Evt attr"}`).want(t, 201)
		if created["scope"] != "eventDefinition" || created["codeName"] != "evt_attr_via_api" {
			t.Errorf("created %v", created)
		}
		codes := func(scope string) []string {
			return field(results(t, e.call("GET", attrs+"?limit=100&scope="+scope, tok, "").want(t, 200)), "codeName")
		}
		if got := codes("eventDefinition"); !slices.Contains(got, "evt_attr_via_api") || slices.Contains(got, "attr_parity_signup") {
			t.Errorf("scope=eventDefinition: %v", got)
		}
		if got := codes("user"); slices.Contains(got, "evt_attr_via_api") || !slices.Contains(got, "attr_parity_signup") {
			t.Errorf("scope=user: %v", got)
		}
		evt := e.call("POST", p(e.a, "/event-definitions"), tok, `{"codeName":"evt_predef_attr","displayName":"Evt","attributes":["evt_attr_via_api"]}`).want(t, 201)
		if a, _ := evt["attributes"].([]any); len(a) != 1 || a[0] != "evt_attr_via_api" {
			t.Errorf("event attributes %v", evt["attributes"])
		}
		e.call("DELETE", attrs+"/"+created["id"].(string), tok, "").want(t, 204)
		after := e.call("GET", p(e.a, "/event-definitions/"+evt["id"].(string)), tok, "").want(t, 200)
		if a, _ := after["attributes"].([]any); len(a) != 0 {
			t.Errorf("event attributes after the attribute's deletion: %v", after["attributes"])
		}
	})
}

// TestUsertourEventAttributes ports "attaches / reads / replaces event
// attributes by codeName" (event-definitions.e2e-spec.ts): PATCH replaces
// the set, and GET reads it back.
func TestUsertourEventAttributes(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		all := e.all()
		for _, c := range []string{"evt_amount", "evt_currency"} {
			e.call("POST", p(e.a, "/attribute-definitions"), all,
				`{"scope":"eventDefinition","dataType":"string","codeName":"`+c+`","displayName":"`+c+`"}`).want(t, 201)
		}
		tok := e.token(e.a, "event:create,event:update,event:read")
		events := p(e.a, "/event-definitions")
		created := e.call("POST", events, tok, `{"codeName":"evt_purchase","displayName":"Purchase","attributes":["evt_amount"]}`).want(t, 201)
		id := created["id"].(string)
		sorted := func(v any) string {
			var s []string
			for _, x := range v.([]any) {
				s = append(s, x.(string))
			}
			slices.Sort(s)
			return strings.Join(s, ",")
		}
		if got := sorted(created["attributes"]); got != "evt_amount" {
			t.Errorf("created with %s", got)
		}
		if got := sorted(e.call("PATCH", events+"/"+id, tok, `{"attributes":["evt_amount","evt_currency"]}`).want(t, 200)["attributes"]); got != "evt_amount,evt_currency" {
			t.Errorf("replaced by %s", got)
		}
		if got := sorted(e.call("GET", events+"/"+id, tok, "").want(t, 200)["attributes"]); got != "evt_amount,evt_currency" {
			t.Errorf("read back %s", got)
		}
	})
}

// TestUsertourRetype ports "retypes an attribute when no stored value
// conflicts, and rejects when one does" (attribute-definitions.e2e-spec.ts):
// number to string is allowed with no stored value and refused with a
// stored 42 (a retype converts nothing: a number is not a string), and the
// refused definition keeps its type.
func TestUsertourRetype(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.token(e.a, "attribute:create,attribute:update,attribute:read")
		attrs := p(e.a, "/attribute-definitions")
		ok := e.call("POST", attrs, tok, `{"scope":"user","dataType":"number","codeName":"attr_retype_ok","displayName":"R"}`).want(t, 201)
		if got := e.call("PATCH", attrs+"/"+ok["id"].(string), tok, `{"dataType":"string"}`).want(t, 200); got["dataType"] != "string" {
			t.Errorf("retyped %v", got)
		}
		bad := e.call("POST", attrs, tok, `{"scope":"user","dataType":"number","codeName":"attr_retype_bad","displayName":"R2"}`).want(t, 201)
		e.call("PUT", en(e.a, e.a0, "/users/u1"), e.all(), `{"attributes":{"attr_retype_bad":42}}`).want(t, 200)
		e.call("PATCH", attrs+"/"+bad["id"].(string), tok, `{"dataType":"string"}`).wantError(t, 400, "E1017")
		if got := e.call("GET", attrs+"/"+bad["id"].(string), tok, "").want(t, 200); got["dataType"] != "number" {
			t.Errorf("a refused retype changed the type: %v", got)
		}
	})
}

// TestUsertourDefinitionValidation ports the body validation cases:
// "codeName length: 100 chars is the cap — 100 creates, 101 rejects"
// (attribute-definitions.e2e-spec.ts) and "rejects an invalid codeName
// charset (400 E1017)" (event-definitions.e2e-spec.ts).
func TestUsertourDefinitionValidation(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.token(e.a, "attribute:create,attribute:delete,event:create")
		long := strings.Repeat("a", 99)
		for _, c := range []struct {
			path, body string
			status     int
		}{
			{"/attribute-definitions", definitionKinds[0].create(long+"b", "long name ok"), 201},
			{"/attribute-definitions", definitionKinds[0].create(long+"bc", "too long"), 400},
			{"/event-definitions", definitionKinds[1].create("bad name", "X"), 400},
		} {
			res := e.call("POST", p(e.a, c.path), tok, c.body)
			if c.status == 400 {
				res.wantError(t, 400, "E1017")
			} else {
				res.want(t, c.status)
			}
		}
	})
}

// TestUsertourEventDefinitionCases ports three cases of
// event-definitions.e2e-spec.ts: "sorts by codeName" (and orderBy=id is
// 400 E1017); "refuses to delete an event definition that has recorded
// events (409 E1030)" — its second half: once the recorded events are gone
// (here with their user, v2.md §7), the definition deletes; and "cannot
// modify a predefined event (409 E1036 — permanent, points at the
// alternative)", with DELETE refused alike (v2.md §8).
func TestUsertourEventDefinitionCases(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		all := e.all()
		events := p(e.a, "/event-definitions")
		for _, c := range []string{"evt_spike_flow_started", "evt_spike_other"} {
			e.call("POST", events, all, definitionKinds[1].create(c, c)).want(t, 201)
		}
		tok := e.token(e.a, "event:read,event:create,event:update,event:delete")
		codes := field(results(t, e.call("GET", events+"?orderBy=codeName&limit=100", tok, "").want(t, 200)), "codeName")
		if len(codes) < 2 || !slices.IsSorted(codes) {
			t.Errorf("orderBy=codeName: %v", codes)
		}
		e.call("GET", events+"?orderBy=id", tok, "").wantError(t, 400, "E1017")

		// Recorded in another environment than the primary, as Usertour's
		// case does.
		inUse := e.call("POST", events, tok, `{"codeName":"evt_in_use","displayName":"In Use"}`).want(t, 201)
		key, hash, prefix := userdata.NewKey()
		if _, err := e.store.CreateKey(t.Context(), e.a.ID, e.a1, hash, prefix); err != nil {
			t.Fatal(err)
		}
		e.v1("POST", "/v1/users", key, `{"id":"bu-events"}`).want(t, 201)
		e.v1("POST", "/v1/events", key, `{"name":"evt_in_use","userId":"bu-events"}`).want(t, 201)
		e.call("DELETE", events+"/"+inUse["id"].(string), tok, "").wantError(t, 409, "E1030")
		e.call("DELETE", en(e.a, e.a1, "/users/bu-events"), all, "").want(t, 204)
		e.call("DELETE", events+"/"+inUse["id"].(string), tok, "").want(t, 204)

		pre := find(results(t, e.call("GET", events+"?name=page_viewed", tok, "").want(t, 200)), "codeName", "page_viewed")
		if pre == nil || pre["predefined"] != true {
			t.Fatalf("predefined page_viewed: %v", pre)
		}
		for _, method := range []string{"PATCH", "DELETE"} {
			body := ""
			if method == "PATCH" {
				body = `{"displayName":"no"}`
			}
			res := e.call(method, events+"/"+pre["id"].(string), tok, body)
			res.wantError(t, 409, "E1036")
			if msg, _ := res.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "create your own") {
				t.Errorf("%s: message %q", method, msg)
			}
		}
	})
}
