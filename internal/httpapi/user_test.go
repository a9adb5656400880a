package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
)

// The API reference example, verbatim (§11.1, issue acceptance).
func TestUpsertUserReferenceExample(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		const body = `{"id":"usr_123456789","attributes":{"name":"John Doe","email":"john.doe@example.com","signed_up_at":"2024-03-20T08:30:00.000Z"}}`
		first := e.do("POST", "/v1/users", body).want(t, http.StatusCreated)
		if keys(first) != "attributes,companies,createdAt,created_at,id,memberships,object" {
			t.Errorf("user keys: %s", keys(first))
		}
		if first["id"] != "usr_123456789" || first["object"] != "user" || first["companies"] != nil || first["memberships"] != nil {
			t.Errorf("created user %v", first)
		}
		checkTimes(t, first)
		a := first["attributes"].(map[string]any)
		for k, v := range map[string]any{"name": "John Doe", "email": "john.doe@example.com", "signed_up_at": "2024-03-20T08:30:00.000Z"} {
			if a[k] != v {
				t.Errorf("attribute %s = %v, want %v", k, a[k], v)
			}
		}
		if !timestamp.MatchString(fmt.Sprint(a["first_seen_at"])) || a["last_seen_at"] != a["first_seen_at"] {
			t.Errorf("seeded timestamps: %v", a)
		}
		second := e.do("POST", "/v1/users", body).want(t, http.StatusOK)
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("the same upsert twice answered differently (-first +second):\n%s", diff)
		}
		got := e.do("GET", "/v1/users/usr_123456789", "").want(t, http.StatusOK)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("GET after POST (-post +get):\n%s", diff)
		}
		// Upserts ignore expand.
		withRel := e.do("POST", "/v1/users?expand=companies", `{"id":"usr_123456789","companies":[{"id":"acme"}]}`).want(t, 200)
		if withRel["companies"] != nil || withRel["memberships"] != nil {
			t.Errorf("upsert answered with relations: %v", withRel)
		}
	})
}

// Every rejected body gets 400 E1017 and writes nothing.
func TestUpsertUserValidation(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		long := strings.Repeat("x", 1025)
		for _, body := range []string{
			`{bad`, `[]`, `"x"`, `null`, `1`, `{"id":"a"} trailing`,
			`{}`, `{"id":""}`, `{"id":"   "}`, `{"id":"\t\n"}`, `{"id":null}`, `{"id":[]}`, `{"id":{}}`, `{"id":1.5e999}`,
			`{"id":"` + long + `"}`, `{"id":"a\u0000b"}`,
			`{"id":"a","attributes":[]}`, `{"id":"a","attributes":"x"}`, `{"id":"a","attributes":1}`,
			`{"id":"a","attributes":{"":1}}`, `{"id":"a","attributes":{"` + strings.Repeat("k", 256) + `":1}}`,
			`{"id":"a","attributes":{"k":"a\u0000"}}`, `{"id":"a","attributes":{"k":1e999}}`,
			`{"id":"a","companies":{}}`, `{"id":"a","companies":"x"}`, `{"id":"a","companies":[1]}`,
			`{"id":"a","companies":[{}]}`, `{"id":"a","companies":[{"id":""}]}`, `{"id":"a","companies":[{"id":"c","attributes":"x"}]}`,
			`{"id":"a","companies":[{"id":"` + long + `"}]}`,
			`{"id":"a","memberships":[{}]}`, `{"id":"a","memberships":[{"company":"x"}]}`, `{"id":"a","memberships":[{"company":null}]}`,
			`{"id":"a","memberships":[{"company":{}}]}`, `{"id":"a","memberships":[{"company":{"id":"c"},"attributes":[]}]}`,
			`{"id":"a","memberships":[{"company":{"id":"c","attributes":5}}]}`,
			`{"id":"a","companies":[],"memberships":[]}`, `{"id":"a","companies":[{"id":"c"}],"memberships":[{"company":{"id":"d"}}]}`,
		} {
			r := e.do("POST", "/v1/users", body)
			t.Run(body[:min(len(body), 60)], func(t *testing.T) { r.wantError(t, 400, "E1017") })
		}
		if got := ids(t, e.do("GET", "/v1/users", "").want(t, 200)); len(got) != 0 {
			t.Errorf("rejected requests wrote users %v", got)
		}
		if got := ids(t, e.do("GET", "/v1/companies", "").want(t, 200)); len(got) != 0 {
			t.Errorf("rejected requests wrote companies %v", got)
		}
		// Accepted id forms: integers and booleans become strings; null relations are "not set".
		for body, id := range map[string]string{`{"id":123}`: "123", `{"id":-7}`: "-7", `{"id":true}`: "true",
			`{"id":" a "}`: " a ", `{"id":"` + long[1:] + `"}`: long[1:],
			`{"id":"n","companies":null,"memberships":[]}`: "n", `{"id":"m","companies":[],"memberships":null}`: "m"} {
			if got := e.do("POST", "/v1/users", body).want(t, 201); got["id"] != id {
				t.Errorf("POST %.40s: id %v, want %q", body, got["id"], id)
			}
		}
		e.do("GET", "/v1/users/123", "").want(t, 200)
	})
}

