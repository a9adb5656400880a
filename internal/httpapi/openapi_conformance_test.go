package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
	"tourd/internal/httpapi/openapitest"
	"tourd/internal/userdata"
)

// conformance sends real requests to a real server and validates each
// answer (and, for the requests meant to be valid, the request too)
// against the OpenAPI document the server serves, noting which documented
// answer of which operation it has seen.
type conformance struct {
	t     *testing.T
	e     *env
	v     validator.Validator
	model *v3.Document
	opts  *config.ValidationOptions
	spec  specOperations
	seen  map[string]bool // "operationId status"
}

// specOperations maps "METHOD /path" to its operation in the document.
type specOperations map[string]specOperation

// specOperation is an operation's id and the statuses the document lists
// for it.
type specOperation struct {
	id       string
	statuses []string
}

func newConformance(t *testing.T, e *env) *conformance {
	t.Helper()
	opts := []config.Option{config.WithFormatAssertions(), config.WithStrictMode(),
		// Strict mode reports keys the document does not declare. Attribute
		// maps are free-form, and so are the parts of the OpenAPI document
		// (GET /v1/openapi.json), which ValidateDocument checks below.
		config.WithStrictIgnorePaths("$.body.attributes.*", "$.body.**.attributes.*", "$.body.**.previousAttributes.*",
			"$.body.info**", "$.body.paths**", "$.body.components**"),
		// The validator takes every media type with "json" in its name for
		// JSON; an NDJSON body is text.
		config.WithBodyDecoder("application/x-ndjson", content.TextDecoder())}
	raw, model, v := openapitest.Served(t, e.srv.Client(), e.srv.URL+"/v1/openapi.json", opts...)
	c := &conformance{t: t, e: e, v: v, model: model, opts: config.NewValidationOptions(opts...),
		spec: specOperations{}, seen: map[string]bool{}}
	var plain struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &plain); err != nil {
		t.Fatal(err)
	}
	for path, ops := range plain.Paths {
		for method, op := range ops {
			var statuses []string
			for s := range op.Responses {
				statuses = append(statuses, s)
			}
			slices.Sort(statuses)
			c.spec[strings.ToUpper(method)+" "+path] = specOperation{op.OperationID, statuses}
		}
	}
	return c
}

// call is one request of the conformance run.
type call struct {
	method, path string
	auth         string // "" sends the env's key; "-" sends none
	contentType  string
	body         string
	status       int
	code         string // the error code, for an error answer
	valid        bool   // the request itself must conform to the document
}

// run sends c to srv (the env's server when nil), checks its status and
// code, and validates the answer against the document.
func (c *conformance) run(srv *httptest.Server, k call) *response {
	c.t.Helper()
	if srv == nil {
		srv = c.e.srv
	}
	req, err := http.NewRequestWithContext(c.t.Context(), k.method, srv.URL+k.path, strings.NewReader(k.body))
	if err != nil {
		c.t.Fatal(err)
	}
	switch k.auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+c.e.key)
	case "-":
	default:
		req.Header.Set("Authorization", k.auth)
	}
	if k.contentType != "" {
		req.Header.Set("Content-Type", k.contentType)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", k.method, k.path, err)
	}
	return c.check(req, res, k)
}

// check validates one exchange; req's body must still be readable.
func (c *conformance) check(req *http.Request, res *http.Response, k call) *response {
	c.t.Helper()
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			c.t.Errorf("%s %s: body %.200q is not a JSON object: %v", k.method, k.path, raw, err)
		}
	}
	if r.status != k.status {
		c.t.Errorf("%s %s: status %d, want %d; body %s", k.method, k.path, r.status, k.status, r.raw)
	}
	if k.code != "" {
		if got, _ := r.body["error"].(map[string]any)["code"].(string); got != k.code {
			c.t.Errorf("%s %s: code %q, want %s; body %s", k.method, k.path, got, k.code, r.raw)
		}
	}
	// The validator reads both bodies again.
	req.Body = io.NopCloser(strings.NewReader(k.body))
	res.Body = io.NopCloser(bytes.NewReader(r.raw))
	var ok bool
	var verrs []*verrors.ValidationError
	if k.valid {
		ok, verrs = c.v.ValidateHttpRequestResponse(req, res)
	} else {
		ok, verrs = c.v.ValidateHttpResponse(req, res)
	}
	if !ok {
		c.t.Errorf("%s %s (%d) does not conform to openapi.json:\n%sbody: %.600s", k.method, k.path, r.status, openapitest.Describe(verrs), r.raw)
	}
	item, perrs, template := paths.FindPath(req, c.model, c.opts)
	if item == nil {
		c.t.Errorf("%s %s matches no path of openapi.json: %s", k.method, k.path, openapitest.Describe(perrs))
		return r
	}
	op, found := c.spec[k.method+" "+template]
	if !found {
		c.t.Errorf("%s %s matched %s, which has no %s operation", k.method, k.path, template, k.method)
		return r
	}
	c.seen[fmt.Sprint(op.id, " ", r.status)] = true
	return r
}

