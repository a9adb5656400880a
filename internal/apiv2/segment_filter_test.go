package apiv2_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// The definitions of the generated worlds of TestSegmentFilterMatch:
// legacy is deleted once the segments that name it are made.
var worldDefinitions = []string{
	"user plan string", "user seats number", "user beta boolean", "user tags list", "user seen datetime", "user legacy string",
	"company size number", "company industry string", "companyMembership role string",
}

// writeWorld writes a generated world to environment env of project a,
// through the store's v1 upserts, which keep values of the wrong type:
// users u00..u(n-1), companies c0..c7, and up to three memberships a user.
// Datetimes lie whole days and 6 hours from now, so that no relative
// condition changes its mind while a test runs.
func (e *env) writeWorld(rng *rand.Rand, env string, n int, now time.Time) {
	e.t.Helper()
	ctx := e.t.Context()
	tn := userdata.Tenant{ProjectID: e.a.ID, EnvironmentID: env}
	pick := func(vs ...any) any { return vs[rng.IntN(len(vs))] }
	attrs := func(m map[string]any) userdata.Attributes {
		raw, err := json.Marshal(m)
		if err != nil {
			e.t.Fatal(err)
		}
		var a userdata.Attributes
		if err := json.Unmarshal(raw, &a); err != nil {
			e.t.Fatal(err)
		}
		for k, v := range a {
			if v == nil {
				delete(a, k) // unset
			}
		}
		return a
	}
	day := func(k int) string {
		return now.AddDate(0, 0, k).Add(6 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	for i := range 8 {
		in := &userdata.CompanyUpsert{ExternalID: fmt.Sprintf("c%d", i), Attributes: attrs(map[string]any{
			"size":     pick(nil, 0, 3, 5, 10, 20, "10"),
			"industry": pick(nil, "saas", "retail", ""),
		})}
		if err := in.Validate(); err != nil {
			e.t.Fatal(err)
		}
		if _, _, err := e.store.UpsertCompany(ctx, tn, in); err != nil {
			e.t.Fatal(err)
		}
	}
	for i := range n {
		id := fmt.Sprintf("u%02d", i)
		in := &userdata.UserUpsert{ExternalID: id, Attributes: attrs(map[string]any{
			"plan":   pick(nil, "pro", "free", "", 5),
			"seats":  pick(nil, 0, 3, 4, 5, 8, 12, "7"),
			"beta":   pick(nil, true, false, "yes"),
			"tags":   pick(nil, []string{"a"}, []string{"a", "b"}, []string{"b", "c"}, []string{}, "a"),
			"seen":   pick(nil, day(-10), day(-5), day(-2), day(1), day(4), "yesterday"),
			"legacy": pick(nil, "x"),
		})}
		if err := in.Validate(); err != nil {
			e.t.Fatal(err)
		}
		if _, _, err := e.store.UpsertUser(ctx, tn, in); err != nil {
			e.t.Fatal(err)
		}
		for _, c := range rng.Perm(8)[:rng.IntN(4)] {
			m := attrs(map[string]any{"role": pick(nil, "admin", "member")})
			if _, err := e.store.UpsertMembership(ctx, tn, fmt.Sprintf("c%d", c), id, m); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// worldLeaves are the leaves trees are made of, on every scope, with the
// unset and wrong-typed values of the world on both sides of them.
func worldLeaves(now time.Time) []string {
	date := now.AddDate(0, 0, -3).Format(time.DateOnly)
	leaf := func(scope, attr, op, rest string) string {
		return fmt.Sprintf(`{"type":"attribute","scope":%q,"attribute":%q,"op":%q%s}`, scope, attr, op, rest)
	}
	return []string{
		leaf("user", "plan", "is", `,"value":"pro"`), leaf("user", "plan", "not", `,"value":"pro"`),
		leaf("user", "plan", "any", ""), leaf("user", "plan", "empty", ""), leaf("user", "plan", "contains", `,"value":"r"`),
		leaf("user", "seats", "gt", `,"value":"4"`), leaf("user", "seats", "between", `,"value":"3","value2":"8"`),
		leaf("user", "seats", "not", `,"value":"4"`), leaf("user", "seats", "empty", ""),
		leaf("user", "beta", "true", ""), leaf("user", "beta", "false", ""), leaf("user", "beta", "any", ""),
		leaf("user", "tags", "includes_any", `,"values":["a","x"]`), leaf("user", "tags", "includes_all", `,"values":["a","b"]`),
		leaf("user", "tags", "not_includes_any", `,"values":["a","b"]`), leaf("user", "tags", "not_includes_all", `,"values":["a"]`),
		leaf("user", "tags", "empty", ""),
		leaf("user", "seen", "less_than", `,"value":"3"`), leaf("user", "seen", "more_than", `,"value":"4"`),
		leaf("user", "seen", "before", `,"value":"`+date+`"`), leaf("user", "seen", "after", `,"value":"`+date+`"`),
		leaf("user", "seen", "empty", ""),
		leaf("company", "size", "gte", `,"value":"10"`), leaf("company", "size", "lt", `,"value":"5"`), leaf("company", "size", "empty", ""),
		leaf("company", "industry", "is", `,"value":"saas"`), leaf("company", "industry", "not", `,"value":"saas"`),
		leaf("companyMembership", "role", "is", `,"value":"admin"`), leaf("companyMembership", "role", "not", `,"value":"admin"`),
		leaf("companyMembership", "role", "any", ""),
	}
}

// randomTree returns a tree of one to three elements, each a leaf or a
// group of one to three leaves.
func randomTree(rng *rand.Rand, leaves []string) string {
	var elems []string
	for range 1 + rng.IntN(3) {
		if rng.IntN(2) == 0 {
			elems = append(elems, leaves[rng.IntN(len(leaves))])
			continue
		}
		var kids []string
		for range 1 + rng.IntN(3) {
			kids = append(kids, leaves[rng.IntN(len(leaves))])
		}
		elems = append(elems, fmt.Sprintf(`{"type":"group","match":%q,"conditions":[%s]}`, []string{"all", "any"}[rng.IntN(2)], strings.Join(kids, ",")))
	}
	return "[" + strings.Join(elems, ",") + "]"
}

// wireEntity is a user or company as a list expanded with memberships and
// their other side answers it.
type wireEntity struct {
	ID          string          `json:"id"`
	Attributes  json.RawMessage `json:"attributes"`
	Memberships []struct {
		Attributes json.RawMessage `json:"attributes"`
		Company    *wireEntity     `json:"company"`
		User       *wireEntity     `json:"user"`
	} `json:"memberships"`
}

// walk follows the next links of a list from path and returns the ids of
// its rows in order, checking that each next link keeps keep.
func (e *env) walk(path, token, keep string) []string {
	e.t.Helper()
	var ids []string
	for pages := 0; path != ""; pages++ {
		if pages > 1000 {
			e.t.Fatalf("%s: no end", path)
		}
		res := e.call("GET", path, token, "")
		res.want(e.t, 200)
		var page struct {
			Results []wireEntity `json:"results"`
			Next    *string      `json:"next"`
		}
		if err := json.Unmarshal(res.raw, &page); err != nil {
			e.t.Fatal(err)
		}
		for _, r := range page.Results {
			ids = append(ids, r.ID)
		}
		path = ""
		if page.Next != nil {
			path = *page.Next
			if !strings.Contains(path, keep) {
				e.t.Fatalf("next link %s drops %s", path, keep)
			}
		}
	}
	return ids
}

// entities reads back the users (list "users") or companies of env, as
// Match reads them.
func (e *env) entities(env, list, token string) map[string]segment.Entity {
	e.t.Helper()
	expand := "memberships.company"
	if list == "companies" {
		expand = "memberships.user"
	}
	res := e.call("GET", en(e.a, env, "/"+list+"?limit=100&expand="+expand), token, "")
	res.want(e.t, 200)
	var page struct {
		Results []wireEntity `json:"results"`
		Next    *string      `json:"next"`
	}
	if err := json.Unmarshal(res.raw, &page); err != nil {
		e.t.Fatal(err)
	}
	if page.Next != nil {
		e.t.Fatalf("more than 100 %s", list)
	}
	out := map[string]segment.Entity{}
	for _, r := range page.Results {
		ent := segment.Entity{Attributes: r.Attributes}
		for _, m := range r.Memberships {
			other := m.Company
			if other == nil {
				other = m.User
			}
			ent.Memberships = append(ent.Memberships, segment.Membership{Attributes: m.Attributes, Other: other.Attributes})
		}
		out[r.ID] = ent
	}
	return out
}

// TestSegmentFilterMatch: on generated worlds in two environments, the
// users and companies lists with segmentId select exactly what
// segment.Match selects (every row for a built-in segment, the members of
// a manual one in that environment), page after page, and so they do
// with the conditions parameter, alone and ANDed with segmentId; and
// memberCount is the number of rows the walk returns (segments.md §4,
// §6). The segment package's property tests hold the SQL to Match; this
// one holds the wiring: the filters, paging, members, environments.
func TestSegmentFilterMatch(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		e.define(e.a, worldDefinitions...)
		rng := rand.New(rand.NewPCG(13, 4))
		now := time.Now().UTC()
		envs := []string{e.a0, e.a1}
		for i, env := range envs {
			e.writeWorld(rng, env, 40+10*i, now)
		}
		tok := e.all()
		leaves := worldLeaves(now)
		legacy := `{"type":"attribute","scope":"user","attribute":"legacy","op":"is","value":"x"}`
		type seg struct {
			id, kind string
			tree     string                     // condition segments'
			members  map[string]map[string]bool // manual segments': by environment
		}
		segs := map[string][]seg{}
		for _, biz := range []string{"user", "company"} {
			segs[biz] = append(segs[biz], seg{id: e.builtIn(e.a, biz), kind: "all"})
			trees := []string{"[]", "[" + legacy + "]", "[" + legacy + "," + leaves[0] + "]"}
			for range 10 {
				trees = append(trees, randomTree(rng, leaves))
			}
			for _, tree := range trees {
				body := fmt.Sprintf(`{"name":"c","bizType":%q,"kind":"condition","conditions":%s}`, biz, tree)
				id := e.call("POST", p(e.a, "/segments"), tok, body).want(t, 201)["id"].(string)
				segs[biz] = append(segs[biz], seg{id: id, kind: "condition", tree: tree})
			}
			id := e.call("POST", p(e.a, "/segments"), tok, fmt.Sprintf(`{"name":"m","bizType":%q,"kind":"manual"}`, biz)).want(t, 201)["id"].(string)
			members := map[string]map[string]bool{}
			list := map[string]string{"user": "users", "company": "companies"}[biz]
			for _, env := range envs {
				members[env] = map[string]bool{}
				for ext := range e.entities(env, list, tok) {
					if rng.IntN(3) == 0 {
						e.call("PUT", en(e.a, env, "/segments/"+id+"/members/"+ext), tok, "").want(t, 204)
						members[env][ext] = true
					}
				}
			}
			segs[biz] = append(segs[biz], seg{id: id, kind: "manual", members: members})
		}
		// The legacy leaves become unevaluable: a tree of it alone matches
		// nobody, and it drops out of the others.
		if err := e.store.DeleteAttributeDefinition(t.Context(), e.a.ID, e.attributeID(e.a, userdata.ScopeUser, "legacy")); err != nil {
			t.Fatal(err)
		}
		defs := e.definitions(e.a)

		for _, biz := range []string{"user", "company"} {
			list, scope := "users", userdata.ScopeUser
			if biz == "company" {
				list, scope = "companies", userdata.ScopeCompany
			}
			for _, env := range envs {
				ents := e.entities(env, list, tok)
				matching := func(tree string) map[string]bool {
					out := map[string]bool{}
					conds, err := segment.Parse(json.RawMessage(tree))
					if err != nil {
						t.Fatal(err)
					}
					for id, ent := range ents {
						if segment.Match(conds, defs, scope, ent, now) {
							out[id] = true
						}
					}
					return out
				}
				for i, sg := range segs[biz] {
					want := map[string]bool{}
					switch sg.kind {
					case "all":
						for id := range ents {
							want[id] = true
						}
					case "manual":
						want = sg.members[env]
					default:
						want = matching(sg.tree)
					}
					base := en(e.a, env, "/"+list+"?limit=7&segmentId="+sg.id)
					got := e.walk(base, tok, "segmentId="+sg.id)
					checkSelected(t, fmt.Sprintf("%s %s segment %d (%s) in %s", biz, sg.kind, i, sg.tree, env), got, want)
					count := e.call("GET", p(e.a, "/segments/"+sg.id+"?expand=memberCount&environmentId="+env), tok, "").want(t, 200)["memberCount"]
					if count != float64(len(got)) {
						t.Errorf("%s %s segment %d in %s: memberCount %v, the list walks %d", biz, sg.kind, i, env, count, len(got))
					}
					// ANDed with ad-hoc conditions, newest first.
					extra := randomTree(rng, leaves)
					and := matching(extra)
					for id := range and {
						if !want[id] {
							delete(and, id)
						}
					}
					got = e.walk(base+"&orderBy=-createdAt&conditions="+url.QueryEscape(extra), tok, "conditions=")
					checkSelected(t, fmt.Sprintf("%s %s segment %d (%s) and conditions %s in %s", biz, sg.kind, i, sg.tree, extra, env), got, and)
				}
				extra := randomTree(rng, leaves)
				got := e.walk(en(e.a, env, "/"+list+"?limit=5&conditions="+url.QueryEscape(extra)), tok, "conditions=")
				checkSelected(t, fmt.Sprintf("%s conditions %s in %s", list, extra, env), got, matching(extra))
			}
		}
	})
}

// checkSelected checks that a walk returned the rows of want, each once.
func checkSelected(t *testing.T, what string, got []string, want map[string]bool) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(got))
	wantIDs := slices.Sorted(func(yield func(string) bool) {
		for id := range want {
			if !yield(id) {
				return
			}
		}
	})
	if !slices.Equal(sorted, wantIDs) {
		t.Errorf("%s: the list walks %q, want %q", what, sorted, wantIDs)
	}
}

// attributeID returns the id of project's definition of codeName in scope.
func (e *env) attributeID(project *userdata.Project, scope userdata.Scope, codeName string) string {
	e.t.Helper()
	for _, d := range e.listDefinitions(project) {
		if d.Scope == scope && d.CodeName == codeName {
			return d.ID
		}
	}
	e.t.Fatalf("no %s definition %s", scope, codeName)
	return ""
}

// definitions returns project's live definitions, as segment conditions
// read them.
func (e *env) definitions(project *userdata.Project) segment.DefinitionMap {
	return segment.NewDefinitionMap(e.listDefinitions(project))
}

func (e *env) listDefinitions(project *userdata.Project) []*userdata.AttributeDefinition {
	e.t.Helper()
	var out []*userdata.AttributeDefinition
	f := userdata.AttributeDefinitionFilter{PageRequest: userdata.PageRequest{Limit: 100, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt}}}}
	for {
		l, err := e.store.ListAttributeDefinitions(e.t.Context(), userdata.Tenant{ProjectID: project.ID}, f)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			return out
		}
		f.Cursor = l.NextCursor
	}
}

