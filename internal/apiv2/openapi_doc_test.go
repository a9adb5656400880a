package apiv2

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"tourd/internal/httpapi/openapitest"
)

// The tests of this file check openapi.json, the OpenAPI 3.1 document of
// the v2 API, on its own: it is read from the file, not through the
// package's code, and the routes it must describe are listed here (v2.md
// §1). Its helpers are prefixed doc to stay out of the package's way.

// docPath is the document, relative to this package.
const docPath = "openapi.json"

const (
	docP = "/v2/projects/{projectId}"
	docE = docP + "/environments/{environmentId}"
)

// docRoute is what the contract says of one route: the capability it
// needs ("" for none) and the status of its success.
type docRoute struct {
	capability string
	success    string
}

// docRoutes is every route the document describes, by "METHOD path", and
// no other.
var docRoutes = map[string]docRoute{
	"GET " + docE + "/users":                                      {"user:read", "200"},
	"GET " + docE + "/users/{id}":                                 {"user:read", "200"},
	"PUT " + docE + "/users/{id}":                                 {"user:write", "200"},
	"DELETE " + docE + "/users/{id}":                              {"user:delete", "204"},
	"GET " + docE + "/companies":                                  {"company:read", "200"},
	"GET " + docE + "/companies/{id}":                             {"company:read", "200"},
	"PUT " + docE + "/companies/{id}":                             {"company:write", "200"},
	"DELETE " + docE + "/companies/{id}":                          {"company:delete", "204"},
	"PUT " + docE + "/companies/{id}/memberships/{userId}":        {"company:write", "200"},
	"DELETE " + docE + "/companies/{id}/memberships/{userId}":     {"company:write", "204"},
	"GET " + docP + "/attribute-definitions":                      {"attribute:read", "200"},
	"POST " + docP + "/attribute-definitions":                     {"attribute:create", "201"},
	"GET " + docP + "/attribute-definitions/{id}":                 {"attribute:read", "200"},
	"PATCH " + docP + "/attribute-definitions/{id}":               {"attribute:update", "200"},
	"DELETE " + docP + "/attribute-definitions/{id}":              {"attribute:delete", "204"},
	"GET " + docP + "/event-definitions":                          {"event:read", "200"},
	"POST " + docP + "/event-definitions":                         {"event:create", "201"},
	"GET " + docP + "/event-definitions/{id}":                     {"event:read", "200"},
	"PATCH " + docP + "/event-definitions/{id}":                   {"event:update", "200"},
	"DELETE " + docP + "/event-definitions/{id}":                  {"event:delete", "204"},
	"GET " + docP + "/environments":                               {"environment:read", "200"},
	"POST " + docP + "/environments":                              {"environment:manage", "201"},
	"GET " + docP + "/environments/{id}":                          {"environment:read", "200"},
	"PATCH " + docP + "/environments/{id}":                        {"environment:manage", "200"},
	"DELETE " + docP + "/environments/{id}":                       {"environment:manage", "204"},
	"GET " + docP + "/segments":                                   {"segment:read", "200"},
	"POST " + docP + "/segments":                                  {"segment:create", "201"},
	"GET " + docP + "/segments/{id}":                              {"segment:read", "200"},
	"PATCH " + docP + "/segments/{id}":                            {"segment:update", "200"},
	"DELETE " + docP + "/segments/{id}":                           {"segment:delete", "204"},
	"PUT " + docE + "/segments/{id}/members/{externalId}":         {"segment:update", "204"},
	"DELETE " + docE + "/segments/{id}/members/{externalId}":      {"segment:update", "204"},
	"GET " + docE + "/changes":                                    {"user:read|company:read", "200"},
	"GET " + docE + "/webhooks":                                   {"webhook:read", "200"},
	"POST " + docE + "/webhooks":                                  {"webhook:manage", "201"},
	"GET " + docE + "/webhooks/{id}":                              {"webhook:read", "200"},
	"PATCH " + docE + "/webhooks/{id}":                            {"webhook:manage", "200"},
	"DELETE " + docE + "/webhooks/{id}":                           {"webhook:manage", "204"},
	"POST " + docE + "/webhooks/{id}/rotate-secret":               {"webhook:manage", "200"},
	"POST " + docE + "/webhooks/{id}/test":                        {"webhook:manage", "200"},
	"GET " + docE + "/webhooks/{id}/deliveries":                   {"webhook:read", "200"},
	"POST " + docE + "/webhooks/{id}/messages/{messageId}/resend": {"webhook:manage", "202"},
	"GET /v2/openapi.json":                                        {"", "200"},
}

