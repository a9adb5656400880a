package apiv2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"tourd/internal/apiv2"
	"tourd/internal/backendtest"
	"tourd/internal/deliver"
	"tourd/internal/httpapi"
	"tourd/internal/httpapi/openapitest"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// v2conformance sends real requests to a real server and validates each
// request meant to be valid, and each answer, against the OpenAPI document
// the server serves at GET /v2/openapi.json, noting which documented
// answer (operation, status and, for an error, code) it has seen.
type v2conformance struct {
	t        *testing.T
	e        *env
	v        validator.Validator
	model    *v3.Document
	opts     *config.ValidationOptions
	errorDoc *base.Schema      // the error envelope, for the answers no operation describes
	ops      map[string]string // "METHOD template" -> operationId
	// want lists every documented answer: "operationId status" for a
	// success, "operationId status code" for an error, with each code its
	// examples show.
	want map[string]bool
	seen map[string]bool
	// messages collects the messages the server sent, by code.
	messages map[string]map[string]bool
	// examples collects the messages of the document's error examples, by
	// code.
	examples map[string]map[string]bool
}

func newV2Conformance(t *testing.T, e *env) *v2conformance {
	t.Helper()
	opts := []config.Option{config.WithFormatAssertions(), config.WithStrictMode(),
		// Strict mode reports keys the document does not declare. Attribute
		// maps are free-form, and so are the parts of the OpenAPI document
		// itself (GET /v2/openapi.json), which ValidateDocument checks.
		config.WithStrictIgnorePaths("$.body.attributes.*", "$.body.**.attributes.*", "$.body.**.previousAttributes.*",
			"$.body.info**", "$.body.paths**", "$.body.components**", "$.body.servers**", "$.body.tags**", "$.body.security**")}
	raw, model, v := openapitest.Served(t, e.srv.Client(), e.srv.URL+"/v2/openapi.json", opts...)
	c := &v2conformance{t: t, e: e, v: v, model: model, opts: config.NewValidationOptions(opts...),
		errorDoc: model.Components.Schemas.GetOrZero("Error").Schema(),
		ops:      map[string]string{}, want: map[string]bool{}, seen: map[string]bool{},
		messages: map[string]map[string]bool{}, examples: map[string]map[string]bool{}}
	c.documented(raw)
	return c
}