// segmentFilterEnv is a server whose environment a0 holds users u1 (plan
// pro, e-mail u1@example.com, a member of acme), u2 (plan free) and u3
// (no plan), and companies acme and zeta; a1 holds a user u1 of its own.
// It returns the server and a token of every scope.
func segmentFilterEnv(t *testing.T, b backendtest.Backend) (*env, string) {
	t.Helper()
	e := newEnv(t, b, noLimits)
	e.define(e.a, "user plan string", "company size number")
	tok := e.all()
	for _, u := range []struct{ id, body string }{
		{"u1", `{"attributes":{"plan":"pro","email":"u1@example.com"}}`}, {"u2", `{"attributes":{"plan":"free"}}`}, {"u3", ""},
	} {
		e.call("PUT", en(e.a, e.a0, "/users/"+u.id), tok, u.body).want(t, 200)
	}
	e.call("PUT", en(e.a, e.a1, "/users/u1"), tok, `{"attributes":{"plan":"pro"}}`).want(t, 200)
	e.call("PUT", en(e.a, e.a0, "/companies/acme"), tok, `{"attributes":{"size":10}}`).want(t, 200)
	e.call("PUT", en(e.a, e.a0, "/companies/zeta"), tok, `{"attributes":{"size":1}}`).want(t, 200)
	e.call("PUT", en(e.a, e.a0, "/companies/acme/memberships/u1"), tok, "").want(t, 200)
	return e, tok
}