// docCapabilities are the capabilities of the routes the document
// describes (v2.md §4).
var docCapabilities = []string{
	"user:read", "user:write", "user:delete",
	"company:read", "company:write", "company:delete",
	"attribute:read", "attribute:create", "attribute:update", "attribute:delete",
	"event:read", "event:create", "event:update", "event:delete",
	"environment:read", "environment:manage",
	"segment:read", "segment:create", "segment:update", "segment:delete",
	"user:read|company:read", // the change feed: either, by type (webhooks.md §4)
	"webhook:read", "webhook:manage",
}

// docConflicts lists the routes that can answer 409 (v2.md §8, §9;
// segments.md §2).
var docConflicts = []string{
	"POST " + docP + "/attribute-definitions", "PATCH " + docP + "/attribute-definitions/{id}", "DELETE " + docP + "/attribute-definitions/{id}",
	"POST " + docP + "/event-definitions", "PATCH " + docP + "/event-definitions/{id}", "DELETE " + docP + "/event-definitions/{id}",
	"DELETE " + docP + "/environments/{id}",
	"PATCH " + docP + "/segments/{id}", "DELETE " + docP + "/segments/{id}",
}

// docNoNotFound lists the authenticated routes that cannot answer 404:
// the project-level lists and creations (an unknown project is 403 E1011).
var docNoNotFound = []string{
	"GET " + docP + "/attribute-definitions", "POST " + docP + "/attribute-definitions",
	"GET " + docP + "/event-definitions", "POST " + docP + "/event-definitions",
	"GET " + docP + "/environments", "POST " + docP + "/environments",
	"GET " + docP + "/segments", "POST " + docP + "/segments",
}

// docCodeStatus is the status of each error code the routes of the
// document answer (v2.md §3, §5 to §10; segments.md §4 for E1025;
// webhooks.md §2 for E0054, E0061 and E0062), but E0000, a 500 or a 503.
var docCodeStatus = map[string]string{
	"E1017": "400", "E1015": "400", "E1007": "400", "E0054": "400",
	"E1010": "401", "E1020": "401",
	"E1000": "403", "E1011": "403", "E1012": "403", "E1019": "403", "E1029": "403", "E1032": "403",
	"E1001": "404", "E1002": "404", "E1003": "404", "E1022": "404", "E1024": "404", "E1025": "404", "E1026": "404", "E0061": "404", "E0062": "404",
	"E1023": "409", "E1030": "409", "E1036": "409", "E1037": "409", "E0023": "409",
	"E1018": "413", "E1013": "429", "E1901": "410",
}

