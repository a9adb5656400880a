package httpapi_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
)

// seedUsers creates n users u0..u(n-1), oldest first.
func seedUsers(t *testing.T, e *env, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		id := fmt.Sprintf("u%d", i)
		e.do("POST", "/v1/users", fmt.Sprintf(`{"id":%q,"attributes":{"email":"%s@example.com"}}`, id, id)).want(t, 201)
		out = append(out, id)
	}
	return out
}

// cursorOf pulls the cursor out of a link the way clients do.
func cursorOf(t *testing.T, link any) string {
	t.Helper()
	s, ok := link.(string)
	if !ok {
		t.Fatalf("link %v is not a string", link)
	}
	q, err := url.ParseQuery(strings.SplitN(s, "?", 2)[1])
	if err != nil {
		t.Fatal(err)
	}
	return q.Get("cursor")
}

func TestPaginationWalk(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		all := seedUsers(t, e, 7)
		// Forward with next links, remembering each page.
		var pages [][]string
		var bodies []map[string]any
		link := "/v1/users?limit=3"
		for link != "" {
			body := e.do("GET", link, "").want(t, 200)
			if keys(body) != "next,previous,results" {
				t.Fatalf("list keys %s", keys(body))
			}
			pages = append(pages, ids(t, body))
			bodies = append(bodies, body)
			link, _ = body["next"].(string)
		}
		if diff := cmp.Diff([][]string{all[0:3], all[3:6], all[6:7]}, pages); diff != "" {
			t.Fatalf("pages (-want +got):\n%s", diff)
		}
		if bodies[0]["previous"] != nil {
			t.Errorf("first page previous = %v", bodies[0]["previous"])
		}
		if bodies[1]["previous"] != "/v1/users?limit=3" {
			t.Errorf("second page previous = %v, want the first page link", bodies[1]["previous"])
		}
		// Backward from the last page with previous links.
		back := ids(t, e.do("GET", bodies[2]["previous"].(string), "").want(t, 200))
		if diff := cmp.Diff(all[3:6], back); diff != "" {
			t.Errorf("previous of the last page (-want +got):\n%s", diff)
		}
		if next := bodies[1]["next"].(string); next != "/v1/users?limit=3&cursor="+cursorOf(t, next) {
			t.Errorf("next link %q", next)
		}
		// A cursor at the last row selects an empty page: 400 E1007.
		newest := cursorOf(t, e.do("GET", "/v1/users?orderBy=-createdAt&limit=1", "").want(t, 200)["next"])
		oldest := cursorOf(t, e.do("GET", "/v1/users?limit=1", "").want(t, 200)["next"])
		e.do("GET", "/v1/users?cursor="+newest, "").wantError(t, 400, "E1007")
		e.do("GET", "/v1/users?orderBy=-createdAt&cursor="+oldest, "").wantError(t, 400, "E1007")
		if got := ids(t, e.do("GET", "/v1/users?orderBy=-createdAt&cursor="+newest, "").want(t, 200)); len(got) != 6 {
			t.Errorf("after the newest, descending: %v", got)
		}
		for _, c := range []string{"nope", "u1"} {
			e.do("GET", "/v1/users?cursor="+c, "").wantError(t, 400, "E1007")
		}
		// Descending order.
		desc := e.do("GET", "/v1/users?orderBy=-createdAt&limit=4", "").want(t, 200)
		if diff := cmp.Diff([]string{"u6", "u5", "u4", "u3"}, ids(t, desc)); diff != "" {
			t.Errorf("-createdAt (-want +got):\n%s", diff)
		}
		rest := e.do("GET", desc["next"].(string), "").want(t, 200)
		if diff := cmp.Diff([]string{"u2", "u1", "u0"}, ids(t, rest)); diff != "" {
			t.Errorf("-createdAt page 2 (-want +got):\n%s", diff)
		}
		if rest["next"] != nil || rest["previous"] != "/v1/users?orderBy=-createdAt&limit=4" {
			t.Errorf("-createdAt page 2 links: next %v previous %v", rest["next"], rest["previous"])
		}
		// Empty list.
		empty := e.call("GET", "/v1/users", "Bearer "+e.newKey("default", "empty"), "").want(t, 200)
		if diff := cmp.Diff(map[string]any{"results": []any{}, "next": nil, "previous": nil}, empty); diff != "" {
			t.Errorf("empty list (-want +got):\n%s", diff)
		}
	})
}

