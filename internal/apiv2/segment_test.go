package apiv2_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/userdata"
)

// segmentConditions is a condition segment's conditions as a client
// writes them, on the attributes segmentDefinitions defines.
const segmentConditions = `[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"},` +
	`{"type":"group","match":"any","conditions":[{"type":"attribute","scope":"company","attribute":"size","op":"gt","value":"5"}]}]`

// segmentDefinitions are the definitions segmentConditions names.
var segmentDefinitions = []string{"user plan string", "company size number"}

// define creates attribute definitions in project, each "scope codeName
// dataType".
func (e *env) define(project *userdata.Project, defs ...string) {
	e.t.Helper()
	for _, d := range defs {
		f := strings.Fields(d)
		scope, _ := userdata.ParseScope(f[0])
		dataType, _ := userdata.ParseDataType(f[2])
		in := userdata.AttributeDefinitionInput{Scope: scope, DataType: dataType, CodeName: f[1], DisplayName: f[1]}
		if err := in.Validate(); err != nil {
			e.t.Fatalf("definition %q: %v", d, err)
		}
		if _, err := e.store.CreateAttributeDefinition(e.t.Context(), project.ID, &in); err != nil {
			e.t.Fatalf("definition %q: %v", d, err)
		}
	}
}

// TestSegmentObjects: the segment objects have Usertour's keys in its
// order, conditions (as written, on both backends) only on condition
// segments; every project has its two built-in segments, listed first.
func TestSegmentObjects(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		e.define(e.a, segmentDefinitions...)
		tok := e.all()
		spaced := strings.ReplaceAll(segmentConditions, ",", ",\n  ")
		created := e.call("POST", p(e.a, "/segments"), tok, `{"name":" Power ","bizType":"user","kind":"condition","conditions":`+spaced+`}`)
		created.want(t, 201)
		id := created.body["id"].(string)
		keys := regexp.MustCompile(`^\{"id":"c[0-9a-z]{24}","object":"segment","name":" Power ","bizType":"user","kind":"condition",` +
			`"conditions":` + regexp.QuoteMeta(segmentConditions) + `,"createdAt":"(\S+)","updatedAt":"(\S+)"\}\n$`)
		for _, res := range []*response{created, e.call("GET", p(e.a, "/segments/"+id), tok, "")} {
			m := keys.FindSubmatch(res.raw)
			if m == nil || string(m[1]) != string(m[2]) {
				t.Errorf("segment %s", res.raw)
			}
		}
		manual := e.call("POST", p(e.a, "/segments"), tok, `{"name":"VIPs","bizType":"company","kind":"manual"}`).want(t, 201)
		empty := e.call("POST", p(e.a, "/segments"), tok, `{"name":"Everyone","bizType":"company","kind":"condition"}`).want(t, 201)
		if _, ok := manual["conditions"]; ok || fmt.Sprint(empty["conditions"]) != "[]" {
			t.Errorf("conditions of a manual segment %v, of a condition segment without any %v", manual["conditions"], empty["conditions"])
		}
		list := results(t, e.call("GET", p(e.a, "/segments"), tok, "").want(t, 200))
		if got := field(list, "name"); !slices.Equal(got, []string{"All Users", "All Companies", " Power ", "VIPs", "Everyone"}) {
			t.Errorf("segments listed: %v", got)
		}
		for _, sg := range list[:2] {
			if _, ok := sg["conditions"]; ok || sg["kind"] != "all" || sg["createdAt"] != sg["updatedAt"] {
				t.Errorf("built-in segment %v", sg)
			}
		}
		// Another project's segments are not found, nor listed.
		bTok := e.token(e.b, "all", e.b0)
		e.call("GET", p(e.b, "/segments/"+id), bTok, "").wantError(t, 404, "E1025")
		if got := field(results(t, e.call("GET", p(e.b, "/segments"), bTok, "").want(t, 200)), "name"); !slices.Equal(got, []string{"All Users", "All Companies"}) {
			t.Errorf("segments of another project: %v", got)
		}
	})
}