// docRaw reads the document.
func docRaw(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// docModel builds the v3 model of raw (the document unless a test
// changed it), failing the test on any error.
func docModel(t *testing.T, raw []byte) *v3.Document {
	t.Helper()
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &m.Model
}

// docJSON is the part of the document the structural checks read, as
// plain JSON.
type docJSON struct {
	OpenAPI  string                             `json:"openapi"`
	Security []map[string][]string              `json:"security"`
	Tags     []struct{ Name string }            `json:"tags"`
	Paths    map[string]map[string]docOperation `json:"paths"`
	// Components keep their raw JSON: checks resolve the $refs they need.
	Components struct {
		Schemas    map[string]json.RawMessage `json:"schemas"`
		Parameters map[string]docParameter    `json:"parameters"`
		Responses  map[string]docResponse     `json:"responses"`
		Headers    map[string]docHeader       `json:"headers"`
		Examples   map[string]docExample      `json:"examples"`
	} `json:"components"`
}

type docOperation struct {
	OperationID string                 `json:"operationId"`
	Tags        []string               `json:"tags"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description"`
	Capability  *string                `json:"x-tourd-capability"`
	Security    *[]map[string][]string `json:"security"`
	Parameters  []docParameter         `json:"parameters"`
	RequestBody *struct {
		Required bool                    `json:"required"`
		Content  map[string]docMediaType `json:"content"`
	} `json:"requestBody"`
	Responses map[string]docResponse `json:"responses"`
}

type docParameter struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type docResponse struct {
	Ref     string                  `json:"$ref"`
	Headers map[string]docHeader    `json:"headers"`
	Content map[string]docMediaType `json:"content"`
}

type docHeader struct {
	Ref      string `json:"$ref"`
	Required bool   `json:"required"`
	Schema   struct {
		Type string `json:"type"`
	} `json:"schema"`
}

type docMediaType struct {
	Schema struct {
		Ref string `json:"$ref"`
	} `json:"schema"`
	Examples map[string]docExample `json:"examples"`
}

type docExample struct {
	Ref   string `json:"$ref"`
	Value any    `json:"value"`
}

func docLoad(t *testing.T) *docJSON {
	t.Helper()
	var d docJSON
	if err := json.Unmarshal(docRaw(t), &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &d
}

// refName returns the name a local $ref of the given component kind
// points to, failing the test on any other reference.
func docRefName(t *testing.T, kind, ref string) string {
	t.Helper()
	name, ok := strings.CutPrefix(ref, "#/components/"+kind+"/")
	if !ok {
		t.Fatalf("%q is not a reference to #/components/%s", ref, kind)
	}
	return name
}

func (d *docJSON) response(t *testing.T, r docResponse) docResponse {
	t.Helper()
	if r.Ref == "" {
		return r
	}
	out, ok := d.Components.Responses[docRefName(t, "responses", r.Ref)]
	if !ok {
		t.Fatalf("no response %s", r.Ref)
	}
	return out
}

func (d *docJSON) header(t *testing.T, h docHeader) docHeader {
	t.Helper()
	if h.Ref == "" {
		return h
	}
	out, ok := d.Components.Headers[docRefName(t, "headers", h.Ref)]
	if !ok {
		t.Fatalf("no header %s", h.Ref)
	}
	return out
}

func (d *docJSON) example(t *testing.T, e docExample) docExample {
	t.Helper()
	if e.Ref == "" {
		return e
	}
	out, ok := d.Components.Examples[docRefName(t, "examples", e.Ref)]
	if !ok {
		t.Fatalf("no example %s", e.Ref)
	}
	return out
}

func (d *docJSON) parameter(t *testing.T, p docParameter) docParameter {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	out, ok := d.Components.Parameters[docRefName(t, "parameters", p.Ref)]
	if !ok {
		t.Fatalf("no parameter %s", p.Ref)
	}
	return out
}

// operations calls f with each operation and its "METHOD path".
func (d *docJSON) operations(f func(where string, op docOperation)) {
	for _, path := range slices.Sorted(maps.Keys(d.Paths)) {
		for _, method := range slices.Sorted(maps.Keys(d.Paths[path])) {
			f(strings.ToUpper(method)+" "+path, d.Paths[path][method])
		}
	}
}

// The document is an OpenAPI 3.1 document: libopenapi builds its v3 model
// without errors, and it is valid against the OpenAPI 3.1 schema.
func TestV2DocIsOpenAPI31(t *testing.T) {
	raw := docRaw(t)
	if d := docLoad(t); d.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", d.OpenAPI)
	}
	docModel(t, raw)
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("not a valid OpenAPI 3.1 document: %s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("    at %s: %s", f.FieldPath, f.Reason)
			}
		}
	}
}

