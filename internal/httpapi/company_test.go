package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
)

func TestCompanies(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		c := e.do("POST", "/v1/companies", `{"id":"acme","attributes":{"plan":"pro"},"users":[{"id":"ignored"}],"memberships":"ignored"}`).want(t, http.StatusCreated)
		if keys(c) != "attributes,createdAt,created_at,id,memberships,object,users" || c["object"] != "company" || c["users"] != nil || c["memberships"] != nil {
			t.Errorf("created company %v", c)
		}
		checkTimes(t, c)
		c2 := e.do("POST", "/v1/companies", `{"id":"acme","attributes":{"seats":3}}`).want(t, http.StatusOK)
		if c2["createdAt"] != c["createdAt"] || c2["attributes"].(map[string]any)["plan"] != "pro" {
			t.Errorf("updated company %v", c2)
		}
		if got := ids(t, e.do("GET", "/v1/users", "").want(t, 200)); len(got) != 0 {
			t.Errorf("POST /v1/companies created users %v", got)
		}
		for _, body := range []string{`{"id":"x","attributes":"str"}`, `{"id":"x","attributes":[1]}`, `{"id":""}`, `{}`, `[]`} {
			e.do("POST", "/v1/companies", body).wantError(t, 400, "E1017")
		}
		e.do("GET", "/v1/companies/x", "").wantError(t, 404, "E1002")
		e.do("GET", "/v1/companies/acme?expand=companies", "").wantError(t, 400, "E1017")
		e.do("GET", "/v1/companies/acme?expand=memberships.company", "").wantError(t, 400, "E1017")

		e.do("POST", "/v1/users", `{"id":"u1","memberships":[{"company":{"id":"acme"},"attributes":{"role":"admin"}}]}`).want(t, 201)
		full := e.do("GET", "/v1/companies/acme?expand=users&expand=memberships.user", "").want(t, 200)
		users := full["users"].([]any)
		ms := full["memberships"].([]any)
		if len(users) != 1 || len(ms) != 1 {
			t.Fatalf("expanded company %v", full)
		}
		u := users[0].(map[string]any)
		if keys(u) != "attributes,createdAt,created_at,id,object" || u["id"] != "u1" || u["object"] != "user" {
			t.Errorf("user summary %v", u)
		}
		m := ms[0].(map[string]any)
		if keys(m) != "attributes,companyId,createdAt,created_at,id,object,user,userId" || m["object"] != "companyMembership" {
			t.Errorf("membership %v", m)
		}
		if diff := cmp.Diff(map[string]any{"role": "admin"}, m["attributes"]); diff != "" {
			t.Errorf("membership attributes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(u, m["user"]); diff != "" {
			t.Errorf("membership user (-want +got):\n%s", diff)
		}
		plain := e.do("GET", "/v1/companies/acme?expand=memberships", "").want(t, 200)
		if _, has := plain["memberships"].([]any)[0].(map[string]any)["user"]; has || plain["users"] != nil {
			t.Errorf("expand=memberships: %v", plain)
		}
		if d := e.do("DELETE", "/v1/companies/acme", "").want(t, 200); d["id"] != "acme" || d["object"] != "company" || d["deleted"] != true || len(d) != 3 {
			t.Errorf("delete answer %v", d)
		}
		e.do("DELETE", "/v1/companies/acme", "").wantError(t, 404, "E1002")
		if got := e.do("GET", "/v1/users/u1?expand=memberships", "").want(t, 200)["memberships"].([]any); len(got) != 0 {
			t.Errorf("user keeps memberships of a deleted company: %v", got)
		}
	})
}

func TestDeleteMembership(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u","memberships":[{"company":{"id":"c"},"attributes":{"r":1}}]}`).want(t, 201)
		e.do("POST", "/v1/users", `{"id":"v"}`).want(t, 201)
		m := e.do("GET", "/v1/users/u?expand=memberships", "").want(t, 200)["memberships"].([]any)[0].(map[string]any)
		for _, q := range []string{"", "?userId=u", "?companyId=c", "?userId=&companyId=c", "?userId=u&companyId=",
			"?userId=u&userId=u&companyId=c", "?userId[]=u&companyId=c"} {
			e.do("DELETE", "/v1/company-memberships"+q, "").wantError(t, 400, "E1017")
		}
		for _, q := range []string{"?userId=nope&companyId=c", "?userId=u&companyId=nope", "?userId=v&companyId=c"} {
			e.do("DELETE", "/v1/company-memberships"+q, "").wantError(t, 404, "E1003")
		}
		d := e.do("DELETE", "/v1/company-memberships?userId=u&companyId=c", `{"ignored":true}`).want(t, 200)
		if diff := cmp.Diff(map[string]any{"id": m["id"], "object": "companyMembership", "deleted": true}, d); diff != "" {
			t.Errorf("delete answer (-want +got):\n%s", diff)
		}
		e.do("DELETE", "/v1/company-memberships?userId=u&companyId=c", "").wantError(t, 404, "E1003")
		e.do("GET", "/v1/users/u", "").want(t, 200)
		e.do("GET", "/v1/companies/c", "").want(t, 200)
	})
}

// Keys see only their own environment's data, and their project's
// definitions.
func TestTenancy(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		staging := "Bearer " + e.newKey("default", "staging")
		otherProject := "Bearer " + e.newKey("other", "production")
		e.do("POST", "/v1/users", `{"id":"u","attributes":{"only_here":1},"companies":[{"id":"c"}]}`).want(t, 201)
		for _, auth := range []string{staging, otherProject} {
			e.call("GET", "/v1/users/u", auth, "").wantError(t, 404, "E1001")
			e.call("DELETE", "/v1/users/u", auth, "").wantError(t, 404, "E1001")
			e.call("GET", "/v1/companies/c", auth, "").wantError(t, 404, "E1002")
			e.call("DELETE", "/v1/companies/c", auth, "").wantError(t, 404, "E1002")
			e.call("DELETE", "/v1/company-memberships?userId=u&companyId=c", auth, "").wantError(t, 404, "E1003")
			if got := ids(t, e.call("GET", "/v1/users", auth, "").want(t, 200)); len(got) != 0 {
				t.Errorf("another tenant lists %v", got)
			}
		}
		if len(ids(t, e.do("GET", "/v1/users?companyId=c", "").want(t, 200))) != 1 {
			t.Error("the owner lost its data")
		}
		defs := func(auth string) []string {
			var out []string
			for _, r := range results(t, e.call("GET", "/v1/attribute-definitions?scope=user&limit=100", auth, "").want(t, 200)) {
				out = append(out, r["codeName"].(string))
			}
			return out
		}
		if got := defs(staging); !slices.Contains(got, "only_here") {
			t.Errorf("staging does not see the project's definition: %v", got)
		}
		if got := defs(otherProject); slices.Contains(got, "only_here") {
			t.Errorf("another project sees the definition: %v", got)
		}
	})
}