// documented fills ops, want and examples from the raw document.
func (c *v2conformance) documented(raw []byte) {
	c.t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
		Components struct {
			Responses map[string]json.RawMessage `json:"responses"`
			Examples  map[string]json.RawMessage `json:"examples"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		c.t.Fatal(err)
	}
	type example struct {
		Ref   string `json:"$ref"`
		Value struct {
			Error struct{ Code, Message string } `json:"error"`
		} `json:"value"`
	}
	type response struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Examples map[string]json.RawMessage `json:"examples"`
		} `json:"content"`
	}
	resolve := func(raw json.RawMessage, kind string, from map[string]json.RawMessage, into any) {
		var ref struct {
			Ref string `json:"$ref"`
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			c.t.Fatal(err)
		}
		if ref.Ref != "" {
			name, ok := strings.CutPrefix(ref.Ref, "#/components/"+kind+"/")
			if !ok || from[name] == nil {
				c.t.Fatalf("unresolved %s", ref.Ref)
			}
			raw = from[name]
		}
		if err := json.Unmarshal(raw, into); err != nil {
			c.t.Fatal(err)
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			c.ops[strings.ToUpper(method)+" "+path] = op.OperationID
			for status, rawResponse := range op.Responses {
				if status < "400" {
					c.want[op.OperationID+" "+status] = true
					continue
				}
				var r response
				resolve(rawResponse, "responses", doc.Components.Responses, &r)
				for _, media := range r.Content {
					for _, rawExample := range media.Examples {
						var ex example
						resolve(rawExample, "examples", doc.Components.Examples, &ex)
						code := ex.Value.Error.Code
						c.want[op.OperationID+" "+status+" "+code] = true
						if c.examples[code] == nil {
							c.examples[code] = map[string]bool{}
						}
						c.examples[code][ex.Value.Error.Message] = true
					}
				}
			}
		}
	}
}

// v2call is one request of the conformance run.
type v2call struct {
	method, path string
	// token is sent as Bearer; a value with a space is the whole
	// Authorization header; "" sends none.
	token  string
	body   string
	status int
	code   string // the error code of an error answer
	valid  bool   // the request itself must conform to the document
	// issues is how many issues the error must have (0: none checked).
	issues int
}

// run sends k to srv (the env's server when nil), checks its status, code
// and issues, and validates the exchange against the document.
func (c *v2conformance) run(srv *httptest.Server, k v2call) *response {
	c.t.Helper()
	if srv == nil {
		srv = c.e.srv
	}
	req := c.request(srv, k)
	res, err := srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", k.method, k.path, err)
	}
	return c.check(req, res, k)
}

// request builds k's request for srv.
func (c *v2conformance) request(srv *httptest.Server, k v2call) *http.Request {
	c.t.Helper()
	var body io.Reader = http.NoBody
	if k.body != "" {
		body = strings.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), k.method, srv.URL+k.path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	switch {
	case strings.Contains(k.token, " "):
		req.Header.Set("Authorization", k.token)
	case k.token != "":
		req.Header.Set("Authorization", "Bearer "+k.token)
	}
	if k.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// check validates one exchange; req's body must still be readable.
func (c *v2conformance) check(req *http.Request, res *http.Response, k v2call) *response {
	c.t.Helper()
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			c.t.Errorf("%s %s: body %.200q is not a JSON object: %v", k.method, k.path, raw, err)
		}
	}
	if r.status != k.status {
		c.t.Errorf("%s %s: status %d, want %d; body %.600s", k.method, k.path, r.status, k.status, r.raw)
	}
	if got := r.code(); got != k.code {
		c.t.Errorf("%s %s: code %q, want %q; body %.600s", k.method, k.path, got, k.code, r.raw)
	}
	if got := r.code(); got != "" {
		if c.messages[got] == nil {
			c.messages[got] = map[string]bool{}
		}
		c.messages[got][r.body["error"].(map[string]any)["message"].(string)] = true
	}
	if k.issues > 0 {
		if issues, _ := r.body["error"].(map[string]any)["issues"].([]any); len(issues) != k.issues {
			c.t.Errorf("%s %s: %d issues, want %d; body %s", k.method, k.path, len(issues), k.issues, r.raw)
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
	id, found := c.ops[k.method+" "+template]
	if !found {
		c.t.Errorf("%s %s matched %s, which has no %s operation", k.method, k.path, template, k.method)
		return r
	}
	key := fmt.Sprint(id, " ", r.status)
	if r.status >= 400 {
		key += " " + r.code()
	}
	if !c.want[key] {
		c.t.Errorf("%s %s: the answer %s is not documented (no example of the code); body %.300s", k.method, k.path, key, r.raw)
	}
	c.seen[key] = true
	return r
}

// undocumented sends k, a request no operation describes (an unknown
// path or method: 404 or 405 E1033), and checks that its answer is the
// error envelope, without X-RateLimit-* (it does not pass the limiter).
func (c *v2conformance) undocumented(k v2call, allow string) {
	c.t.Helper()
	res, err := c.e.srv.Client().Do(c.request(c.e.srv, k))
	if err != nil {
		c.t.Fatal(err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, raw: raw}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		c.t.Fatalf("%s %s: %q: %v", k.method, k.path, raw, err)
	}
	if r.status != k.status || r.code() != k.code {
		c.t.Errorf("%s %s: %d %s, want %d %s", k.method, k.path, r.status, r.code(), k.status, k.code)
	}
	if got := res.Header.Get("Allow"); got != allow {
		c.t.Errorf("%s %s: Allow %q, want %q", k.method, k.path, got, allow)
	}
	for name := range res.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-ratelimit") {
			c.t.Errorf("%s %s: %s on an answer that does not pass the limiter", k.method, k.path, name)
		}
	}
	var body any
	_ = json.Unmarshal(raw, &body)
	if ok, verrs := schema_validation.NewSchemaValidator().ValidateSchemaObject(c.errorDoc, body); !ok {
		c.t.Errorf("%s %s: %s is not the error envelope:\n%s", k.method, k.path, raw, openapitest.Describe(verrs))
	}
}

// checkCoverage fails for every documented answer the run has not seen.
func (c *v2conformance) checkCoverage() {
	c.t.Helper()
	var missing []string
	for key := range c.want {
		if !c.seen[key] {
			missing = append(missing, key)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		c.t.Errorf("documented answers never seen from the server:\n  %s", strings.Join(missing, "\n  "))
	}
}

// checkMessages fails for every code the server always answered with one
// message when no example of the document shows that message.
func (c *v2conformance) checkMessages() {
	c.t.Helper()
	for _, code := range slices.Sorted(maps.Keys(c.messages)) {
		msgs := c.messages[code]
		if len(msgs) != 1 {
			continue
		}
		for msg := range msgs {
			if !c.examples[code][msg] {
				c.t.Errorf("%s: the server says %q, the document's examples %q", code, msg, slices.Sorted(maps.Keys(c.examples[code])))
			}
		}
	}
}

// v2faultStore fails token authentication with err: every authenticated
// v2 route then answers as it does when the database fails.
type v2faultStore struct {
	userdata.Store
	err error
}

func (f v2faultStore) AuthenticateToken(context.Context, string) (userdata.Principal, error) {
	return userdata.Principal{}, f.err
}

// v2server serves v1 and v2 over store, closed when the test ends.
func v2server(t *testing.T, store userdata.Store, cfg apiv2.Config) *httptest.Server {
	api := httpapi.New(store, backendtest.Discard, "")
	apiv2.Register(api, store, cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

// conformanceLimits are limits no run reaches: every answer that passes
// the limiter carries its headers.
var conformanceLimits = limits(1_000_000, 1_000_000)

// Real answers of a real server, on each backend, conform to the OpenAPI
// document it serves at GET /v2/openapi.json: every route, with realistic
// requests (which conform too), and every answer the document lists for
// it, each error code its examples show included.
func TestV2OpenAPIConformance(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		// The deliverer of test messages may reach the loopback receivers
		// below, which webhooks made through the API may not.
		store := b.Open(t)
		cfg := conformanceLimits
		cfg.Deliverer = deliver.New(store, deliver.Config{Guard: &webhook.Guard{AllowPrivate: true}}, backendtest.Discard)
		e := newEnvOn(t, store, cfg)
		c := newV2Conformance(t, e)
		ctx := t.Context()
		all := e.all()
		key := e.key()
		E := func(rest string) string { return en(e.a, e.a0, rest) }
		P := func(rest string) string { return p(e.a, rest) }

		// Users, companies, memberships.
		for _, k := range []v2call{
			{method: "PUT", path: E("/users/usr_1"), body: `{"attributes":{"email":"john.doe@example.com","name":"John Doe","plan":"pro","seats":12,"tags":["beta"],"renews":{"set":"2027-01-31T00:00:00.000Z","data_type":"datetime"},"ratio":1e-7,"huge":1e21,"note":"é \"quoted\" \u2028 😀"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/users/usr_1"), body: `{"attributes":{"seats":{"add":1},"logins":{"subtract":2.5},"tags":{"union":["admin"]},"roles":{"append":"vip"},"flags":{"prepend":["x"]},"plan":{"set":"enterprise"},"source":{"set_once":"ads"},"name":null,"ratio":"0.5"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/users/usr_1"), body: `{"attributes":{"tags":{"remove":"beta"},"seats":"14"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/users/usr_2"), body: `{}`, status: 200, valid: true},
			{method: "PUT", path: E("/users/usr_3"), body: `{"attributes":{"email":"three@example.com"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/users/a%2Fb"), body: `{"attributes":{"plan":"free"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/acme"), body: `{"attributes":{"name":"Acme Inc.","size":10}}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/acme"), body: `{"attributes":{"size":{"add":5},"plan":"enterprise"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/globex"), body: `{}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/initech"), body: `{"attributes":{"name":"Initech"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/acme/memberships/usr_1"), body: `{"attributes":{"role":"admin"}}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/acme/memberships/usr_1"), body: `{"attributes":{"since":2020,"role":{"set":"owner"}}}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/globex/memberships/usr_1"), body: `{}`, status: 200, valid: true},
			{method: "PUT", path: E("/companies/acme/memberships/usr_2"), body: `{"attributes":{"role":"member"}}`, status: 200, valid: true},
			{method: "GET", path: E("/users"), status: 200, valid: true},
			{method: "GET", path: E("/users?limit=2&expand=companies&expand=memberships.company&orderBy=-createdAt"), status: 200, valid: true},
			{method: "GET", path: E("/users?email=john.doe%40example.com&expand=memberships"), status: 200, valid: true},
			{method: "GET", path: E("/users?companyId=acme&expand=memberships.company"), status: 200, valid: true},
			{method: "GET", path: E("/users?createdAfter=2020-01-01&createdBefore=2999-12-31T23:59:59%2B02:00&orderBy=createdAt"), status: 200, valid: true},
			{method: "GET", path: E("/users?cursor=garbage"), status: 200, valid: true},
			{method: "GET", path: E("/users?unknown=ignored"), status: 200},
			{method: "GET", path: E("/users/usr_1"), status: 200, valid: true},
			{method: "GET", path: E("/users/usr_1?expand=memberships.company&expand=companies"), status: 200, valid: true},
			{method: "GET", path: E("/users/usr_2?expand=memberships"), status: 200, valid: true},
			{method: "GET", path: E("/users/usr_3?expand=companies"), status: 200, valid: true},
			{method: "GET", path: E("/users/a%2Fb"), status: 200, valid: true},
			{method: "GET", path: E("/companies"), status: 200, valid: true},
			{method: "GET", path: E("/companies?limit=1&expand=users&expand=memberships.user&orderBy=-createdAt"), status: 200, valid: true},
			{method: "GET", path: E("/companies?expand=memberships&createdAfter=2020-01-01T00:00:00Z&createdBefore=2999-01-01"), status: 200, valid: true},
			{method: "GET", path: E("/companies?cursor=garbage&limit=100"), status: 200, valid: true},
			{method: "GET", path: E("/companies/acme?expand=users&expand=memberships.user"), status: 200, valid: true},
			{method: "GET", path: E("/companies/acme?expand=memberships"), status: 200, valid: true},
			{method: "GET", path: E("/companies/globex"), status: 200, valid: true},
		} {
			k.token = all
			c.run(nil, k)
		}
		// Pages with next and previous links, followed to the end and back.
		for _, first := range []string{E("/users?limit=1&expand=companies"), E("/companies?limit=2&orderBy=-createdAt"),
			P("/attribute-definitions?limit=7&scope=user&orderBy=-codeName"), P("/event-definitions?limit=5"), P("/environments?limit=1"),
			P("/segments?limit=1")} {
			c.walk(all, first)
		}

		// Definitions.
		pre := c.run(nil, v2call{method: "GET", path: P("/attribute-definitions?name=email&scope=user"), token: all, status: 200, valid: true}).body["results"].([]any)
		if len(pre) == 0 || pre[0].(map[string]any)["predefined"] != true {
			t.Fatalf("no predefined email attribute: %v", pre)
		}
		preAttr := pre[0].(map[string]any)["id"].(string)
		preEvents := c.run(nil, v2call{method: "GET", path: P("/event-definitions?name=page_viewed"), token: all, status: 200, valid: true}).body["results"].([]any)
		if len(preEvents) == 0 || preEvents[0].(map[string]any)["predefined"] != true {
			t.Fatalf("no predefined page_viewed event: %v", preEvents)
		}
		preEvent := preEvents[0].(map[string]any)["id"].(string)
		plan := c.run(nil, v2call{method: "POST", path: P("/attribute-definitions"), token: all, status: 201, valid: true,
			body: `{"scope":"company","dataType":"string","codeName":"tier","displayName":"Tier","description":"The pricing tier"}`}).body["id"].(string)
		format := c.run(nil, v2call{method: "POST", path: P("/attribute-definitions"), token: all, status: 201, valid: true,
			body: `{"scope":"eventDefinition","dataType":"string","codeName":"export_format","displayName":"Export format"}`}).body["id"].(string)
		exported := c.run(nil, v2call{method: "POST", path: P("/event-definitions"), token: all, status: 201, valid: true,
			body: `{"codeName":"report_exported","displayName":"Report exported","description":"A report was exported","attributes":["export_format"]}`}).body["id"].(string)
		paid := c.run(nil, v2call{method: "POST", path: P("/event-definitions"), token: all, status: 201, valid: true,
			body: `{"codeName":"invoice_paid","displayName":"Invoice paid"}`}).body["id"].(string)
		// An event of invoice_paid is recorded (through v1).
		e.v1("POST", "/v1/events", key, `{"userId":"usr_1","name":"invoice_paid"}`).want(t, 201)
		seats := attributeID(t, c, all, "seats", "user")
		for _, k := range []v2call{
			{method: "GET", path: P("/attribute-definitions"), status: 200, valid: true},
			{method: "GET", path: P("/attribute-definitions?scope=companyMembership&orderBy=displayName&orderBy=-createdAt&limit=5"), status: 200, valid: true},
			{method: "GET", path: P("/attribute-definitions?eventName=page_viewed&eventName=report_exported&scope=eventDefinition"), status: 200, valid: true},
			{method: "GET", path: P("/attribute-definitions?cursor=garbage"), status: 200, valid: true},
			{method: "GET", path: P("/attribute-definitions/" + preAttr), status: 200, valid: true},
			{method: "GET", path: P("/attribute-definitions/" + plan), status: 200, valid: true},
			{method: "PATCH", path: P("/attribute-definitions/" + plan), body: `{"displayName":"Plan tier","description":""}`, status: 200, valid: true},
			{method: "PATCH", path: P("/attribute-definitions/" + plan), body: `{"dataType":"number"}`, status: 200, valid: true},
			{method: "PATCH", path: P("/attribute-definitions/" + plan), body: `{"dataType":"string","displayName":"Tier"}`, status: 200, valid: true},
			{method: "PATCH", path: P("/attribute-definitions/" + plan), body: `{}`, status: 200, valid: true},
			{method: "GET", path: P("/event-definitions"), status: 200, valid: true},
			{method: "GET", path: P("/event-definitions?orderBy=-codeName&orderBy=displayName&limit=3&name=EXPORT"), status: 200, valid: true},
			{method: "GET", path: P("/event-definitions?cursor=garbage"), status: 200, valid: true},
			{method: "GET", path: P("/event-definitions/" + preEvent), status: 200, valid: true},
			{method: "GET", path: P("/event-definitions/" + exported), status: 200, valid: true},
			{method: "PATCH", path: P("/event-definitions/" + exported), body: `{"displayName":"Report exported!","description":"","attributes":[]}`, status: 200, valid: true},
			{method: "PATCH", path: P("/event-definitions/" + exported), body: `{"attributes":["export_format"]}`, status: 200, valid: true},
			{method: "GET", path: P("/event-definitions/" + paid), status: 200, valid: true},
		} {
			k.token = all
			c.run(nil, k)
		}

		// Environments: a token with a list sees every environment, its
		// own with their SDK token, the others without.
		project := e.token(e.a, "environment:read,environment:manage,attribute:read,event:read")
		listed := e.token(e.a, "environment:read,environment:manage,user:read,company:read,company:write", e.a1)
		envs := c.run(nil, v2call{method: "GET", path: P("/environments"), token: listed, status: 200, valid: true}).body["results"].([]any)
		if len(envs) != 2 || envs[0].(map[string]any)["inTokenScope"] != false || envs[0].(map[string]any)["token"] != nil ||
			envs[1].(map[string]any)["inTokenScope"] != true || envs[1].(map[string]any)["token"] == nil {
			t.Errorf("environments for a listed token: %v", envs)
		}
		qa := c.run(nil, v2call{method: "POST", path: P("/environments"), token: project, body: `{"name":"QA"}`, status: 201, valid: true}).body["id"].(string)
		doomed := c.run(nil, v2call{method: "POST", path: P("/environments"), token: project, body: `{"name":"Doomed"}`, status: 201, valid: true}).body["id"].(string)
		for _, k := range []v2call{
			{method: "GET", path: P("/environments?name=QA&orderBy=-createdAt"), token: project, status: 200, valid: true},
			{method: "GET", path: P("/environments?cursor=garbage"), token: project, status: 200, valid: true},
			{method: "GET", path: P("/environments"), token: project, status: 200, valid: true},
			{method: "GET", path: P("/environments/" + e.a0), token: all, status: 200, valid: true},
			{method: "GET", path: P("/environments/" + qa), token: project, status: 200, valid: true},
			{method: "GET", path: P("/environments/" + e.a1), token: listed, status: 200, valid: true},
			{method: "PATCH", path: P("/environments/" + qa), token: project, body: `{"name":"Quality"}`, status: 200, valid: true},
			{method: "PATCH", path: P("/environments/" + e.a1), token: listed, body: `{"name":"Staging"}`, status: 200, valid: true},
			{method: "DELETE", path: P("/environments/" + doomed), token: project, status: 204, valid: true},
		} {
			c.run(nil, k)
		}

		// Segments: the built-in ones, condition and manual ones, and the
		// members of manual ones.
		conditions := `[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"},` +
			`{"type":"group","match":"any","conditions":[{"type":"attribute","scope":"user","attribute":"seats","op":"gt","value":"5"},` +
			`{"type":"attribute","scope":"company","attribute":"size","op":"between","value":"10","value2":"50"}]}]`
		builtIn := c.run(nil, v2call{method: "GET", path: P("/segments?bizType=user"), token: all, status: 200, valid: true}).body["results"].([]any)
		everyone := builtIn[0].(map[string]any)["id"].(string)
		segment := func(body string) string {
			return c.run(nil, v2call{method: "POST", path: P("/segments"), token: all, body: body, status: 201, valid: true}).body["id"].(string)
		}
		power := segment(`{"name":"Power users","bizType":"user","kind":"condition","conditions":` + conditions + `}`)
		vips := segment(`{"name":"VIPs","bizType":"user","kind":"manual"}`)
		beta := segment(`{"name":"Beta companies","bizType":"company","kind":"manual"}`)
		segment(`{"name":"Every company","bizType":"company","kind":"condition"}`)
		for _, k := range []v2call{
			{method: "GET", path: P("/segments"), status: 200, valid: true},
			{method: "GET", path: P("/segments?bizType=company&name=%20BETA%20&orderBy=-createdAt&limit=5"), status: 200, valid: true},
			{method: "GET", path: P("/segments?cursor=garbage"), status: 200, valid: true},
			{method: "GET", path: P("/segments/" + power), status: 200, valid: true},
			{method: "GET", path: P("/segments/" + everyone), status: 200, valid: true},
			{method: "GET", path: P("/segments/" + vips + "?expand=memberCount&environmentId=" + e.a0), status: 200, valid: true},
			{method: "PATCH", path: P("/segments/" + power), body: `{"name":"Pro users"}`, status: 200, valid: true},
			{method: "PATCH", path: P("/segments/" + power), body: `{"conditions":` + conditions + `}`, status: 200, valid: true},
			{method: "PATCH", path: P("/segments/" + vips), body: `{"name":"VIP users"}`, status: 200, valid: true},
			{method: "PATCH", path: P("/segments/" + beta), body: `{}`, status: 200, valid: true},
			{method: "PUT", path: E("/segments/" + vips + "/members/usr_1"), status: 204, valid: true},
			{method: "PUT", path: E("/segments/" + vips + "/members/usr_1"), status: 204, valid: true},
			{method: "PUT", path: E("/segments/" + beta + "/members/acme"), status: 204, valid: true},
			{method: "DELETE", path: E("/segments/" + vips + "/members/usr_2"), status: 204, valid: true},
			{method: "DELETE", path: E("/segments/" + beta + "/members/acme"), status: 204, valid: true},
		} {
			k.token = all
			c.run(nil, k)
		}
		// environmentId in the query is checked against the token's list.
		c.run(nil, v2call{method: "GET", path: P("/segments/" + power + "?environmentId=" + e.a0), token: e.token(e.a, "segment:read", e.a1),
			status: 403, code: "E1029"})

		// Webhooks: created, read with and without webhook:manage (the
		// secret), changed, rotated; then their refusals.
		hook := c.run(nil, v2call{method: "POST", path: E("/webhooks"), token: all, status: 201, valid: true,
			body: `{"url":"https://93.184.215.14/tourd","topics":["user","company.deleted","event.tracked.invoice_paid"],"description":"CRM sync"}`}).body["id"].(string)
		c.run(nil, v2call{method: "POST", path: E("/webhooks"), token: all, status: 201, valid: true,
			body: `{"url":"http://[2606:4700::1111]:8080/hooks","topics":["*","event.tracked.page_viewed"],"enabled":false}`})
		c.walk(all, E("/webhooks?limit=1"))
		reader := e.token(e.a, "webhook:read", e.a0)
		for _, k := range []v2call{
			{method: "GET", path: E("/webhooks"), status: 200, valid: true},
			{method: "GET", path: E("/webhooks?cursor=garbage&orderBy=ignored"), status: 200},
			{method: "GET", path: E("/webhooks/" + hook), status: 200, valid: true},
			{method: "GET", path: E("/webhooks/" + hook), token: reader, status: 200, valid: true},
			{method: "PATCH", path: E("/webhooks/" + hook), body: `{"description":"CRM sync (prod)"}`, status: 200, valid: true},
			{method: "PATCH", path: E("/webhooks/" + hook), body: `{"enabled":false}`, status: 200, valid: true},
			{method: "PATCH", path: E("/webhooks/" + hook), body: `{"enabled":true,"url":"https://93.184.215.15/v2","topics":["membership"],"description":""}`, status: 200, valid: true},
			{method: "PATCH", path: E("/webhooks/" + hook), body: `{}`, status: 200, valid: true},
			{method: "POST", path: E("/webhooks/" + hook + "/rotate-secret"), status: 200, valid: true},
			{method: "POST", path: E("/webhooks"), body: `{"url":"ftp://93.184.215.14/","topics":["*"]}`, status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks"), body: `{"url":"https://93.184.215.14/","topics":[]}`, status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks"), body: `{"url":"https://93.184.215.14/","topics":["user.archived"]}`, status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks"), body: `{"topics":["*"]}`, status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks"), body: `{"url":"https://93.184.215.14/"}`, status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks"), body: `{"url":"https://93.184.215.14/","topics":["*"],"secret":"whsec_x"}`, status: 400, code: "E1017", issues: 1},
			{method: "POST", path: E("/webhooks"), body: `{"url":"https://93.184.215.14/","topics":["*"],"enabled":"yes"}`, status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks"), body: `{"url":"https://93.184.215.14/","topics":["*"],"description":"` + strings.Repeat("d", 201) + `"}`, status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks"), body: `{"url":"https://127.0.0.1/hook","topics":["*"]}`, status: 400, code: "E0054"},
			{method: "PATCH", path: E("/webhooks/" + hook), body: `{"url":"http://[::1]/"}`, status: 400, code: "E0054"},
			{method: "PATCH", path: E("/webhooks/" + hook), body: `{"topics":null}`, status: 400, code: "E1017"},
			{method: "PATCH", path: E("/webhooks/" + hook), body: `{"id":"x","secret":"whsec_x"}`, status: 400, code: "E1017", issues: 2},
			{method: "GET", path: E("/webhooks?limit=101"), status: 400, code: "E1017"},
			{method: "GET", path: E("/webhooks/nope"), status: 404, code: "E0061"},
			{method: "PATCH", path: E("/webhooks/nope"), body: `{"description":"X"}`, status: 404, code: "E0061"},
			{method: "PATCH", path: E("/webhooks/nope"), body: `{"url":"https://127.0.0.1/"}`, status: 404, code: "E0061"},
			{method: "DELETE", path: E("/webhooks/nope"), status: 404, code: "E0061"},
			{method: "POST", path: E("/webhooks/nope/rotate-secret"), status: 404, code: "E0061"},
			{method: "POST", path: E("/webhooks/nope/test"), status: 404, code: "E0061"},
			{method: "GET", path: E("/webhooks/nope/deliveries"), status: 404, code: "E0061"},
			{method: "POST", path: E("/webhooks/nope/messages/whmsg_x/resend"), status: 404, code: "E0061"},
		} {
			if k.token == "" {
				k.token = all
			}
			c.run(nil, k)
		}

		// Errors of validation (400), with issues for unknown keys.
		long := strings.Repeat("a", 1025)
		for _, k := range []v2call{
			{method: "PUT", path: E("/users/usr_9"), body: `{"zeta":1,"attributes":{},"id":"x"}`, status: 400, code: "E1017", issues: 2},
			{method: "PUT", path: E("/companies/c9"), body: `{"name":"Acme"}`, status: 400, code: "E1017", issues: 1},
			{method: "PUT", path: E("/companies/acme/memberships/usr_2"), body: `{"role":"admin","userId":"usr_2","companyId":"acme"}`, status: 400, code: "E1017", issues: 3},
			{method: "POST", path: P("/attribute-definitions"), body: `{"scope":"user","dataType":"string","codeName":"xx","displayName":"X","predefined":true}`, status: 400, code: "E1017", issues: 1},
			{method: "PATCH", path: P("/attribute-definitions/" + plan), body: `{"scope":"user","codeName":"yy"}`, status: 400, code: "E1017", issues: 2},
			{method: "POST", path: P("/event-definitions"), body: `{"codeName":"xx","displayName":"X","attrs":[]}`, status: 400, code: "E1017", issues: 1},
			{method: "PATCH", path: P("/event-definitions/" + exported), body: `{"codeName":"yy"}`, status: 400, code: "E1017", issues: 1},
			{method: "POST", path: P("/environments"), body: `{"name":"x","isPrimary":true}`, status: 400, code: "E1017", issues: 1},
			{method: "PATCH", path: P("/environments/" + qa), body: `{"isPrimary":true}`, status: 400, code: "E1017", issues: 1},
			{method: "PUT", path: E("/users/usr_9"), body: `{"attributes":{"1st_plan":"x"}}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/users/usr_9"), body: `{"attributes":{"prefs":{"theme":"dark"}}}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/users/usr_9"), body: `{"attributes":{"logins":{"add":"1"}}}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/users/usr_1"), body: `{"attributes":{"seats":"twelve"}}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/users/%20"), body: `{}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/users/" + long), body: `{}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/companies/%09"), body: `{}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/companies/acme"), body: `{"attributes":{"size":{"union":[{"a":1}]}}}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/companies/acme/memberships/%20"), body: `{}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/companies/acme/memberships/usr_1"), body: `{"attributes":{"since":"long ago"}}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/companies/acme/memberships/usr_1"), body: `{"attributes":[]}`, status: 400, code: "E1017"},
			{method: "GET", path: E("/users?limit=0"), status: 400, code: "E1017"},
			{method: "GET", path: E("/users?limit=101"), status: 400, code: "E1017"},
			{method: "GET", path: E("/users?orderBy=name"), status: 400, code: "E1017"},
			{method: "GET", path: E("/users?expand=users"), status: 400, code: "E1017"},
			{method: "GET", path: E("/users?email=nope"), status: 400, code: "E1017"},
			{method: "GET", path: E("/users?createdAfter=2025-05-01T10:00:00"), status: 400, code: "E1017"},
			{method: "GET", path: E("/users/usr_1?expand=users"), status: 400, code: "E1017"},
			{method: "GET", path: E("/users/" + long), status: 400, code: "E1017"},
			{method: "DELETE", path: E("/users/" + long), status: 400, code: "E1017"},
			{method: "GET", path: E("/companies?limit=abc"), status: 400, code: "E1017"},
			{method: "GET", path: E("/companies?orderBy=-name"), status: 400, code: "E1017"},
			{method: "GET", path: E("/companies?expand=companies"), status: 400, code: "E1017"},
			{method: "GET", path: E("/companies?createdBefore=yesterday"), status: 400, code: "E1017"},
			{method: "GET", path: E("/companies/acme?expand=memberships.company"), status: 400, code: "E1017"},
			{method: "GET", path: E("/companies/" + long), status: 400, code: "E1017"},
			{method: "DELETE", path: E("/companies/" + long), status: 400, code: "E1017"},
			{method: "DELETE", path: E("/companies/acme/memberships/" + long), status: 400, code: "E1017"},
			{method: "GET", path: P("/attribute-definitions?scope=event"), status: 400, code: "E1015"},
			{method: "GET", path: P("/attribute-definitions?limit=-1"), status: 400, code: "E1017"},
			{method: "GET", path: P("/attribute-definitions?orderBy=scope"), status: 400, code: "E1017"},
			{method: "POST", path: P("/attribute-definitions"), body: `{"scope":"user","dataType":"string","codeName":"xx"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/attribute-definitions"), body: `{"scope":"user","dataType":"random_ab","codeName":"xx","displayName":"X"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/attribute-definitions"), body: `{"scope":"user","dataType":"string","codeName":"9x","displayName":"X"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/attribute-definitions"), body: `{"scope":"content","dataType":"string","codeName":"xx","displayName":"X"}`, status: 400, code: "E1017"},
			{method: "PATCH", path: P("/attribute-definitions/" + plan), body: `{"displayName":""}`, status: 400, code: "E1017"},
			{method: "PATCH", path: P("/attribute-definitions/" + seats), body: `{"dataType":"boolean"}`, status: 400, code: "E1017"},
			{method: "GET", path: P("/event-definitions?limit=2.5"), status: 400, code: "E1017"},
			{method: "GET", path: P("/event-definitions?orderBy=name"), status: 400, code: "E1017"},
			{method: "POST", path: P("/event-definitions"), body: `{"codeName":"x","displayName":"X"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/event-definitions"), body: `{"codeName":"report_exported","displayName":"X","attributes":["nope"]}`, status: 400, code: "E1017"},
			{method: "PATCH", path: P("/event-definitions/" + exported), body: `{"attributes":["nope"]}`, status: 400, code: "E1017"},
			{method: "PATCH", path: P("/event-definitions/" + exported), body: `{"displayName":""}`, status: 400, code: "E1017"},
			{method: "GET", path: P("/environments?limit="), status: 400, code: "E1017"},
			{method: "GET", path: P("/environments?orderBy=name"), status: 400, code: "E1017"},
			{method: "POST", path: P("/environments"), body: `{"name":""}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/environments"), body: `{}`, status: 400, code: "E1017"},
			{method: "PATCH", path: P("/environments/" + qa), body: `{"name":"   "}`, status: 400, code: "E1017"},
			{method: "GET", path: P("/segments?bizType=account"), status: 400, code: "E1017"},
			{method: "GET", path: P("/segments?limit=0"), status: 400, code: "E1017"},
			{method: "GET", path: P("/segments?orderBy=name"), status: 400, code: "E1017"},
			{method: "POST", path: P("/segments"), body: `{"name":"x","bizType":"user","kind":"manual","conditions":[]}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/segments"), body: `{"name":"","bizType":"user","kind":"manual"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/segments"), body: `{"bizType":"user","kind":"manual"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/segments"), body: `{"name":"x","bizType":"account","kind":"manual"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/segments"), body: `{"name":"x","bizType":"user","kind":"all"}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/segments"), body: `{"name":"x","bizType":"user","kind":"condition","conditions":{}}`, status: 400, code: "E1017"},
			{method: "POST", path: P("/segments"), body: `{"name":"x","bizType":"user","kind":"manual","memberCount":1}`, status: 400, code: "E1017", issues: 1},
			{method: "GET", path: P("/segments/" + power + "?expand=users"), status: 400, code: "E1017"},
			{method: "GET", path: P("/segments/" + power + "?expand=memberCount"), status: 400, code: "E1017"},
			{method: "PATCH", path: P("/segments/" + power), body: `{"bizType":"company","kind":"manual"}`, status: 400, code: "E1017", issues: 2},
			{method: "PATCH", path: P("/segments/" + power), body: `{"name":""}`, status: 400, code: "E1017"},
			{method: "PATCH", path: P("/segments/" + power), body: `{"conditions":null}`, status: 400, code: "E1017"},
			{method: "PATCH", path: P("/segments/" + vips), body: `{"conditions":[]}`, status: 400, code: "E1017"},
			{method: "PUT", path: E("/segments/" + power + "/members/usr_1"), status: 400, code: "E1017"},
			{method: "PUT", path: E("/segments/" + vips + "/members/%20"), status: 400, code: "E1017"},
			{method: "DELETE", path: E("/segments/" + vips + "/members/" + long), status: 400, code: "E1017"},
		} {
			k.token = all
			if strings.Contains(k.path, "/environments") && !strings.Contains(k.path, "/environments/"+e.a0) {
				k.token = project
			}
			c.run(nil, k)
		}

		// Existence and state (404, 409).
		for _, k := range []v2call{
			{method: "GET", path: E("/users?companyId=nobody"), status: 404, code: "E1002"},
			{method: "GET", path: E("/users?segmentId=seg_1"), status: 404, code: "E1025"},
			{method: "GET", path: E("/companies?segmentId=seg_1"), status: 404, code: "E1025"},
			{method: "GET", path: E("/users/nobody"), status: 404, code: "E1001"},
			{method: "DELETE", path: E("/users/nobody"), status: 404, code: "E1001"},
			{method: "GET", path: E("/companies/nobody"), status: 404, code: "E1002"},
			{method: "DELETE", path: E("/companies/nobody"), status: 404, code: "E1002"},
			{method: "PUT", path: E("/companies/nobody/memberships/usr_1"), body: `{}`, status: 404, code: "E1002"},
			{method: "PUT", path: E("/companies/acme/memberships/nobody"), body: `{}`, status: 404, code: "E1001"},
			{method: "DELETE", path: E("/companies/initech/memberships/usr_1"), status: 404, code: "E1003"},
			{method: "GET", path: P("/attribute-definitions/nope"), status: 404, code: "E1022"},
			{method: "PATCH", path: P("/attribute-definitions/nope"), body: `{"displayName":"X"}`, status: 404, code: "E1022"},
			{method: "DELETE", path: P("/attribute-definitions/nope"), status: 404, code: "E1022"},
			{method: "GET", path: P("/event-definitions/nope"), status: 404, code: "E1024"},
			{method: "PATCH", path: P("/event-definitions/nope"), body: `{"displayName":"X"}`, status: 404, code: "E1024"},
			{method: "DELETE", path: P("/event-definitions/nope"), status: 404, code: "E1024"},
			{method: "POST", path: P("/attribute-definitions"), body: `{"scope":"company","dataType":"number","codeName":"tier","displayName":"Tier"}`, status: 409, code: "E1023"},
			{method: "PATCH", path: P("/attribute-definitions/" + preAttr), body: `{"displayName":"E-mail"}`, status: 409, code: "E1036"},
			{method: "DELETE", path: P("/attribute-definitions/" + preAttr), status: 409, code: "E1036"},
			{method: "POST", path: P("/event-definitions"), body: `{"codeName":"report_exported","displayName":"Report exported"}`, status: 409, code: "E1023"},
			{method: "PATCH", path: P("/event-definitions/" + preEvent), body: `{"displayName":"Page"}`, status: 409, code: "E1036"},
			{method: "DELETE", path: P("/event-definitions/" + preEvent), status: 409, code: "E1036"},
			{method: "DELETE", path: P("/event-definitions/" + paid), status: 409, code: "E1030"},
			{method: "DELETE", path: P("/environments/" + e.a0), status: 409, code: "E0023"},
			{method: "GET", path: P("/segments/nope"), status: 404, code: "E1025"},
			{method: "PATCH", path: P("/segments/nope"), body: `{"name":"X"}`, status: 404, code: "E1025"},
			{method: "DELETE", path: P("/segments/nope"), status: 404, code: "E1025"},
			{method: "PUT", path: E("/segments/nope/members/usr_1"), status: 404, code: "E1025"},
			{method: "DELETE", path: E("/segments/nope/members/usr_1"), status: 404, code: "E1025"},
			{method: "PUT", path: E("/segments/" + vips + "/members/nobody"), status: 404, code: "E1001"},
			{method: "DELETE", path: E("/segments/" + vips + "/members/nobody"), status: 404, code: "E1001"},
			{method: "PUT", path: E("/segments/" + beta + "/members/nobody"), status: 404, code: "E1002"},
			{method: "DELETE", path: E("/segments/" + beta + "/members/nobody"), status: 404, code: "E1002"},
			{method: "PATCH", path: P("/segments/" + everyone), body: `{}`, status: 409, code: "E1037"},
			{method: "DELETE", path: P("/segments/" + everyone), status: 409, code: "E1037"},
		} {
			k.token = all
			c.run(nil, k)
		}

		// Every route: authentication, project, capability, environment,
		// malformed JSON, a body over the limit, each with the route's own
		// answer.
		past := time.Now().Add(-time.Minute)
		expired := e.tokenUntil(e.a, "all", &past, e.a0, e.a1)
		unknown, _, _ := userdata.NewToken()
		revoked := e.all()
		if err := e.store.RevokeToken(ctx, userdata.HashKey(revoked)); err != nil {
			t.Fatal(err)
		}
		bToken := e.token(e.b, "all", e.b0)
		big := `{"attributes":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`
		for _, rt := range matrix {
			path := rt.fill(e.a, e.a0, "nope")
			for _, k := range []v2call{
				{token: "", status: 401, code: "E1010"},
				{token: "Basic " + all, status: 401, code: "E1010"},
				{token: "Bearer ", status: 401, code: "E1010"},
				{token: expired, status: 401, code: "E1020"},
				{token: key, status: 403, code: "E1000"},
				{token: unknown, status: 403, code: "E1000"},
				{token: revoked, status: 403, code: "E1000"},
				{token: bToken, status: 403, code: "E1011"},
				{token: e.token(e.a, allBut(rt.cap), e.a0), status: 403, code: "E1012"},
				{token: "", body: `{"attributes":`, status: 400, code: "E1017"},
				{token: all, body: `{`, status: 400, code: "E1017"},
				{token: all, body: big, status: 413, code: "E1018"},
			} {
				k.method, k.path = rt.method, path
				if k.body == "" {
					k.body = rt.body
				}
				c.run(nil, k)
			}
			only := e.token(e.a, rt.one(), e.a1)
			switch {
			case rt.envRoute():
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, "nope", "nope"), token: only, body: rt.body, status: 404, code: "E1026"})
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, doomed, "nope"), token: only, body: rt.body, status: 404, code: "E1026"})
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, e.b0, "nope"), token: only, body: rt.body, status: 403, code: "E1019"})
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, e.a0, "nope"), token: only, body: rt.body, status: 403, code: "E1029"})
			case rt.path == "/environments/{id}":
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, "", "nope"), token: listed, body: rt.body, status: 404, code: "E1026"})
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, "", doomed), token: listed, body: rt.body, status: 404, code: "E1026"})
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, "", e.b0), token: listed, body: rt.body, status: 404, code: "E1026"})
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, "", e.a0), token: listed, body: rt.body, status: 403, code: "E1029"})
			case rt.method == "POST" && rt.path == "/environments":
				c.run(nil, v2call{method: rt.method, path: rt.fill(e.a, "", ""), token: listed, body: rt.body, status: 403, code: "E1032"})
			}
		}

		// Deliveries: test messages to receivers that answer 200 and 503,
		// their list, resends; then their refusals.
		tn := userdata.Tenant{ProjectID: e.a.ID, EnvironmentID: e.a0}
		local := func(status int) string {
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				io.WriteString(w, http.StatusText(status))
			}))
			t.Cleanup(rc.Close)
			wh, err := e.store.CreateWebhook(ctx, tn, &userdata.WebhookInput{URL: rc.URL, Topics: []string{"*"}, Enabled: true, Secret: webhook.NewSecret()})
			if err != nil {
				t.Fatal(err)
			}
			return wh.ID
		}
		up, down := local(200), local(503)
		sent := c.run(nil, v2call{method: "POST", path: E("/webhooks/" + up + "/test"), token: all, status: 200, valid: true}).body["id"].(string)
		c.run(nil, v2call{method: "POST", path: E("/webhooks/" + up + "/test"), token: all, status: 200, valid: true})
		c.run(nil, v2call{method: "POST", path: E("/webhooks/" + down + "/test"), token: all, status: 200, valid: true})
		c.walk(all, E("/webhooks/"+up+"/deliveries?limit=1"))
		for _, k := range []v2call{
			{method: "GET", path: E("/webhooks/" + up + "/deliveries"), status: 200, valid: true},
			{method: "GET", path: E("/webhooks/" + up + "/deliveries"), token: reader, status: 200, valid: true},
			{method: "GET", path: E("/webhooks/" + down + "/deliveries?status=failed"), status: 200, valid: true},
			{method: "GET", path: E("/webhooks/" + up + "/deliveries?status=pending&cursor=garbage"), status: 200, valid: true},
			{method: "POST", path: E("/webhooks/" + up + "/messages/" + sent + "/resend"), status: 202, valid: true},
			{method: "POST", path: E("/webhooks/" + up + "/messages/" + sent + "/resend"), status: 400, code: "E1017"},
			{method: "GET", path: E("/webhooks/" + up + "/deliveries?status=pending"), status: 200, valid: true},
			{method: "GET", path: E("/webhooks/" + up + "/deliveries?status=done"), status: 400, code: "E1017"},
			{method: "GET", path: E("/webhooks/" + up + "/deliveries?limit=0"), status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks/" + up + "/messages/whmsg_nope/resend"), status: 404, code: "E0062"},
			{method: "POST", path: E("/webhooks/" + down + "/messages/" + sent + "/resend"), status: 404, code: "E0062"},
			{method: "PATCH", path: E("/webhooks/" + down), body: `{"enabled":false}`, status: 200, valid: true},
			{method: "POST", path: E("/webhooks/" + down + "/test"), status: 400, code: "E1017"},
			{method: "POST", path: E("/webhooks/" + up + "/messages/" + sent + "/resend"), token: reader, status: 403, code: "E1012"},
		} {
			if k.token == "" {
				k.token = all
			}
			c.run(nil, k)
		}

		// Deletions, last: they take the fixtures away.
		for _, k := range []v2call{
			{method: "DELETE", path: E("/companies/acme/memberships/usr_2"), status: 204, valid: true},
			{method: "DELETE", path: E("/users/usr_3"), status: 204, valid: true},
			{method: "DELETE", path: E("/companies/globex"), status: 204, valid: true},
			{method: "DELETE", path: P("/attribute-definitions/" + plan), status: 204, valid: true},
			{method: "DELETE", path: P("/event-definitions/" + exported), status: 204, valid: true},
			{method: "DELETE", path: P("/attribute-definitions/" + format), status: 204, valid: true},
			{method: "DELETE", path: P("/environments/" + qa), token: project, status: 204, valid: true},
			{method: "DELETE", path: P("/segments/" + power), status: 204, valid: true},
			{method: "DELETE", path: E("/webhooks/" + hook), status: 204, valid: true},
		} {
			if k.token == "" {
				k.token = all
			}
			c.run(nil, k)
		}
		c.run(nil, v2call{method: "GET", path: "/v2/openapi.json", status: 200, valid: true})

		// Over the rate limit: a token's bucket, then the client address's.
		limited := newEnvOn(t, e.store, limits(1, 1))
		spent := limited.token(limited.a, "all", limited.a0)
		limited.call("GET", p(limited.a, "/environments"), spent, "").want(t, 200)
		for _, rt := range matrix {
			path := rt.fill(limited.a, limited.a0, "nope")
			res := c.run(limited.srv, v2call{method: rt.method, path: path, token: spent, body: rt.body, status: 429, code: "E1013"})
			if res.header.Get("X-RateLimit-Remaining") != "0" || res.header.Get("Retry-After") == "" {
				t.Errorf("%s %s: 429 headers %v", rt.method, path, res.header)
			}
		}
		// A malformed or oversized body answers first, even over the limit,
		// and without Retry-After.
		for _, rt := range matrix {
			path := rt.fill(limited.a, limited.a0, "nope")
			for _, k := range []v2call{{body: "{", status: 400, code: "E1017"}, {body: big, status: 413, code: "E1018"}} {
				k.method, k.path, k.token = rt.method, path, spent
				if res := c.run(limited.srv, k); res.header.Get("X-RateLimit-Remaining") != "0" || res.header.Get("Retry-After") != "" {
					t.Errorf("%s %s: %d headers %v", rt.method, path, res.status, res.header)
				}
			}
		}
		c.run(limited.srv, v2call{method: "GET", path: "/v2/openapi.json", status: 200, valid: true})
		c.run(limited.srv, v2call{method: "GET", path: "/v2/openapi.json", status: 429, code: "E1013"})

		// A store that cannot serve (503) and a bug (500).
		unavailable := v2server(t, v2faultStore{e.store, userdata.Unavailable(errors.New("disk full"))}, conformanceLimits)
		broken := v2server(t, v2faultStore{e.store, errors.New("a bug")}, conformanceLimits)
		for _, rt := range matrix {
			path := rt.fill(e.a, e.a0, "nope")
			if r := c.run(unavailable, v2call{method: rt.method, path: path, token: all, body: rt.body, status: 503, code: "E0000"}); r.header.Get("Retry-After") != "1" {
				t.Errorf("%s %s: 503 without Retry-After: 1", rt.method, path)
			}
			c.run(broken, v2call{method: rt.method, path: path, token: all, body: rt.body, status: 500, code: "E0000"})
		}

		// No operation describes a wrong method (405, with Allow) or an
		// unknown path (404): their answers are the error envelope.
		for _, u := range []struct {
			method, path, allow string
		}{
			{"POST", E("/users"), "GET"},
			{"POST", E("/users/usr_1"), "DELETE, GET, PUT"},
			{"PATCH", E("/companies"), "GET"},
			{"POST", E("/companies/acme"), "DELETE, GET, PUT"},
			{"GET", E("/companies/acme/memberships/usr_1"), "DELETE, PUT"},
			{"PUT", P("/attribute-definitions"), "GET, POST"},
			{"PUT", P("/attribute-definitions/x"), "DELETE, GET, PATCH"},
			{"DELETE", P("/event-definitions"), "GET, POST"},
			{"POST", P("/event-definitions/x"), "DELETE, GET, PATCH"},
			{"PATCH", P("/environments"), "GET, POST"},
			{"PUT", P("/environments/" + e.a0), "DELETE, GET, PATCH"},
			{"PUT", P("/segments"), "GET, POST"},
			{"PUT", P("/segments/x"), "DELETE, GET, PATCH"},
			{"GET", E("/segments/x/members/usr_1"), "DELETE, PUT"},
			{"PUT", E("/webhooks"), "GET, POST"},
			{"POST", E("/webhooks/x"), "DELETE, GET, PATCH"},
			{"GET", E("/webhooks/x/rotate-secret"), "POST"},
			{"GET", E("/webhooks/x/test"), "POST"},
			{"POST", E("/webhooks/x/deliveries"), "GET"},
			{"GET", E("/webhooks/x/messages/whmsg_x/resend"), "POST"},
			{"POST", "/v2/openapi.json", "GET"},
		} {
			c.undocumented(v2call{method: u.method, path: u.path, token: all, status: 405, code: "E1033"}, u.allow)
		}
		for _, path := range []string{P("/segments/x/members"), E("/nope"), E("/webhooks/x/nope"), "/v2/nope", P("/users"), E("/companies/acme/memberships")} {
			c.undocumented(v2call{method: "GET", path: path, token: all, status: 404, code: "E1033"}, "")
		}

		// The change feed of everything above: pages, filters, their
		// errors, then a cursor whose changes were pruned.
		first := c.run(nil, v2call{method: "GET", path: E("/changes?limit=1"), token: all, status: 200, valid: true})
		for _, k := range []v2call{
			{method: "GET", path: E("/changes?types=user,membership.created&limit=1000&wait=0"), status: 200, valid: true},
			{method: "GET", path: E("/changes?after=now&wait=1"), status: 200, valid: true},
			{method: "GET", path: E("/changes?wait=61"), status: 400, code: "E1017"},
			{method: "GET", path: E("/changes?types=*,nope"), status: 400, code: "E1017"},
			{method: "GET", path: E("/changes?after=nope"), status: 400, code: "E1007"},
		} {
			k.token = all
			c.run(nil, k)
		}
		if _, err := e.store.PruneChanges(t.Context(), time.Now().Add(time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		c.run(nil, v2call{method: "GET", path: E("/changes?after=" + url.QueryEscape(first.body["next"].(string))), token: all, status: 410, code: "E1901"})

		c.checkCoverage()
		c.checkMessages()
	})
}