func TestOversizedBody(t *testing.T) {
	e := newEnv(t, backendtest.SQLite)
	big := `{"id":"a","attributes":{"k":"` + strings.Repeat("x", 1<<20) + `"}}`
	e.do("POST", "/v1/users", big).wantError(t, 413, "E1018")
	e.do("POST", "/v1/companies", big).wantError(t, 413, "E1018")
	e.do("GET", "/v1/users/a", "").wantError(t, 404, "E1001")
	// Just under the limit is fine.
	ok := `{"id":"a","attributes":{"k":"` + strings.Repeat("x", 1<<20-100) + `"}}`
	e.do("POST", "/v1/users", ok).want(t, 201)
}

func TestGetAndDeleteUser(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("GET", "/v1/users/nope", "").wantError(t, 404, "E1001")
		e.do("DELETE", "/v1/users/nope", "").wantError(t, 404, "E1001")
		e.do("GET", "/v1/users/"+strings.Repeat("x", 1025), "").wantError(t, 400, "E1017")
		e.do("POST", "/v1/users", `{"id":"a/b c","companies":[{"id":"acme"}]}`).want(t, 201)
		u := e.do("GET", "/v1/users/a%2Fb%20c", "").want(t, 200)
		if u["id"] != "a/b c" {
			t.Errorf("GET a%%2Fb%%20c = %v", u["id"])
		}
		d := e.do("DELETE", "/v1/users/a%2Fb%20c", "").want(t, 200)
		if diff := cmp.Diff(map[string]any{"id": "a/b c", "object": "user", "deleted": true}, d); diff != "" {
			t.Errorf("delete answer (-want +got):\n%s", diff)
		}
		e.do("DELETE", "/v1/users/a%2Fb%20c", "").wantError(t, 404, "E1001")
		e.do("GET", "/v1/users/a%2Fb%20c", "").wantError(t, 404, "E1001")
		c := e.do("GET", "/v1/companies/acme?expand=users", "").want(t, 200)
		if users := c["users"].([]any); len(users) != 0 {
			t.Errorf("company still lists deleted user: %v", users)
		}
	})
}

// Ids that would be dot segments, or hold slashes, in a path are reachable
// with each reserved byte escaped: the path is not cleaned after decoding.
func TestPathIDsNotCleaned(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		for _, id := range []string{"/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", "/"} {
			escaped := strings.NewReplacer("/", "%2F", ".", "%2E").Replace(id)
			for _, res := range []string{"users", "companies"} {
				e.do("POST", "/v1/"+res, fmt.Sprintf(`{"id":%q}`, id)).want(t, 201)
				if got := e.do("GET", "/v1/"+res+"/"+escaped, "").want(t, 200)["id"]; got != id {
					t.Errorf("GET /v1/%s/%s: id %v, want %q", res, escaped, got, id)
				}
				e.do("DELETE", "/v1/"+res+"/"+escaped, "").want(t, 200)
				e.do("GET", "/v1/"+res+"/"+escaped, "").wantError(t, 404, map[string]string{"users": "E1001", "companies": "E1002"}[res])
			}
		}
	})
}

// 50 concurrent upserts of one new id: all 2xx, one user, no lost merge.
func TestConcurrentUpsertsOverHTTP(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		const n = 50
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = e.do("POST", "/v1/users", fmt.Sprintf(`{"id":"new","attributes":{"k%d":%d}}`, i, i)).status
			})
		}
		wg.Wait()
		created := 0
		for i, s := range statuses {
			switch s {
			case 201:
				created++
			case 200:
			default:
				t.Errorf("request %d: status %d", i, s)
			}
		}
		if created != 1 {
			t.Errorf("%d requests answered 201, want 1", created)
		}
		a := e.do("GET", "/v1/users/new", "").want(t, 200)["attributes"].(map[string]any)
		for i := range n {
			if a[fmt.Sprintf("k%d", i)] != float64(i) {
				t.Errorf("k%d lost", i)
			}
		}
		if got := ids(t, e.do("GET", "/v1/users", "").want(t, 200)); len(got) != 1 {
			t.Errorf("users %v, want exactly one", got)
		}
	})
}