// The link format of §5.4, with the reference examples.
func TestLinkFormat(t *testing.T) {
	e := newEnv(t, backendtest.SQLite)
	seedUsers(t, e, 25)
	for _, tt := range []struct{ request, next string }{
		{"/v1/users?limit=2", "/v1/users?limit=2&cursor={C}"},
		{"/v1/users", "/v1/users?cursor={C}&limit=20"},
		{"/v1/users?expand[]=companies", "/v1/users?cursor={C}&limit=20&expand%5B%5D=companies"},
		{"/v1/users?expand%5B%5D=companies", "/v1/users?cursor={C}&limit=20&expand%5B%5D=companies"},
		{"/v1/users?expand=companies", "/v1/users?expand=companies&cursor={C}&limit=20"},
		{"/v1/users?expand=companies,memberships", "/v1/users?expand=companies%2Cmemberships&cursor={C}&limit=20"},
		{"/v1/users?expand=companies&expand=memberships&limit=3", "/v1/users?limit=3&cursor={C}&expand%5B%5D=companies&expand%5B%5D=memberships"},
		{"/v1/users?expand[0]=memberships.company", "/v1/users?cursor={C}&limit=20&expand%5B%5D=memberships.company"},
		{"/v1/users?foo=a+b&limit=2&x=%40&e=%C3%A9", "/v1/users?foo=a+b&limit=2&x=%40&e=%C3%A9&cursor={C}"},
		{"/v1/users?orderBy=createdAt&segmentId=s1&companyId=", "/v1/users?orderBy=createdAt&segmentId=s1&companyId=&cursor={C}&limit=20"},
		{"/v1/event-definitions?limit=4&orderBy=createdAt", "/v1/event-definitions?limit=4&orderBy=createdAt&cursor={C}"},
		{"/v1/attribute-definitions?expand[]=x&limit=3", "/v1/attribute-definitions?expand%5B%5D=x&limit=3&cursor={C}"},
	} {
		body := e.do("GET", tt.request, "").want(t, 200)
		next, _ := body["next"].(string)
		want := strings.Replace(tt.next, "{C}", cursorOf(t, body["next"]), 1)
		if next != want {
			t.Errorf("GET %s: next\n got %s\nwant %s", tt.request, next, want)
		}
	}
	// Page 2 whose previous page is short links to the first page.
	p1 := e.do("GET", "/v1/users?limit=2&expand=companies", "").want(t, 200)
	p2 := e.do("GET", p1["next"].(string), "").want(t, 200)
	if p2["previous"] != "/v1/users?limit=2&expand=companies" {
		t.Errorf("previous = %v", p2["previous"])
	}
	p3 := e.do("GET", p2["next"].(string), "").want(t, 200)
	if prev := p3["previous"].(string); prev != "/v1/users?limit=2&expand=companies&cursor="+cursorOf(t, prev) {
		t.Errorf("previous with cursor = %s", prev)
	}
}

func TestListParameters(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		seedUsers(t, e, 3)
		e.do("POST", "/v1/users", `{"id":"u1","companies":[{"id":"acme"}]}`).want(t, 200)
		bad := []string{
			"limit=0", "limit=101", "limit=-1", "limit=abc", "limit=2.5", "limit=", "limit=1e1", "limit=1&limit=2", "limit[]=2",
			"orderBy=name", "orderBy=", "orderBy=createdAt,", "orderBy=updatedAt",
			"expand=users", "expand=", "expand=companies,", "expand[]=nope", "expand=Companies",
			"email=notanemail", "email=", "email=a@b", "email=a@b.co&email=a@b.co",
			"companyId=a&companyId=b", "segmentId=a&segmentId=b", "cursor=a&cursor=b", "cursor[]=x",
			"limit=%zz",
		}
		for _, q := range bad {
			r := e.do("GET", "/v1/users?"+q, "")
			t.Run(q, func(t *testing.T) { r.wantError(t, 400, "E1017") })
		}
		for q, want := range map[string][]string{
			"limit=100":                         {"u0", "u1", "u2"},
			"limit=1":                           {"u0"},
			"limit=01":                          {"u0"},
			"email=u2%40example.com":            {"u2"},
			"email=U2%40example.com":            {},
			"companyId=acme":                    {"u1"},
			"companyId=nope":                    {},
			"companyId=":                        {"u0", "u1", "u2"},
			"segmentId=whatever":                {"u0", "u1", "u2"},
			"segmentId=":                        {"u0", "u1", "u2"},
			"orderBy=-createdAt,createdAt":      {"u2", "u1", "u0"},
			"orderBy[]=-createdAt":              {"u2", "u1", "u0"},
			"unknown=1&orderBy=createdAt":       {"u0", "u1", "u2"},
			"expand=memberships,companies":      {"u0", "u1", "u2"},
			"expand=companies&expand=companies": {"u0", "u1", "u2"},
		} {
			got := ids(t, e.do("GET", "/v1/users?"+q, "").want(t, 200))
			if got == nil {
				got = []string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET /v1/users?%s (-want +got):\n%s", q, diff)
			}
		}
		// A repeated field changes nothing, however often it is repeated.
		long := "orderBy=" + strings.Repeat("-createdAt,", 3000) + "createdAt"
		if got := ids(t, e.do("GET", "/v1/users?limit=2&"+long, "").want(t, 200)); !slices.Equal(got, []string{"u2", "u1"}) {
			t.Errorf("a long repeated orderBy: %v", got)
		}
		for _, q := range []string{"limit=0", "orderBy=name", "expand=companies", "cursor=a&cursor=b"} {
			e.do("GET", "/v1/companies?"+q, "").wantError(t, 400, "E1017")
		}
		e.do("GET", "/v1/companies?cursor=nope", "").wantError(t, 400, "E1007")
		e.do("GET", "/v1/users/u1?expand=nope", "").wantError(t, 400, "E1017")
	})
}