// TestSegmentList: pages with links, orderBy, the bizType filter (any
// other value is 400 E1017), and the name filter, trimmed, ignoring the
// case of ASCII letters, blank for none.
func TestSegmentList(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.token(e.a, "segment:read,segment:create", e.a0)
		for _, s := range []struct{ name, bizType string }{{"Power users", "user"}, {"power_users", "user"}, {"Big companies", "company"}} {
			e.call("POST", p(e.a, "/segments"), tok, fmt.Sprintf(`{"name":%q,"bizType":%q,"kind":"manual"}`, s.name, s.bizType)).want(t, 201)
		}
		var walked []string
		for next := p(e.a, "/segments?limit=2&name=%20"); next != ""; {
			page := e.call("GET", next, tok, "").want(t, 200)
			walked = append(walked, field(results(t, page), "name")...)
			next, _ = page["next"].(string)
			if next != "" && !strings.Contains(next, "name=+") && !strings.Contains(next, "name=%20") {
				t.Errorf("next link %q drops the name filter", next)
			}
		}
		if want := []string{"All Users", "All Companies", "Power users", "power_users", "Big companies"}; !slices.Equal(walked, want) {
			t.Errorf("pages of limit 2: %v, want %v", walked, want)
		}
		for query, want := range map[string][]string{
			"orderBy=-createdAt&limit=2":            {"Big companies", "power_users"},
			"bizType=company":                       {"All Companies", "Big companies"},
			"bizType=user&name=%20POWER%20USERS%09": {"Power users"},
			"name=_":                                {"power_users"},
			"name=companies":                        {"All Companies", "Big companies"},
			"cursor=garbage":                        {},
		} {
			if got := field(results(t, e.call("GET", p(e.a, "/segments?"+query), tok, "").want(t, 200)), "name"); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", query, got, want)
			}
		}
		for _, query := range []string{"bizType=account", "bizType=", "bizType=user&bizType=company", "orderBy=name", "limit=101"} {
			e.call("GET", p(e.a, "/segments?"+query), tok, "").wantError(t, 400, "E1017")
		}
	})
}

// TestSegmentGetChecks: GET P/segments/{id} checks its query in the order
// of segments.md §2: expand's values, then an environmentId outside the
// token's list (403 E1029), then the segment (404 E1025), then
// expand=memberCount without environmentId, or with one that is not a
// live environment of the project (400 E1017). memberCount is in the
// answer when asked for, only then.
func TestSegmentGetChecks(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		gone, err := e.store.CreateEnvironment(t.Context(), e.a.ID, "gone")
		if err != nil {
			t.Fatal(err)
		}
		tok := e.token(e.a, "segment:read", e.a0, gone.ID)
		if err := e.store.DeleteEnvironment(t.Context(), e.a.ID, gone.ID); err != nil {
			t.Fatal(err)
		}
		id := e.builtIn(e.a, "user")
		item := func(id, query string) string { return p(e.a, "/segments/"+id+"?"+query) }
		for _, tt := range []struct {
			path   string
			status int
			code   string
		}{
			{item("nope", "expand=users&environmentId="+e.a1), 400, "E1017"},
			{item("nope", "expand=memberCount,users"), 400, "E1017"},
			{item("nope", "environmentId="+e.a1), 403, "E1029"},
			{item("nope", "expand=memberCount&environmentId="+e.b0), 403, "E1029"},
			{item("nope", "expand=memberCount"), 404, "E1025"},
			{item(id, "expand=memberCount"), 400, "E1017"},
			{item(id, "expand=memberCount&environmentId="), 400, "E1017"},
			{item(id, "expand=memberCount&environmentId="+gone.ID), 400, "E1017"},
			{item(id, "environmentId="+gone.ID), 200, ""},
			{item(id, "expand=memberCount&environmentId="+e.a0), 200, ""},
			{item(id, "expand[]=memberCount&environmentId="+e.a0), 200, ""},
		} {
			res := e.call("GET", tt.path, tok, "")
			if res.status != tt.status || res.code() != tt.code {
				t.Errorf("GET %s: %d %s, want %d %s; body %s", tt.path, res.status, res.code(), tt.status, tt.code, res.raw)
			}
			if _, ok := res.body["memberCount"]; ok != (res.status == 200 && strings.Contains(tt.path, "memberCount")) {
				t.Errorf("GET %s: memberCount %v: %s", tt.path, ok, res.raw)
			}
		}
		msg := e.call("GET", item(id, "expand=memberCount&environmentId="+gone.ID), tok, "").body["error"].(map[string]any)["message"]
		if msg != "Environment not found in this project" {
			t.Errorf("message %q", msg)
		}
	})
}