// The document describes exactly the routes of docRoutes, each with the
// contract's success status and no other 2xx (a PUT is never 201), its
// error answers, and a path parameter for each segment of its template.
func TestV2DocRoutes(t *testing.T) {
	d := docLoad(t)
	seen := map[string]bool{}
	d.operations(func(where string, op docOperation) {
		seen[where] = true
		route, ok := docRoutes[where]
		if !ok {
			t.Errorf("%s is documented but is not a route of the contract", where)
			return
		}
		var statuses []string
		for s := range op.Responses {
			statuses = append(statuses, s)
			if strings.HasPrefix(s, "2") && s != route.success {
				t.Errorf("%s answers %s besides its %s", where, s, route.success)
			}
		}
		slices.Sort(statuses)
		if _, ok := op.Responses[route.success]; !ok {
			t.Errorf("%s does not answer %s", where, route.success)
		}
		if route.success == "204" && len(d.response(t, op.Responses["204"]).Content) != 0 {
			t.Errorf("%s: the 204 has a body", where)
		}
		if route.capability == "" {
			return
		}
		want := []string{"400", "401", "403", "429", "500", "503"}
		if !slices.Contains(docNoNotFound, where) {
			want = append(want, "404")
		}
		if slices.Contains(docConflicts, where) {
			want = append(want, "409")
		}
		if where == "GET "+docE+"/changes" {
			want = append(want, "410") // an expired cursor (webhooks.md §4)
		}
		// Every method's body is read: one over the limit is 413, on a
		// GET or a DELETE too.
		want = append(want, "413", route.success)
		slices.Sort(want)
		if !slices.Equal(statuses, want) {
			t.Errorf("%s answers %v, want %v", where, statuses, want)
		}
		// A PUT of a segment member and a webhook's actions (rotate-secret,
		// test, resend) have no body.
		hasBody := (strings.HasPrefix(where, "PUT") || strings.HasPrefix(where, "POST") || strings.HasPrefix(where, "PATCH")) &&
			!strings.HasSuffix(where, "/members/{externalId}") && !strings.HasSuffix(where, "/rotate-secret") &&
			!strings.HasSuffix(where, "/test") && !strings.HasSuffix(where, "/resend")
		if (op.RequestBody != nil) != hasBody {
			t.Errorf("%s: request body %v, want %v", where, op.RequestBody != nil, hasBody)
		}
		// The path parameters are exactly the template's.
		_, path, _ := strings.Cut(where, " ")
		var inPath, declared []string
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			inPath = append(inPath, m[1])
		}
		for _, p := range op.Parameters {
			if p := d.parameter(t, p); p.In == "path" {
				declared = append(declared, p.Name)
				if !p.Required {
					t.Errorf("%s: path parameter %s is not required", where, p.Name)
				}
			}
		}
		slices.Sort(inPath)
		slices.Sort(declared)
		if !slices.Equal(inPath, declared) {
			t.Errorf("%s declares the path parameters %v, want %v", where, declared, inPath)
		}
	})
	for where := range docRoutes {
		if !seen[where] {
			t.Errorf("%s is a route of the contract but is not documented", where)
		}
	}
}

