package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
)

// wantMessage checks an error answer's status, code and exact message.
func (r *response) wantMessage(t *testing.T, status int, code, message string) {
	t.Helper()
	r.wantError(t, status, code)
	if got := r.body["error"].(map[string]any)["message"]; got != message {
		t.Errorf("message %q, want %q", got, message)
	}
}

// state reads back everything a rejected request could change: users with
// their memberships and companies, companies, events and every definition.
func (e *env) state() string {
	e.t.Helper()
	var b strings.Builder
	for _, path := range []string{"/v1/users?limit=100&expand=memberships.company", "/v1/companies?limit=100",
		"/v1/events?limit=100", "/v1/event-definitions?limit=100", "/v1/attribute-definitions?limit=100&scope=user",
		"/v1/attribute-definitions?limit=100&scope=company", "/v1/attribute-definitions?limit=100&scope=companyMembership",
		"/v1/attribute-definitions?limit=100&scope=eventDefinition"} {
		r := e.do("GET", path, "")
		r.want(e.t, 200)
		b.Write(r.raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// A malformed operation, or one that cannot apply to what is stored, is
// 400 E1017 naming the attribute, on every write path, and the request
// changes nothing.
func TestOperationErrors(t *testing.T) {
	const (
		one     = "an operation has exactly one of set, set_once, add, union, remove, subtract, append, prepend, not both "
		scalars = " takes a string, number or boolean, or an array of them"
		dtype   = "data_type must be one of string, number, boolean, datetime, list"
		events  = "events take only literal values and set, not "
	)
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u","attributes":{"n":1,"s":"x","t":["a"],"typed":{"set":1,"data_type":"number"}},
			"memberships":[{"company":{"id":"c","attributes":{"n":1,"plan":"pro"}},"attributes":{"m":1}}]}`).want(t, 201)
		e.do("POST", "/v1/events", `{"userId":"u","name":"paid","attributes":{"amount":{"set":1,"data_type":"number"}}}`).want(t, 201)
		before := e.state()
		for _, tt := range []struct{ path, body, want string }{
			// Malformed operations, found while decoding.
			{"/v1/users", `{"id":"u","attributes":{"s":"changed","n":{"add":"1"}}}`, "attributes.n: add must be a finite number"},
			{"/v1/users", `{"id":"u","attributes":{"n":{"add":1,"set":2}}}`, "attributes.n: " + one + "add and set"},
			{"/v1/users", `{"id":"u","attributes":{"n":{"set_once":null}}}`, "attributes.n: set_once needs a value (send null to remove the attribute)"},
			{"/v1/users", `{"id":"u","attributes":{"n":{"data_type":"number"}}}`, "attributes.n: data_type goes beside set or set_once"},
			{"/v1/users", `{"id":"u","attributes":{"n":{"set":1,"data_type":"integer"}}}`, "attributes.n: " + dtype},
			{"/v1/users", `{"id":"u","attributes":{"t":{"union":[{"a":1}]}}}`, "attributes.t: union" + scalars},
			{"/v1/users", `{"id":"new","attributes":{"n":{"subtract":null}}}`, "attributes.n: subtract must be a finite number"},
			{"/v1/users", `{"id":"u","attributes":{"n":{"add":1}},"companies":[{"id":"c","attributes":{"n":{"add":1}}},
				{"id":"c","attributes":{"tags":{"append":[null]}}}]}`, "companies.1.attributes.tags: append" + scalars},
			{"/v1/users", `{"id":"u","memberships":[{"company":{"id":"c","attributes":{"n":{"subtract":"x"}}},"attributes":{"m":{"add":1}}}]}`,
				"memberships.0.company.attributes.n: subtract must be a finite number"},
			{"/v1/users", `{"id":"u","memberships":[{"company":{"id":"c"},"attributes":{"m":{"add":1}}},
				{"company":{"id":"d"},"attributes":{"m":{"remove":{"x":1}}}}]}`, "memberships.1.attributes.m: remove" + scalars},
			// Operations that cannot apply, found by the store.
			{"/v1/users", `{"id":"u","attributes":{"n":{"add":1},"s":{"add":1}}}`, "attributes.s: cannot add to a stored string"},
			{"/v1/users", `{"id":"u","attributes":{"t":{"remove":"a"},"n":{"union":"x"}}}`, "attributes.n: cannot union with a stored number"},
			{"/v1/users", `{"id":"u","attributes":{"n":{"add":1}},"companies":[{"id":"c","attributes":{"n":{"add":1}}},{"id":"d"},
				{"id":"c","attributes":{"plan":{"add":1}}}]}`, "companies.2.attributes.plan: cannot add to a stored string"},
			{"/v1/users", `{"id":"u","memberships":[{"company":{"id":"c"},"attributes":{"m":{"union":"x"}}}]}`,
				"memberships.0.attributes.m: cannot union with a stored number"},
			{"/v1/users", `{"id":"new","attributes":{"n":{"add":1}},"companies":[{"id":"c","attributes":{"plan":{"subtract":1}}}]}`,
				"companies.0.attributes.plan: cannot add to a stored string"},
			{"/v1/users", `{"id":"u","attributes":{"typed":{"set":"x","data_type":"string"},"n":{"add":1}}}`,
				"attributes.typed: data_type string does not match the defined type number"},
			// Companies.
			{"/v1/companies", `{"id":"c","attributes":{"n":{"add":true}}}`, "attributes.n: add must be a finite number"},
			{"/v1/companies", `{"id":"c","attributes":{"n":{"union":1,"data_type":"list"}}}`, "attributes.n: data_type goes beside set or set_once, not union"},
			{"/v1/companies", `{"id":"c","attributes":{"n":{"add":1},"plan":{"remove":"pro"}}}`, "attributes.plan: cannot remove from a stored string"},
			{"/v1/companies", `{"id":"new","attributes":{"name":{"set":1,"data_type":"number"}}}`,
				"attributes.name: data_type number does not match the defined type string"},
			// Events take literals and set only.
			{"/v1/events", `{"userId":"u","name":"paid","attributes":{"k":{"add":1}}}`, "attributes.k: " + events + "add"},
			{"/v1/events", `{"userId":"u","name":"paid","attributes":{"k":{"set_once":1}}}`, "attributes.k: " + events + "set_once"},
			{"/v1/events", `{"userId":"u","name":"paid","attributes":{"k":{"append":"a"}}}`, "attributes.k: " + events + "union"},
			{"/v1/events", `{"userId":"u","name":"paid","attributes":{"k":{"remove":"a"}}}`, "attributes.k: " + events + "remove"},
			{"/v1/events", `{"userId":"u","name":"other","attributes":{"k":{"set":1,"data_type":"bogus"}}}`, "attributes.k: " + dtype},
			{"/v1/events", `{"userId":"u","name":"other","attributes":{"amount":{"set":"1","data_type":"string"}}}`,
				"attributes.amount: data_type string does not match the defined type number"},
		} {
			e.do("POST", tt.path, tt.body).wantMessage(t, 400, "E1017", tt.want)
			if after := e.state(); after != before {
				t.Errorf("POST %s %s changed what is stored:\n%s\nwas\n%s", tt.path, tt.body, after, before)
			}
		}
	})
}

// Import lines with operations apply as the same upserts sent alone, in
// order; a line whose operation is malformed or cannot apply fails alone,
// with E1017 and its message.
func TestOperationImports(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		lines := []string{
			`{"id":"u","attributes":{"n":{"add":1}}}`,
			`{"id":"u","attributes":{"n":{"add":"x"}}}`,
			`{"id":"u","attributes":{"s":"x"}}`,
			`{"id":"u","attributes":{"s":{"add":1},"n":{"add":1}}}`,
			`{"id":"u","companies":[{"id":"c","attributes":{"k":{"set_once":null}}}]}`,
			`{"id":"u","attributes":{"n":{"add":1},"t":{"union":["a","b","a"]}}}`,
			`{"id":"v","attributes":{"n":{"remove":"x"}}}`,
		}
		for range 200 {
			lines = append(lines, `{"id":"count","attributes":{"n":{"add":1}}}`)
		}
		got := e.do("POST", "/v1/users/import", strings.Join(lines, "\n")).want(t, 200)
		want := map[string]any{"object": "import", "created": 3.0, "updated": 201.0, "failed": 3.0, "errors": []any{
			map[string]any{"line": 2.0, "code": "E1017", "message": "attributes.n: add must be a finite number"},
			map[string]any{"line": 4.0, "code": "E1017", "message": "attributes.s: cannot add to a stored string"},
			map[string]any{"line": 5.0, "code": "E1017", "message": "companies.0.attributes.k: set_once needs a value (send null to remove the attribute)"},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("users import answer (-want +got):\n%s", diff)
		}
		u := e.do("GET", "/v1/users/u", "").want(t, 200)["attributes"].(map[string]any)
		if u["n"] != 2.0 || u["s"] != "x" || !cmp.Equal(u["t"], []any{"a", "b"}) {
			t.Errorf("u after the import: %v, want n 2, s x, t [a b]", u)
		}
		if v := e.do("GET", "/v1/users/v", "").want(t, 200)["attributes"].(map[string]any); v["n"] != nil {
			t.Errorf("v after a remove of a missing key: %v", v)
		}
		if n := e.do("GET", "/v1/users/count", "").want(t, 200)["attributes"].(map[string]any)["n"]; n != 200.0 {
			t.Errorf("count after 200 lines of add 1: %v", n)
		}
		e.do("GET", "/v1/companies/c", "").wantError(t, 404, "E1002")

		companies := strings.Join([]string{
			`{"id":"co","attributes":{"n":{"add":1}}}`,
			`{"id":"co","attributes":{"n":{"union":"x"}}}`,
			`{"id":"co","attributes":{"n":{"prepend":[[1]]}}}`,
			`{"id":"co","attributes":{"n":{"subtract":0.5}}}`,
		}, "\n")
		got = e.do("POST", "/v1/companies/import", companies).want(t, 200)
		want = map[string]any{"object": "import", "created": 1.0, "updated": 1.0, "failed": 2.0, "errors": []any{
			map[string]any{"line": 2.0, "code": "E1017", "message": "attributes.n: cannot union with a stored number"},
			map[string]any{"line": 3.0, "code": "E1017", "message": "attributes.n: prepend takes a string, number or boolean, or an array of them"},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("companies import answer (-want +got):\n%s", diff)
		}
		if n := e.do("GET", "/v1/companies/co", "").want(t, 200)["attributes"].(map[string]any)["n"]; n != 0.5 {
			t.Errorf("co after the import: n %v, want 0.5", n)
		}
	})
}

// Each write path answers the attributes as stored after its operations;
// objects that are not operations stay literal values.
func TestOperationAnswers(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		attrs := func(r *response, status int) map[string]any {
			t.Helper()
			a := r.want(t, status)["attributes"].(map[string]any)
			delete(a, "first_seen_at")
			delete(a, "last_seen_at")
			return a
		}
		got := attrs(e.do("POST", "/v1/users", `{"id":"u","attributes":{"n":{"add":2},"t":{"union":"a"},"o":{"set_once":1},
			"r":{"remove":"x"},"lit":{"add":1,"x":1},"empty":{}}}`), 201)
		want := map[string]any{"n": 2.0, "t": []any{"a"}, "o": 1.0, "lit": map[string]any{"add": 1.0, "x": 1.0}, "empty": map[string]any{}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("created user (-want +got):\n%s", diff)
		}
		got = attrs(e.do("POST", "/v1/users", `{"id":"u","attributes":{"n":{"subtract":0.5},"t":{"append":["b","a"]},"o":{"set_once":2},"lit":null}}`), 200)
		want = map[string]any{"n": 1.5, "t": []any{"a", "b"}, "o": 1.0, "empty": map[string]any{}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("updated user (-want +got):\n%s", diff)
		}
		got = attrs(e.do("POST", "/v1/companies", `{"id":"c","attributes":{"seats":{"add":3},"f":{"union":["x","y"]}}}`), 201)
		if diff := cmp.Diff(map[string]any{"seats": 3.0, "f": []any{"x", "y"}}, got); diff != "" {
			t.Errorf("created company (-want +got):\n%s", diff)
		}
		got = attrs(e.do("POST", "/v1/companies", `{"id":"c","attributes":{"seats":{"add":-1},"f":{"remove":"x"}}}`), 200)
		if diff := cmp.Diff(map[string]any{"seats": 2.0, "f": []any{"y"}}, got); diff != "" {
			t.Errorf("updated company (-want +got):\n%s", diff)
		}
		ev := e.do("POST", "/v1/events", `{"userId":"u","name":"paid","attributes":{"amount":{"set":"5","data_type":"number"},"note":{"set":null},"o":{"add":1,"x":1}}}`).want(t, 201)
		if diff := cmp.Diff(map[string]any{"amount": "5", "o": map[string]any{"add": 1.0, "x": 1.0}}, ev["attributes"]); diff != "" {
			t.Errorf("event attributes (-want +got):\n%s", diff)
		}
	})
}