// newSegment creates a segment of project a from a body and returns its
// id.
func (e *env) newSegment(token, body string) string {
	e.t.Helper()
	return e.call("POST", p(e.a, "/segments"), token, body).want(e.t, 201)["id"].(string)
}

// TestSegmentFilterChecks: segmentId needs only user:read (company:read);
// an id that is not a segment of the project is 404 E1025, one of the
// other bizType 400 E1017, an empty one no filter; conditions are
// validated as a segment's (400 E1017), before the segment is looked up;
// both AND with the other filters.
func TestSegmentFilterChecks(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e, tok := segmentFilterEnv(t, b)
		manual := e.newSegment(tok, `{"name":"m","bizType":"user","kind":"manual"}`)
		e.call("PUT", en(e.a, e.a0, "/segments/"+manual+"/members/u1"), tok, "").want(t, 204)
		e.call("PUT", en(e.a, e.a0, "/segments/"+manual+"/members/u2"), tok, "").want(t, 204)
		free := e.newSegment(tok, `{"name":"free","bizType":"user","kind":"condition","conditions":[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"free"}]}`)
		big := e.newSegment(tok, `{"name":"big","bizType":"company","kind":"condition","conditions":[{"type":"attribute","scope":"company","attribute":"size","op":"gte","value":"5"}]}`)
		theirs := e.call("POST", p(e.b, "/segments"), e.token(e.b, "segment:create", e.b0), `{"name":"b","bizType":"user","kind":"manual"}`).want(t, 201)["id"].(string)
		read := e.token(e.a, "user:read,company:read", e.a0)
		pro := url.QueryEscape(`[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"}]`)
		users, companies := en(e.a, e.a0, "/users?"), en(e.a, e.a0, "/companies?")
		for _, tt := range []struct {
			path   string
			status int
			code   string
			ids    []string
		}{
			{users + "segmentId=" + manual, 200, "", []string{"u1", "u2"}},
			{users + "segmentId=" + free, 200, "", []string{"u2"}},
			{users + "segmentId=", 200, "", []string{"u1", "u2", "u3"}},
			{users + "conditions=", 200, "", []string{"u1", "u2", "u3"}},
			{users + "conditions=" + pro, 200, "", []string{"u1"}},
			{users + "segmentId=" + manual + "&conditions=" + pro, 200, "", []string{"u1"}},
			{users + "segmentId=" + free + "&conditions=" + pro, 200, "", nil},
			{users + "segmentId=" + manual + "&email=u1@example.com", 200, "", []string{"u1"}},
			{users + "segmentId=" + free + "&companyId=acme", 200, "", nil},
			{users + "segmentId=" + manual + "&companyId=acme", 200, "", []string{"u1"}},
			{users + "segmentId=" + manual + "&createdAfter=2999-01-01", 200, "", nil},
			{companies + "segmentId=" + big, 200, "", []string{"acme"}},
			{companies + "conditions=" + pro, 200, "", []string{"acme"}},
			{users + "segmentId=nope", 404, "E1025", nil},
			{users + "segmentId=" + theirs, 404, "E1025", nil},
			{companies + "segmentId=" + manual, 400, "E1017", nil},
			{users + "segmentId=" + big, 400, "E1017", nil},
			{users + "segmentId=" + manual + "&segmentId=" + free, 400, "E1017", nil},
			{users + "segmentId=nope&limit=0", 400, "E1017", nil},
			{users + "segmentId=nope&conditions=%5B%5D%5D", 400, "E1017", nil},
			{users + "conditions=" + url.QueryEscape(`{}`), 400, "E1017", nil},
			{users + "conditions=" + url.QueryEscape(`[{"type":"event","event":"x"}]`), 400, "E1017", nil},
			{users + "conditions=" + url.QueryEscape(`[{"type":"attribute","scope":"user","attribute":"nosuch","op":"any"}]`), 400, "E1017", nil},
			{users + "conditions=" + url.QueryEscape(`[{"type":"attribute","scope":"user","attribute":"plan","op":"gt","value":"1"}]`), 400, "E1017", nil},
		} {
			res := e.call("GET", tt.path, read, "")
			if res.status != tt.status || res.code() != tt.code {
				t.Errorf("GET %s: %d %s, want %d %s; body %s", tt.path, res.status, res.code(), tt.status, tt.code, res.raw)
				continue
			}
			if tt.status != 200 {
				continue
			}
			if got := field(results(t, res.body), "id"); !slices.Equal(slices.Sorted(slices.Values(got)), tt.ids) {
				t.Errorf("GET %s: %q, want %q", tt.path, got, tt.ids)
			}
		}
		msg := e.call("GET", users+"segmentId="+big, read, "").body["error"].(map[string]any)["message"]
		if msg != "segment "+big+" is a company segment; the users list takes a user segment" {
			t.Errorf("message %q", msg)
		}
		res := e.call("GET", users+"conditions="+url.QueryEscape(`[{"type":"attribute","scope":"user","attribute":"nosuch","op":"any"}]`), read, "")
		if msg := res.body["error"].(map[string]any)["message"]; msg != `Invalid segment conditions: conditions[0]: references an unknown attribute: the project has no user attribute "nosuch"` {
			t.Errorf("message %q", msg)
		}
	})
}