// Every operation has an operationId unique in the document, a declared
// tag and a summary; every operation but GET /v2/openapi.json declares
// the bearer security and its capability, in x-tourd-capability and in
// its description; the document itself has an empty security.
func TestV2DocOperations(t *testing.T) {
	d := docLoad(t)
	var tags []string
	for _, tag := range d.Tags {
		tags = append(tags, tag.Name)
	}
	if len(d.Security) != 1 || d.Security[0]["bearer"] == nil {
		t.Errorf("the document's security is %v, want bearer", d.Security)
	}
	ids := map[string]string{}
	d.operations(func(where string, op docOperation) {
		switch {
		case op.OperationID == "":
			t.Errorf("%s has no operationId", where)
		case ids[op.OperationID] != "":
			t.Errorf("%s and %s share the operationId %q", where, ids[op.OperationID], op.OperationID)
		}
		ids[op.OperationID] = where
		if len(op.Tags) == 0 {
			t.Errorf("%s has no tags", where)
		}
		for _, tag := range op.Tags {
			if !slices.Contains(tags, tag) {
				t.Errorf("%s: tag %q is not declared", where, tag)
			}
		}
		if op.Summary == "" {
			t.Errorf("%s has no summary", where)
		}
		if where == "GET /v2/openapi.json" {
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s: security must be [] (no authentication)", where)
			}
			if op.Capability != nil {
				t.Errorf("%s needs no capability, has %q", where, *op.Capability)
			}
			return
		}
		if op.Security == nil || len(*op.Security) != 1 || len((*op.Security)[0]) != 1 || (*op.Security)[0]["bearer"] == nil {
			t.Errorf("%s does not declare the bearer security alone: %v", where, op.Security)
		}
		want := docRoutes[where].capability
		switch {
		case op.Capability == nil:
			t.Errorf("%s has no x-tourd-capability", where)
		case !slices.Contains(docCapabilities, *op.Capability):
			t.Errorf("%s: x-tourd-capability %q is not a capability of the v2 routes", where, *op.Capability)
		case *op.Capability != want && want != "":
			t.Errorf("%s: x-tourd-capability %q, want %q", where, *op.Capability, want)
		}
		if want != "" && !strings.Contains(op.Description, "Capability: "+want+".") {
			t.Errorf("%s: the description does not say \"Capability: %s.\"", where, want)
		}
	})
}

// Every answer of an authenticated operation carries the X-RateLimit-*
// headers, integers; a 429 and a 503 carry Retry-After too; every error
// answer is the error envelope; every request body is required and a
// closed object.
func TestV2DocAnswers(t *testing.T) {
	d := docLoad(t)
	d.operations(func(where string, op docOperation) {
		for status, r := range op.Responses {
			r := d.response(t, r)
			want := []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
			if status == "429" || status == "503" {
				want = append(want, "Retry-After")
			}
			for _, name := range want {
				h, ok := r.Headers[name]
				if !ok {
					t.Errorf("%s %s: no %s header", where, status, name)
					continue
				}
				h = d.header(t, h)
				if h.Schema.Type != "integer" {
					t.Errorf("%s %s: header %s is %q, want an integer", where, status, name, h.Schema.Type)
				}
				if !h.Required && where != "GET /v2/openapi.json" {
					t.Errorf("%s %s: header %s is not required", where, status, name)
				}
			}
			if status >= "400" {
				media, ok := r.Content["application/json"]
				if !ok || len(r.Content) != 1 || media.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s: the body is not the error envelope", where, status)
				}
				if len(media.Examples) == 0 {
					t.Errorf("%s %s: no example", where, status)
				}
				// Each example shows a code of this status.
				for name, ex := range media.Examples {
					body, _ := d.example(t, ex).Value.(map[string]any)
					errObj, _ := body["error"].(map[string]any)
					code, _ := errObj["code"].(string)
					if want := docCodeStatus[code]; want != status && (code != "E0000" || status != "500" && status != "503") {
						t.Errorf("%s %s example %s: code %q is a %s", where, status, name, code, want)
					}
				}
			}
		}
		if op.RequestBody == nil {
			return
		}
		if !op.RequestBody.Required {
			t.Errorf("%s: the request body is not required", where)
		}
		media, ok := op.RequestBody.Content["application/json"]
		if !ok || len(op.RequestBody.Content) != 1 {
			t.Errorf("%s: the request body is not application/json alone", where)
			return
		}
		var schema struct {
			Type                 string          `json:"type"`
			AdditionalProperties json.RawMessage `json:"additionalProperties"`
		}
		if err := json.Unmarshal(d.Components.Schemas[docRefName(t, "schemas", media.Schema.Ref)], &schema); err != nil {
			t.Fatal(err)
		}
		if schema.Type != "object" || string(schema.AdditionalProperties) != "false" {
			t.Errorf("%s: the body schema %s is not a closed object", where, media.Schema.Ref)
		}
	})
	// The error envelope: the error object alone, with code, message,
	// doc_url and optional issues of {rule, message, path}.
	m := docModel(t, docRaw(t))
	envelope := m.Components.Schemas.GetOrZero("Error").Schema()
	errObj := envelope.Properties.GetOrZero("error").Schema()
	if got := slices.Sorted(errObj.Properties.KeysFromOldest()); !slices.Equal(got, []string{"code", "doc_url", "issues", "message"}) {
		t.Errorf("the error object has %v", got)
	}
	if !slices.Equal(errObj.Required, []string{"code", "message", "doc_url"}) {
		t.Errorf("the error object requires %v", errObj.Required)
	}
	issue := errObj.Properties.GetOrZero("issues").Schema().Items.A.Schema()
	if got := slices.Sorted(issue.Properties.KeysFromOldest()); !slices.Equal(got, []string{"message", "path", "rule"}) {
		t.Errorf("an issue has %v", got)
	}
}