// walk follows the next links from first to the last page, then the
// previous links back to the first, validating every page: each link is
// relative, keeps the query but cursor and limit, and leads to a page.
func (c *v2conformance) walk(token, first string) {
	c.t.Helper()
	page := c.run(nil, v2call{method: "GET", path: first, token: token, status: 200, valid: true}).body
	if page["previous"] != nil {
		c.t.Errorf("%s: the first page has a previous link %v", first, page["previous"])
	}
	pages := 1
	for page["next"] != nil {
		next := page["next"].(string)
		page = c.run(nil, v2call{method: "GET", path: next, token: token, status: 200, valid: true}).body
		if page["previous"] == nil {
			c.t.Errorf("%s: no previous link", next)
		}
		pages++
		if pages > 100 {
			c.t.Fatalf("%s: more than 100 pages", first)
		}
	}
	if pages < 2 {
		c.t.Errorf("%s: one page only; the walk needs a next link", first)
	}
	back := 1
	for page["previous"] != nil {
		prev := page["previous"].(string)
		page = c.run(nil, v2call{method: "GET", path: prev, token: token, status: 200, valid: true}).body
		back++
		if back > pages {
			c.t.Fatalf("%s: the previous links go back further than the next links went", first)
		}
	}
	if back != pages {
		c.t.Errorf("%s: %d pages forward, %d back", first, pages, back)
	}
}

// attributeID returns the id of the definition of codeName in scope.
func attributeID(t *testing.T, c *v2conformance, token, codeName, scope string) string {
	t.Helper()
	res := c.run(nil, v2call{method: "GET", path: p(c.e.a, "/attribute-definitions?scope="+scope+"&name="+codeName), token: token, status: 200, valid: true})
	for _, it := range res.body["results"].([]any) {
		if d := it.(map[string]any); d["codeName"] == codeName {
			return d["id"].(string)
		}
	}
	t.Fatalf("no %s attribute %s", scope, codeName)
	return ""
}