// TestSegmentConditionWrites: conditions are parsed strictly and
// validated against the project's live definitions on POST and PATCH,
// PATCH in the order of segments.md §2; they are stored as written (in
// the canonical key order) and read back with the leaves that can no
// longer be evaluated as unsupported conditions, which cannot be written
// back.
func TestSegmentConditionWrites(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e, tok := segmentFilterEnv(t, b)
		e.define(e.a, "user tier string", "companyMembership role string")
		post := func(conds string) *response {
			return e.call("POST", p(e.a, "/segments"), tok, `{"name":"c","bizType":"user","kind":"condition","conditions":`+conds+`}`)
		}
		for _, tt := range []struct{ conds, message string }{
			{`[{"type":"attribute","scope":"user","attribute":"nosuch","op":"is","value":"x"}]`,
				`Invalid segment conditions: conditions[0]: references an unknown attribute: the project has no user attribute "nosuch"`},
			{`[{"type":"attribute","scope":"company","attribute":"plan","op":"is","value":"x"}]`,
				`Invalid segment conditions: conditions[0]: references an unknown attribute: the project has no company attribute "plan"`},
			{`[{"type":"attribute","scope":"company","attribute":"size","op":"contains","value":"1"}]`,
				`Invalid segment conditions: conditions[0]: operator "contains" is not valid for the company attribute "size" of type number; use one of: is, not, lt, lte, gt, gte, between, any, empty`},
			{`[{"type":"group","match":"all","conditions":[]}]`, ""},
			{`[{"type":"attribute","scope":"user","attribute":"plan","op":"is"}]`, ""},
			{`[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":1}]`, ""},
			{`[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"x","extra":1}]`, ""},
			{`[{"type":"segment","segment":"x"}]`, ""},
			{`[{"type":"unsupported","note":"x"}]`, ""},
		} {
			res := post(tt.conds)
			res.wantError(t, 400, "E1017")
			if msg := res.body["error"].(map[string]any)["message"]; tt.message != "" && msg != tt.message {
				t.Errorf("POST %s: message %q, want %q", tt.conds, msg, tt.message)
			}
		}
		written := `[ {"value":"pro","op":"is","attribute":"plan","scope":"user","type":"attribute"},
			{"conditions":[{"type":"attribute","scope":"companyMembership","attribute":"role","op":"any"}],"match":"any","type":"group"},
			{"type":"attribute","scope":"user","attribute":"tier","op":"not","value":"gold"} ]`
		canonical := `[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"},` +
			`{"type":"group","match":"any","conditions":[{"type":"attribute","scope":"companyMembership","attribute":"role","op":"any"}]},` +
			`{"type":"attribute","scope":"user","attribute":"tier","op":"not","value":"gold"}]`
		id := post(written).want(t, 201)["id"].(string)
		conditionsOf := func(id string) string {
			var sg struct{ Conditions json.RawMessage }
			if err := json.Unmarshal(e.call("GET", p(e.a, "/segments/"+id), tok, "").raw, &sg); err != nil {
				t.Fatal(err)
			}
			return string(sg.Conditions)
		}
		if got := conditionsOf(id); got != canonical {
			t.Errorf("conditions read back %s, want %s", got, canonical)
		}

		// PATCH: 404, then 409, then a segment that is not a condition
		// segment, then the conditions.
		manual := e.newSegment(tok, `{"name":"m","bizType":"user","kind":"manual"}`)
		bad := `{"conditions":[{"type":"attribute","scope":"user","attribute":"nosuch","op":"any"}]}`
		e.call("PATCH", p(e.a, "/segments/nope"), tok, bad).wantError(t, 404, "E1025")
		e.call("PATCH", p(e.a, "/segments/"+e.builtIn(e.a, "user")), tok, bad).wantError(t, 409, "E1037")
		res := e.call("PATCH", p(e.a, "/segments/"+manual), tok, bad)
		res.wantError(t, 400, "E1017")
		if msg := res.body["error"].(map[string]any)["message"]; msg != "Conditions can only be set on a condition segment." {
			t.Errorf("PATCH conditions of a manual segment: %q", msg)
		}
		res = e.call("PATCH", p(e.a, "/segments/"+id), tok, bad)
		res.wantError(t, 400, "E1017")
		if msg := res.body["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, "Invalid segment conditions: conditions[0]: references an unknown attribute") {
			t.Errorf("PATCH invalid conditions: %q", msg)
		}
		if got := conditionsOf(id); got != canonical {
			t.Errorf("a refused PATCH changed the conditions: %s", got)
		}

		// A deleted definition, and a retype that leaves an operator that
		// does not fit, make their leaves unsupported on reads, which
		// cannot be written back; the segment evaluates without them.
		if err := e.store.DeleteAttributeDefinition(t.Context(), e.a.ID, e.attributeID(e.a, userdata.ScopeUser, "plan")); err != nil {
			t.Fatal(err)
		}
		e.call("PATCH", p(e.a, "/attribute-definitions/"+e.attributeID(e.a, userdata.ScopeUser, "tier")), tok, `{"dataType":"number"}`).want(t, 200)
		var sg struct {
			Conditions []map[string]any `json:"conditions"`
		}
		readBack := e.call("GET", p(e.a, "/segments/"+id), tok, "")
		if err := json.Unmarshal(readBack.raw, &sg); err != nil {
			t.Fatal(err)
		}
		if len(sg.Conditions) != 3 || sg.Conditions[0]["type"] != "unsupported" || sg.Conditions[1]["type"] != "group" || sg.Conditions[2]["type"] != "unsupported" ||
			!strings.Contains(sg.Conditions[0]["note"].(string), `deleted attribute (user "plan")`) ||
			!strings.Contains(sg.Conditions[2]["note"].(string), `no longer fits its attribute (user "tier", op "not")`) {
			t.Errorf("read back after a deletion and a retype: %s", readBack.raw)
		}
		listed := results(t, e.call("GET", p(e.a, "/segments?bizType=user&limit=100"), tok, "").want(t, 200))
		if got, _ := json.Marshal(find(listed, "id", id)["conditions"]); !strings.Contains(string(got), `"type":"unsupported"`) {
			t.Errorf("listed: %s", got)
		}
		echo, _ := json.Marshal(map[string]any{"conditions": sg.Conditions})
		res = e.call("PATCH", p(e.a, "/segments/"+id), tok, string(echo))
		res.wantError(t, 400, "E1017")
		if msg := res.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "cannot be written back") {
			t.Errorf("PATCH of the read-back: %q", msg)
		}
		// u1 is the only member of a company (role unset: any is false).
		if got := e.walk(en(e.a, e.a0, "/users?segmentId="+id), tok, ""); len(got) != 0 {
			t.Errorf("members %q, want none (no membership has a role)", got)
		}
		e.call("PUT", en(e.a, e.a0, "/companies/acme/memberships/u1"), tok, `{"attributes":{"role":"admin"}}`).want(t, 200)
		if got := e.walk(en(e.a, e.a0, "/users?segmentId="+id), tok, ""); !slices.Equal(got, []string{"u1"}) {
			t.Errorf("members %q, want u1", got)
		}

		// Conditions stored before they were checked, which do not parse,
		// read back as one unsupported condition and match nobody.
		legacy := userdata.SegmentInput{Name: "legacy", BizType: userdata.ScopeUser, Kind: userdata.SegmentCondition,
			Conditions: json.RawMessage(`[{"type":"weird-legacy-type","operators":"and","data":{}}]`)}
		old, err := e.store.CreateSegment(t.Context(), e.a.ID, &legacy)
		if err != nil {
			t.Fatal(err)
		}
		got := e.call("GET", p(e.a, "/segments/"+old.ID+"?expand=memberCount&environmentId="+e.a0), tok, "").want(t, 200)
		conds, _ := got["conditions"].([]any)
		if len(conds) != 1 || conds[0].(map[string]any)["type"] != "unsupported" || got["memberCount"] != 0.0 {
			t.Errorf("legacy conditions read back as %v, memberCount %v", got["conditions"], got["memberCount"])
		}
	})
}