// The objects have exactly the keys of the contract: v1's, plus predefined
// on definitions, attributes on event definitions, the environment's eight
// keys, the segment's (conditions and memberCount optional) and the
// webhook's (secret optional).
func TestV2DocObjects(t *testing.T) {
	m := docModel(t, docRaw(t))
	for name, keys := range map[string]string{
		"User":                "id object attributes createdAt created_at companies memberships",
		"Company":             "id object attributes createdAt created_at users memberships",
		"UserSummary":         "id object attributes createdAt created_at",
		"CompanySummary":      "id object attributes createdAt created_at",
		"Membership":          "id object attributes createdAt created_at companyId userId company user",
		"CompanyMembership":   "id object attributes createdAt created_at companyId userId",
		"AttributeDefinition": "id object predefined createdAt created_at dataType description displayName codeName scope",
		"EventDefinition":     "id object predefined createdAt created_at description displayName codeName attributes",
		"Environment":         "id object name isPrimary token inTokenScope createdAt updatedAt",
		"UserList":            "results next previous", "CompanyList": "results next previous",
		"AttributeDefinitionList": "results next previous", "EventDefinitionList": "results next previous",
		"EnvironmentList": "results next previous",
		"Segment":         "id object name bizType kind conditions memberCount createdAt updatedAt", "SegmentList": "results next previous",
		"Webhook":                "id object createdAt url topics enabled description consecutiveFailures cooldownUntil autoDisabledAt secret",
		"WebhookList":            "results next previous",
		"WebhookDelivery":        "id object type status createdAt nextAttemptAt attempts",
		"WebhookDeliveryAttempt": "attempt createdAt success responseStatus error durationMs responseBody",
		"WebhookDeliveryList":    "results next previous",
	} {
		proxy := m.Components.Schemas.GetOrZero(name)
		if proxy == nil {
			t.Errorf("schema %s missing", name)
			continue
		}
		s := proxy.Schema()
		want := strings.Fields(keys)
		if got := slices.Collect(s.Properties.KeysFromOldest()); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("schema %s has %v, want %v", name, got, want)
		}
		wantRequired := slices.DeleteFunc(slices.Clone(want), func(k string) bool {
			return name == "Membership" && (k == "company" || k == "user") || name == "Segment" && (k == "conditions" || k == "memberCount") ||
				name == "Webhook" && k == "secret"
		})
		if !slices.Equal(slices.Sorted(slices.Values(s.Required)), slices.Sorted(slices.Values(wantRequired))) {
			t.Errorf("schema %s requires %v, want %v", name, s.Required, wantRequired)
		}
	}
	token := m.Components.Schemas.GetOrZero("Environment").Schema().Properties.GetOrZero("token").Schema()
	if !slices.Equal(token.Type, []string{"string", "null"}) {
		t.Errorf("Environment.token is %v, want string or null", token.Type)
	}
}

// docValidator checks values against schemas of the document.
type docValidator struct {
	t  *testing.T
	sv schema_validation.SchemaValidator
}