// TestSegmentWrites: the checks of POST, PATCH and DELETE in their order
// (the body first, then existence and state), PATCH {} changes nothing,
// and bizType and kind never change.
func TestSegmentWrites(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		e.define(e.a, segmentDefinitions...)
		tok := e.token(e.a, "segment:read,segment:create,segment:update,segment:delete", e.a0)
		all := e.builtIn(e.a, "company")
		post := func(body string) *response { return e.call("POST", p(e.a, "/segments"), tok, body) }
		cond := post(`{"name":"Cond","bizType":"user","kind":"condition","conditions":`+segmentConditions+`}`).want(t, 201)
		manual := post(`{"name":"Manual","bizType":"user","kind":"manual"}`).want(t, 201)
		for _, tt := range []struct {
			body, message string
		}{
			{`{"name":"x","bizType":"user","kind":"manual","conditions":[]}`, "A manual segment cannot carry `conditions` — its members are managed explicitly. Use kind \"condition\" for a filtered segment."},
			{`{"name":"x","bizType":"user","kind":"manual","conditions":null}`, "conditions must be an array"},
			{`{"name":"x","bizType":"user","kind":"all"}`, "kind must be one of the following values: condition, manual"},
			{`{"name":"x","bizType":"companyMembership","kind":"manual"}`, "bizType must be one of the following values: user, company"},
			{`{"name":"","bizType":"user","kind":"manual"}`, "name must not be empty"},
			{`{"name":"a\u0000","bizType":"user","kind":"manual"}`, "name must not contain NUL characters"},
			{`{"name":1,"bizType":"user","kind":"manual"}`, ""},
			{`{"bizType":"user","kind":"manual"}`, "name is required"},
			{`{"name":"x","bizType":"user"}`, "kind is required"},
			{`{"name":"x","kind":"manual","bizType":"user","id":"x","memberCount":3}`, `id: Unrecognized key: "id" | memberCount: Unrecognized key: "memberCount"`},
		} {
			res := post(tt.body)
			res.wantError(t, 400, "E1017")
			if msg := res.body["error"].(map[string]any)["message"]; tt.message != "" && msg != tt.message {
				t.Errorf("POST %s: message %q, want %q", tt.body, msg, tt.message)
			}
		}
		if blank := post(`{"name":"  ","bizType":"user","kind":"manual"}`).want(t, 201); blank["name"] != "  " {
			t.Errorf("a blank name: %v", blank)
		}

		item := func(sg map[string]any) string { return p(e.a, "/segments/"+sg["id"].(string)) }
		for _, tt := range []struct {
			path, body string
			status     int
			code       string
		}{
			{p(e.a, "/segments/nope"), `{"kind":"manual"}`, 400, "E1017"},
			{p(e.a, "/segments/nope"), `{"conditions":{}}`, 400, "E1017"},
			{p(e.a, "/segments/nope"), `{"conditions":[]}`, 404, "E1025"},
			{p(e.a, "/segments/"+all), `{"conditions":[]}`, 409, "E1037"},
			{p(e.a, "/segments/"+all), `{}`, 409, "E1037"},
			{item(manual), `{"conditions":[]}`, 400, "E1017"},
			{item(manual), `{"name":"x","conditions":[]}`, 400, "E1017"},
			{item(cond), `{"name":""}`, 400, "E1017"},
			{item(cond), `{"bizType":"company"}`, 400, "E1017"},
		} {
			res := e.call("PATCH", tt.path, tok, tt.body)
			if res.status != tt.status || res.code() != tt.code {
				t.Errorf("PATCH %s %s: %d %s, want %d %s; body %s", tt.path, tt.body, res.status, res.code(), tt.status, tt.code, res.raw)
			}
		}
		if got := e.call("GET", item(manual), tok, "").want(t, 200); got["name"] != "Manual" {
			t.Errorf("a refused PATCH changed the segment: %v", got)
		}
		if got := e.call("PATCH", item(cond), tok, `{}`).want(t, 200); fmt.Sprint(got) != fmt.Sprint(cond) {
			t.Errorf("PATCH {}: %v, was %v", got, cond)
		}
		got := e.call("PATCH", item(cond), tok, `{"name":"Renamed","conditions":[]}`).want(t, 200)
		if got["name"] != "Renamed" || fmt.Sprint(got["conditions"]) != "[]" || got["kind"] != "condition" || got["createdAt"] != cond["createdAt"] ||
			got["updatedAt"].(string) < cond["updatedAt"].(string) {
			t.Errorf("PATCH: %v, was %v", got, cond)
		}
		if again := e.call("GET", item(cond), tok, "").want(t, 200); fmt.Sprint(again) != fmt.Sprint(got) {
			t.Errorf("GET after PATCH: %v, want %v", again, got)
		}

		e.call("DELETE", p(e.a, "/segments/nope"), tok, "").wantError(t, 404, "E1025")
		e.call("DELETE", p(e.a, "/segments/"+all), tok, "").wantError(t, 409, "E1037")
		e.call("DELETE", item(manual), tok, "").want(t, 204)
		e.call("DELETE", item(manual), tok, "").wantError(t, 404, "E1025")
	})
}