// checkCoverage fails for every documented answer of every operation the
// run has not seen.
func (c *conformance) checkCoverage() {
	c.t.Helper()
	var missing []string
	for key, op := range c.spec {
		for _, s := range op.statuses {
			if !c.seen[op.id+" "+s] {
				missing = append(missing, fmt.Sprintf("%s (%s) %s", op.id, key, s))
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		c.t.Errorf("documented answers never seen from the server:\n  %s", strings.Join(missing, "\n  "))
	}
}

// faultStore fails authentication and pings with err: every v1 route then
// answers as it would when the database fails.
type faultStore struct {
	userdata.Store
	err error
}

func (f faultStore) Authenticate(context.Context, string) (userdata.Tenant, error) {
	return userdata.Tenant{}, f.err
}

func (f faultStore) Ping(context.Context) error { return f.err }

// brokenImport posts an import whose chunked body breaks after two whole
// lines, over a raw connection, and validates the answer.
func (c *conformance) brokenImport(path string) {
	c.t.Helper()
	u, _ := url.Parse(c.e.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	lines := `{"id":"broken-1"}` + "\n" + `{"id":"broken-2"}` + "\n" + `{"id":"brok`
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\nzz\r\n", path, u.Host, c.e.key, len(lines), lines)
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.e.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		c.t.Fatal(err)
	}
	r := c.check(req, res, call{method: "POST", path: path, status: 400, code: "E1017"})
	if msg, _ := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "line 3") {
		c.t.Errorf("broken import: message %q does not name line 3", msg)
	}
}

// Real answers of a real server, on each backend, conform to the OpenAPI
// document it serves, for every route and every answer the document lists
// for it: successes, validation errors, unknown ids, missing and invalid
// keys, bodies over the limit, a broken import stream, storage faults
// (503) and unexpected errors (500).
func TestOpenAPIConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		c := newConformance(t, e)
		const j, nd, bin = "application/json", "application/x-ndjson", "application/octet-stream"
		big := `{"id":"big","attributes":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`
		attrs := `{"plan":"pro","seats":12,"ratio":1e-7,"huge":1e21,"neg":-0,"nested":{"b":[1,null,{"c":true}],"a":{}},"note":"é \"quoted\" \u2028 😀","gone":null}`
		for _, k := range []call{
			{method: "POST", path: "/v1/users", contentType: j, body: `{"id":"usr_1","attributes":` + attrs + `,"memberships":[{"company":{"id":"acme","attributes":{"name":"Acme"}},"attributes":{"role":"admin"}}]}`, status: 201, valid: true},
			{method: "POST", path: "/v1/users", contentType: j, body: `{"id":"usr_1","attributes":{"seats":null}}`, status: 200, valid: true},
			{method: "POST", path: "/v1/users", contentType: j, body: `{"id":"usr_2","companies":[{"id":"acme"},{"id":"globex"}]}`, status: 201, valid: true},
			{method: "POST", path: "/v1/users", contentType: j, body: `{"id":"usr_3","attributes":{"email":"three@example.com"}}`, status: 201, valid: true},
			{method: "POST", path: "/v1/users", contentType: j, body: `{"id":"  "}`, status: 400, code: "E1017"},
			{method: "POST", path: "/v1/users", contentType: j, body: big, status: 413, code: "E1018"},
			{method: "GET", path: "/v1/users", status: 200, valid: true},
			{method: "GET", path: "/v1/users?limit=1&expand=companies&expand=memberships.company", status: 200, valid: true},
			{method: "GET", path: "/v1/users?email=three%40example.com&orderBy=-createdAt", status: 200, valid: true},
			{method: "GET", path: "/v1/users?companyId=acme&expand=memberships", status: 200, valid: true},
			{method: "GET", path: "/v1/users?limit=0", status: 400, code: "E1017"},
			{method: "GET", path: "/v1/users?cursor=nope", status: 400, code: "E1007"},
			{method: "GET", path: "/v1/users/usr_1", status: 200, valid: true},
			{method: "GET", path: "/v1/users/usr_1?expand=memberships.company&expand=companies", status: 200, valid: true},
			{method: "GET", path: "/v1/users/usr_2?expand=memberships", status: 200, valid: true},
			{method: "GET", path: "/v1/users/nobody", status: 404, code: "E1001"},
			{method: "GET", path: "/v1/users/usr_1?expand=users", status: 400, code: "E1017"},
			{method: "POST", path: "/v1/users/import", contentType: nd, body: `{"id":"usr_1","attributes":{"plan":"free"}}` + "\n\n" + `{"id":""}` + "\n" + `{"id":"import"}` + "\n", status: 200, valid: true},
			{method: "POST", path: "/v1/users/import", contentType: bin, body: `{"id":"usr_4"}` + "\n", status: 200, valid: true},
			{method: "GET", path: "/v1/users/import?expand=companies", status: 200, valid: true},
			{method: "GET", path: "/v1/users/import?expand=nope", status: 400, code: "E1017"},
			{method: "DELETE", path: "/v1/users/import", status: 200, valid: true},
			{method: "DELETE", path: "/v1/users/import", status: 404, code: "E1001"},
			{method: "DELETE", path: "/v1/users/import?%zz", status: 400, code: "E1017"},
			{method: "GET", path: "/v1/users/import", status: 404, code: "E1001"},
			{method: "POST", path: "/v1/companies", contentType: j, body: `{"id":"initech","attributes":{"name":"Initech","size":"é"}}`, status: 201, valid: true},
			{method: "POST", path: "/v1/companies", contentType: j, body: `{"id":"initech","attributes":{"size":null}}`, status: 200, valid: true},
			{method: "POST", path: "/v1/companies", contentType: j, body: `{"id":"x","attributes":"nope"}`, status: 400, code: "E1017"},
			{method: "POST", path: "/v1/companies", contentType: j, body: big, status: 413, code: "E1018"},
			{method: "GET", path: "/v1/companies?limit=2", status: 200, valid: true},
			{method: "GET", path: "/v1/companies?expand=users&expand=memberships.user&orderBy=-createdAt", status: 200, valid: true},
			{method: "GET", path: "/v1/companies?orderBy=name", status: 400, code: "E1017"},
			{method: "GET", path: "/v1/companies/acme?expand=users&expand=memberships.user", status: 200, valid: true},
			{method: "GET", path: "/v1/companies/acme?expand=memberships", status: 200, valid: true},
			{method: "GET", path: "/v1/companies/nobody", status: 404, code: "E1002"},
			{method: "GET", path: "/v1/companies/acme?expand=companies", status: 400, code: "E1017"},
			{method: "POST", path: "/v1/companies/import", contentType: nd, body: `{"id":"globex","attributes":{"plan":"free"}}` + "\n" + `{"id":"import"}` + "\n" + `[1]` + "\n", status: 200, valid: true},
			{method: "GET", path: "/v1/companies/import", status: 200, valid: true},
			{method: "GET", path: "/v1/companies/import?limit=1&expand=bad", status: 400, code: "E1017"},
			{method: "DELETE", path: "/v1/companies/import", status: 200, valid: true},
			{method: "DELETE", path: "/v1/companies/import", status: 404, code: "E1002"},
			{method: "DELETE", path: "/v1/companies/import?%zz", status: 400, code: "E1017"},
			{method: "GET", path: "/v1/companies/import", status: 404, code: "E1002"},
			{method: "DELETE", path: "/v1/company-memberships?userId=usr_2&companyId=globex", status: 200, valid: true},
			{method: "DELETE", path: "/v1/company-memberships?userId=usr_2&companyId=globex", status: 404, code: "E1003"},
			{method: "DELETE", path: "/v1/company-memberships?userId=usr_2", status: 400, code: "E1017"},
			{method: "POST", path: "/v1/events", contentType: j, body: `{"userId":"usr_1","name":"flow_step_seen","companyId":"acme","attributes":{"flow_step_number":2,"plan_tier":"pro"},"timestamp":"2025-04-27T13:39:47.024+02:00"}`, status: 201, valid: true},
			{method: "POST", path: "/v1/events", contentType: j, body: `{"userId":"usr_1","name":"report_exported"}`, status: 201, valid: true},
			{method: "POST", path: "/v1/events", contentType: j, body: `{"userId":"nobody","name":"x"}`, status: 404, code: "E1001"},
			{method: "POST", path: "/v1/events", contentType: j, body: `{"userId":"usr_1","name":"x","companyId":"nobody"}`, status: 404, code: "E1002"},
			{method: "POST", path: "/v1/events", contentType: j, body: `{"userId":"usr_1","name":"x","timestamp":"yesterday"}`, status: 400, code: "E1017"},
			{method: "POST", path: "/v1/events", contentType: j, body: big, status: 413, code: "E1018"},
			{method: "GET", path: "/v1/events", status: 200, valid: true},
			{method: "GET", path: "/v1/events?limit=1&orderBy=createdAt&userId=usr_1&companyId=acme&name=flow_step_seen", status: 200, valid: true},
			{method: "GET", path: "/v1/events?userId=a&userId=b", status: 400, code: "E1017"},
			{method: "GET", path: "/v1/attribute-definitions", status: 200, valid: true},
			{method: "GET", path: "/v1/attribute-definitions?scope=companyMembership&orderBy=-codeName&limit=5", status: 200, valid: true},
			{method: "GET", path: "/v1/attribute-definitions?eventName=flow_step_seen&eventName=page_viewed&orderBy=displayName&orderBy=-createdAt", status: 200, valid: true},
			{method: "GET", path: "/v1/attribute-definitions?scope=event", status: 400, code: "E1017"},
			{method: "GET", path: "/v1/event-definitions?limit=3&orderBy=-createdAt", status: 200, valid: true},
			{method: "GET", path: "/v1/event-definitions?limit=101", status: 400, code: "E1017"},
			{method: "DELETE", path: "/v1/users/usr_3", status: 200, valid: true},
			{method: "DELETE", path: "/v1/users/usr_3", status: 404, code: "E1001"},
			{method: "DELETE", path: "/v1/users/" + strings.Repeat("a", 1025), status: 400, code: "E1017"},
			{method: "DELETE", path: "/v1/companies/globex", status: 200, valid: true},
			{method: "DELETE", path: "/v1/companies/globex", status: 404, code: "E1002"},
			{method: "DELETE", path: "/v1/companies/" + strings.Repeat("a", 1025), status: 400, code: "E1017"},
			{method: "GET", path: "/healthz", auth: "-", status: 200, valid: true},
			{method: "GET", path: "/readyz", auth: "-", status: 200, valid: true},
			{method: "GET", path: "/metrics", auth: "-", status: 200, valid: true},
			{method: "GET", path: "/v1/openapi.json", auth: "-", status: 200, valid: true},
		} {
			c.run(nil, k)
		}
		c.brokenImport("/v1/users/import")
		c.brokenImport("/v1/companies/import")

		// The change feed of everything above, then a cursor whose
		// changes were pruned.
		first := c.run(nil, call{method: "GET", path: "/v1/changes?limit=1", status: 200, valid: true})
		c.run(nil, call{method: "GET", path: "/v1/changes?types=user,company.created,event.tracked.report_exported&limit=1000&wait=0", status: 200, valid: true})
		c.run(nil, call{method: "GET", path: "/v1/changes?after=now&wait=1", status: 200, valid: true})
		c.run(nil, call{method: "GET", path: "/v1/changes?wait=61", status: 400, code: "E1017"})
		c.run(nil, call{method: "GET", path: "/v1/changes?types=users", status: 400, code: "E1017"})
		c.run(nil, call{method: "GET", path: "/v1/changes?after=nope", status: 400, code: "E1007"})
		if _, err := e.store.PruneChanges(t.Context(), time.Now().Add(time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		c.run(nil, call{method: "GET", path: "/v1/changes?after=" + url.QueryEscape(first.body["next"].(string)), status: 410, code: "E1901"})

		// Every authenticated operation, without a key, with a wrong key,
		// and over a store that fails with a storage fault or a bug.
		unavailable := httptest.NewServer(httpapi.New(faultStore{e.store, userdata.Unavailable(errors.New("disk full"))}, backendtest.Discard, ""))
		t.Cleanup(unavailable.Close)
		broken := httptest.NewServer(httpapi.New(faultStore{e.store, errors.New("a bug")}, backendtest.Discard, ""))
		t.Cleanup(broken.Close)
		for key := range c.spec {
			method, path, _ := strings.Cut(key, " ")
			path = strings.ReplaceAll(path, "{id}", "x")
			if !strings.HasPrefix(path, "/v1/") || path == "/v1/openapi.json" {
				continue
			}
			c.run(nil, call{method: method, path: path, auth: "-", status: 401, code: "E1010"})
			c.run(nil, call{method: method, path: path, auth: "Bearer ak_unknown", status: 403, code: "E1000"})
			if r := c.run(unavailable, call{method: method, path: path, status: 503, code: "E0000"}); r.header.Get("Retry-After") != "1" {
				t.Errorf("%s: 503 without Retry-After: 1", key)
			}
			c.run(broken, call{method: method, path: path, status: 500, code: "E0000"})
		}
		c.run(unavailable, call{method: "GET", path: "/readyz", auth: "-", status: 503})
		c.checkCoverage()
	})
}