// TestV1SegmentFilter: GET /v1/users?segmentId= evaluates a user segment
// of the key's project as v2 does, in either order; an unknown id,
// another project's segment or a company segment filters nothing (v1.md
// §7.1); the next link keeps it.
func TestV1SegmentFilter(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e, tok := segmentFilterEnv(t, b)
		manual := e.newSegment(tok, `{"name":"m","bizType":"user","kind":"manual"}`)
		for _, id := range []string{"u1", "u3"} {
			e.call("PUT", en(e.a, e.a0, "/segments/"+manual+"/members/"+id), tok, "").want(t, 204)
		}
		e.call("PUT", en(e.a, e.a1, "/segments/"+manual+"/members/u1"), tok, "").want(t, 204)
		pro := e.newSegment(tok, `{"name":"pro","bizType":"user","kind":"condition","conditions":[{"type":"attribute","scope":"company","attribute":"size","op":"gt","value":"5"}]}`)
		company := e.newSegment(tok, `{"name":"c","bizType":"company","kind":"manual"}`)
		theirs := e.call("POST", p(e.b, "/segments"), e.token(e.b, "segment:create", e.b0), `{"name":"b","bizType":"user","kind":"manual"}`).want(t, 201)["id"].(string)
		key := e.key()
		all := []string{"u1", "u2", "u3"}
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"segmentId=" + manual, []string{"u1", "u3"}},
			{"segmentId=" + manual + "&orderBy=-createdAt", []string{"u3", "u1"}},
			{"segmentId=" + manual + "&limit=1", []string{"u1"}},
			{"segmentId=" + pro, []string{"u1"}},
			{"segmentId=" + e.builtIn(e.a, "user"), all},
			{"segmentId=" + company, all},
			{"segmentId=" + theirs, all},
			{"segmentId=nope", all},
			{"segmentId=", all},
		} {
			res := e.call("GET", "/v1/users?"+tt.query, key, "")
			body := res.want(t, 200)
			if got := field(results(t, body), "id"); !slices.Equal(got, tt.want) {
				t.Errorf("GET /v1/users?%s: %q, want %q", tt.query, got, tt.want)
			}
			if next, _ := body["next"].(string); next != "" && !strings.Contains(next, "segmentId="+manual) {
				t.Errorf("GET /v1/users?%s: next %q", tt.query, next)
			}
		}
		e.call("GET", "/v1/users?segmentId=a&segmentId=b", key, "").wantError(t, 400, "E1017")
	})
}