// TestSegmentMembers: the member routes act on the path's environment:
// its users (companies) only; adding again or removing a non-member is
// 204; a deleted user is no member, nor is one made again with its id.
func TestSegmentMembers(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		all := e.all()
		tok := e.token(e.a, "segment:create,segment:update", e.a0, e.a1)
		for _, env := range []string{e.a0, e.a1} {
			e.call("PUT", en(e.a, env, "/users/bob"), all, "").want(t, 200)
		}
		e.call("PUT", en(e.a, e.a0, "/users/a%2Fb"), all, "").want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/acme"), all, "").want(t, 200)
		users := e.call("POST", p(e.a, "/segments"), tok, `{"name":"Users","bizType":"user","kind":"manual"}`).want(t, 201)["id"].(string)
		companies := e.call("POST", p(e.a, "/segments"), tok, `{"name":"Companies","bizType":"company","kind":"manual"}`).want(t, 201)["id"].(string)
		cond := e.call("POST", p(e.a, "/segments"), tok, `{"name":"Cond","bizType":"user","kind":"condition"}`).want(t, 201)["id"].(string)
		bSeg := e.call("POST", p(e.b, "/segments"), e.token(e.b, "segment:create", e.b0), `{"name":"B","bizType":"user","kind":"manual"}`).want(t, 201)["id"].(string)
		member := func(env, seg, id string) string { return en(e.a, env, "/segments/"+seg+"/members/"+id) }
		for _, tt := range []struct {
			method, path, body string
			status             int
			code               string
		}{
			{"PUT", member(e.a0, users, "bob"), "", 204, ""},
			{"PUT", member(e.a0, users, "bob"), `{"ignored":true}`, 204, ""},
			{"PUT", member(e.a1, users, "bob"), "", 204, ""},
			{"PUT", member(e.a0, users, "a%2Fb"), "", 204, ""},
			{"PUT", member(e.a0, companies, "acme"), "", 204, ""},
			{"PUT", member(e.a1, companies, "acme"), "", 404, "E1002"},
			{"PUT", member(e.a0, companies, "bob"), "", 404, "E1002"},
			{"PUT", member(e.a0, users, "acme"), "", 404, "E1001"},
			{"DELETE", member(e.a1, users, "nobody"), "", 404, "E1001"},
			{"PUT", member(e.a0, cond, "bob"), "", 400, "E1017"},
			{"DELETE", member(e.a0, e.builtIn(e.a, "user"), "bob"), "", 400, "E1017"},
			{"PUT", member(e.a0, bSeg, "bob"), "", 404, "E1025"},
			{"PUT", member(e.a0, "nope", "%20"), "", 400, "E1017"},
			{"PUT", member(e.a0, users, "bob"), "{", 400, "E1017"},
			{"DELETE", member(e.a1, users, "bob"), "", 204, ""},
			{"DELETE", member(e.a1, users, "bob"), "", 204, ""},
		} {
			res := e.call(tt.method, tt.path, tok, tt.body)
			if res.status != tt.status || res.code() != tt.code || tt.status == 204 && len(res.raw) != 0 {
				t.Errorf("%s %s %s: %d %s, want %d %s; body %s", tt.method, tt.path, tt.body, res.status, res.code(), tt.status, tt.code, res.raw)
			}
		}
		res := e.call("PUT", member(e.a0, companies, "bob"), tok, "")
		if msg := res.body["error"].(map[string]any)["message"]; msg != `Company not found — this is a COMPANY segment, and externalId "bob" does not exist among companies in this environment (to manage a user, target a user segment)` {
			t.Errorf("message %q", msg)
		}
		// A deleted user leaves the segment: its membership cannot be
		// removed any more (it is no user), and made again it is a new
		// user, whose removal finds nothing to remove.
		e.call("DELETE", en(e.a, e.a0, "/users/bob"), all, "").want(t, 204)
		e.call("DELETE", member(e.a0, users, "bob"), tok, "").wantError(t, 404, "E1001")
		e.call("PUT", en(e.a, e.a0, "/users/bob"), all, "").want(t, 200)
		e.call("DELETE", member(e.a0, users, "bob"), tok, "").want(t, 204)
	})
}