func (v docValidator) check(where string, schema *base.SchemaProxy, value any) {
	v.t.Helper()
	if schema == nil {
		v.t.Errorf("%s: no schema", where)
		return
	}
	if ok, errs := v.sv.ValidateSchemaObject(schema.Schema(), value); !ok {
		for _, e := range errs {
			v.t.Errorf("%s: example is not valid: %s", where, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				v.t.Errorf("    at %s: %s", f.FieldPath, f.Reason)
			}
		}
	}
}

// Every request and response body in the document has at least one
// example, and every example (of a body, a schema, a parameter or a
// header) is valid against its schema.
func TestV2DocExamples(t *testing.T) {
	m := docModel(t, docRaw(t))
	v := docValidator{t, schema_validation.NewSchemaValidator()}
	decode := func(where string, n interface{ Decode(any) error }) any {
		var out any
		if err := n.Decode(&out); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		return out
	}
	bodies := func(where string, content *orderedmap.Map[string, *v3.MediaType]) {
		for mt, media := range content.FromOldest() {
			if media.Examples.Len() == 0 {
				t.Errorf("%s %s has no example", where, mt)
			}
			for name, ex := range media.Examples.FromOldest() {
				at := fmt.Sprintf("%s %s example %s", where, mt, name)
				if ex.Value == nil {
					t.Errorf("%s has no value", at)
					continue
				}
				v.check(at, media.Schema, decode(at, ex.Value))
			}
		}
	}
	headers := func(where string, hs *orderedmap.Map[string, *v3.Header]) {
		for name, h := range hs.FromOldest() {
			if h.Example != nil {
				at := where + " header " + name
				v.check(at, h.Schema, decode(at, h.Example))
			}
		}
	}
	n := 0
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			where := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil {
				bodies(where+" request", op.RequestBody.Content)
			}
			for code, r := range op.Responses.Codes.FromOldest() {
				bodies(where+" response "+code, r.Content)
				headers(where+" response "+code, r.Headers)
				if r.Content != nil {
					n += r.Content.Len()
				}
			}
			for _, p := range op.Parameters {
				if p.Example != nil {
					at := where + " parameter " + p.Name
					v.check(at, p.Schema, decode(at, p.Example))
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d response bodies found", n)
	}
	for name, schema := range m.Components.Schemas.FromOldest() {
		for i, ex := range schema.Schema().Examples {
			at := fmt.Sprintf("schema %s example %d", name, i)
			v.check(at, schema, decode(at, ex))
		}
	}
	headers("components", m.Components.Headers)
}

// docKindOf names the branch of AttributeValue a value belongs to under
// v2's strict rule: null is none, a scalar or an array is a literal, an
// object is the operation its operation key names ("" with no such key).
func docKindOf(v any) string {
	obj, ok := v.(map[string]any)
	if v == nil {
		return ""
	}
	if !ok {
		return "AttributeLiteral"
	}
	for k := range obj {
		if name, op := openapitest.Operations[k]; op {
			return name
		}
	}
	return ""
}

// AttributeValue is a oneOf that each operation example matches exactly
// once, in its own operation's schema, and that scalars and arrays match
// as literals; under v2's strict rule an object that is not an operation
// ({}, one with a key outside the vocabulary, an object operand of set)
// matches nothing, and neither does a malformed operation.
func TestV2DocAttributeValue(t *testing.T) {
	a := openapitest.NewAttributeValue(t, docRaw(t))
	m := docModel(t, docRaw(t))
	for key, name := range openapitest.Operations {
		s := m.Components.Schemas.GetOrZero(name).Schema()
		if !slices.Equal(s.Required, []string{key}) {
			t.Errorf("%s requires %v, want [%s]", name, s.Required, key)
		}
		if ap := s.AdditionalProperties; ap == nil || !ap.IsB() || ap.B {
			t.Errorf("%s does not have additionalProperties: false", name)
		}
		if len(s.Examples) == 0 {
			t.Errorf("%s has no example", name)
		}
		for i, ex := range s.Examples {
			var v any
			if err := ex.Decode(&v); err != nil {
				t.Fatal(err)
			}
			a.Check(fmt.Sprintf("%s example %d", name, i), v, name)
		}
	}
	for _, s := range []string{`"pro"`, `12`, `-0.5`, `true`, `[]`, `["beta",1]`, `"2027-01-31T00:00:00.000Z"`} {
		a.Check("literal", openapitest.MustDecode(t, s), "AttributeLiteral")
	}
	a.Check("null", nil, "")
	for _, s := range []string{`{}`, `{"a":1}`, `{"theme":"dark","add":1}`, `{"Set":1}`, `{"set":1,"note":"x"}`,
		`{"data_type":"number","x":1}`, `{"set":{"a":1}}`, `{"set_once":{"a":1}}`,
		`{"data_type":"number"}`, `{"set":1,"add":2}`, `{"subtract":1,"set_once":2}`,
		`{"add":"1"}`, `{"add":null}`, `{"add":1,"data_type":"number"}`, `{"union":["a"],"data_type":"list"}`,
		`{"set":1,"data_type":"date"}`, `{"set_once":null}`, `{"union":null}`, `{"union":[null]}`,
		`{"append":[{"a":1}]}`, `{"remove":[["a"]]}`, `{"prepend":{"a":1}}`} {
		if v := openapitest.MustDecode(t, s); a.Valid("AttributeValue", v) {
			t.Errorf("%s is a valid AttributeValue; v2 refuses it", s)
		}
	}
	// The attribute keys of a write follow the codeName rule.
	names := m.Components.Schemas.GetOrZero("AttributeWrite").Schema().PropertyNames.Schema()
	if names.Pattern != "^[a-zA-Z][a-zA-Z0-9_]*$" || names.MinLength == nil || *names.MinLength != 2 || names.MaxLength == nil || *names.MaxLength != 100 {
		t.Errorf("the keys of AttributeWrite are not codeNames: %q %v %v", names.Pattern, names.MinLength, names.MaxLength)
	}
	for _, body := range []string{"UpsertUserBody", "UpsertCompanyBody", "UpsertMembershipBody"} {
		if ref := m.Components.Schemas.GetOrZero(body).Schema().Properties.GetOrZero("attributes").GetReference(); ref != "#/components/schemas/AttributeWrite" {
			t.Errorf("%s.attributes is %q, want AttributeWrite", body, ref)
		}
	}
}

// Every attribute value in the examples of the upserts is a valid
// AttributeValue in the branch its shape gives, and the user upsert's
// examples show every operation and a literal.
func TestV2DocAttributeExamples(t *testing.T) {
	a := openapitest.NewAttributeValue(t, docRaw(t))
	d := docLoad(t)
	shown := map[string]bool{}
	for _, where := range []string{"PUT " + docE + "/users/{id}", "PUT " + docE + "/companies/{id}", "PUT " + docE + "/companies/{id}/memberships/{userId}"} {
		method, path, _ := strings.Cut(where, " ")
		op := d.Paths[path][strings.ToLower(method)]
		if op.RequestBody == nil {
			t.Fatalf("%s has no request body", where)
		}
		for name, ex := range op.RequestBody.Content["application/json"].Examples {
			attrs, _ := ex.Value.(map[string]any)["attributes"].(map[string]any)
			for k, v := range attrs {
				kind := docKindOf(v)
				a.Check(fmt.Sprintf("%s example %s: attributes.%s", where, name, k), v, kind)
				if strings.HasSuffix(path, "/users/{id}") {
					shown[kind] = true
				}
			}
		}
	}
	for key, name := range openapitest.Operations {
		if !shown[name] {
			t.Errorf("no example of the user PUT shows the operation %s", key)
		}
	}
	if !shown["AttributeLiteral"] {
		t.Errorf("no example of the user PUT shows a literal")
	}
}