// Every expand form and what each shows (§6.1).
func TestUserExpand(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u","memberships":[{"company":{"id":"acme","attributes":{"n":1}},"attributes":{"role":"x"}}]}`).want(t, 201)
		e.do("POST", "/v1/users", `{"id":"solo"}`).want(t, 201)
		company := e.do("GET", "/v1/companies/acme", "").want(t, 200)
		user := e.do("GET", "/v1/users/u", "").want(t, 200)
		summary := map[string]any{"id": "acme", "object": "company", "attributes": company["attributes"],
			"createdAt": company["createdAt"], "created_at": company["createdAt"]}
		for _, q := range []string{"expand=companies", "expand[]=companies", "expand[0]=companies", "expand%5B%5D=companies"} {
			u := e.do("GET", "/v1/users/u?"+q, "").want(t, 200)
			if diff := cmp.Diff([]any{summary}, u["companies"]); diff != "" || u["memberships"] != nil {
				t.Errorf("%s: companies (-want +got):\n%s; memberships %v", q, diff, u["memberships"])
			}
		}
		m := e.do("GET", "/v1/users/u?expand=memberships", "").want(t, 200)["memberships"].([]any)[0].(map[string]any)
		if keys(m) != "attributes,companyId,createdAt,created_at,id,object,userId" {
			t.Errorf("membership keys %s", keys(m))
		}
		if m["userId"] == "u" || m["companyId"] == "acme" || m["userId"] == "" || m["companyId"] == "" {
			t.Errorf("membership ids should be internal: %v", m)
		}
		checkTimes(t, m)
		for _, q := range []string{"expand=memberships.company", "expand=memberships,memberships.company"} {
			u := e.do("GET", "/v1/users/u?"+q, "").want(t, 200)
			mc := u["memberships"].([]any)[0].(map[string]any)
			if diff := cmp.Diff(summary, mc["company"]); diff != "" || u["companies"] != nil {
				t.Errorf("%s: membership company (-want +got):\n%s", q, diff)
			}
		}
		both := e.do("GET", "/v1/users/u?expand=companies,memberships.company", "").want(t, 200)
		if len(both["companies"].([]any)) != 1 || len(both["memberships"].([]any)) != 1 {
			t.Errorf("both expansions: %v", both)
		}
		solo := e.do("GET", "/v1/users/solo?expand=companies&expand=memberships", "").want(t, 200)
		if diff := cmp.Diff([]any{}, solo["companies"]); diff != "" {
			t.Errorf("solo companies: %s", diff)
		}
		if diff := cmp.Diff([]any{}, solo["memberships"]); diff != "" {
			t.Errorf("solo memberships: %s", diff)
		}
		list := results(t, e.do("GET", "/v1/users?expand=memberships.company", "").want(t, 200))
		if len(list[0]["memberships"].([]any)) != 1 || len(list[1]["memberships"].([]any)) != 0 || list[0]["companies"] != nil {
			t.Errorf("listed expansions: %v", list)
		}
		if user["companies"] != nil || user["memberships"] != nil {
			t.Errorf("unexpanded user %v", user)
		}
	})
}
