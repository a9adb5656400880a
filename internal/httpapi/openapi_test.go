package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi/openapitest"
	"tourd/internal/httpapi/wire"
)

type specDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadSpec(t *testing.T) specDoc {
	t.Helper()
	var spec specDoc
	if err := json.Unmarshal(openAPISpec, &spec); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if spec.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", spec.OpenAPI)
	}
	return spec
}

// The route table and the document's paths match in both directions.
func TestOpenAPIRoutes(t *testing.T) {
	spec := loadSpec(t)
	served := map[string]bool{}
	for _, rt := range routes {
		served[strings.ToLower(rt.method)+" "+rt.path] = true
	}
	for _, rt := range serviceRoutes {
		served["get "+rt.path] = true
	}
	for key := range served {
		method, path, _ := strings.Cut(key, " ")
		if _, ok := spec.Paths[path][method]; !ok {
			t.Errorf("%s is served but missing from openapi.json", key)
		}
	}
	for path, ops := range spec.Paths {
		for method := range ops {
			if !served[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not served", method, path)
			}
		}
	}
}

// jsonFields lists a struct type's JSON field names, embedded structs
// flattened, as encoding/json sees them.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Each wire type's fields are exactly its schema's properties.
func TestOpenAPISchemas(t *testing.T) {
	spec := loadSpec(t)
	for schema, v := range map[string]any{
		"User": wire.User{}, "Company": wire.Company{}, "Membership": wire.Membership{},
		"UserSummary": wire.Summary{}, "CompanySummary": wire.Summary{},
		"AttributeDefinition": wire.AttributeDefinition{}, "EventDefinition": wire.EventDefinition{},
		"Deleted": deletedJSON{}, "Error": wire.ErrorBody{}, "Import": importJSON{}, "ImportError": importErrorJSON{}, "Event": wire.Event{},
		"UserList": wire.List{}, "CompanyList": wire.List{}, "AttributeDefinitionList": wire.List{}, "EventDefinitionList": wire.List{}, "EventList": wire.List{},
	} {
		s, ok := spec.Components.Schemas[schema]
		if !ok {
			t.Errorf("schema %s missing", schema)
			continue
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		slices.Sort(props)
		if want := jsonFields(reflect.TypeOf(v)); !slices.Equal(props, want) {
			t.Errorf("schema %s has properties %v, the wire type has %v", schema, props, want)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(New(backendtest.SQLite.Open(t), backendtest.Discard, ""))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v1/openapi.json") // no key
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != 200 || doc["openapi"] != "3.1.0" {
		t.Errorf("GET /v1/openapi.json: %d, %v", res.StatusCode, err)
	}
}

// Every operation has an operationId, unique in the document, so that
// generated clients get one stable method name per route; and tags, which
// group those methods.
func TestOpenAPIOperationIDs(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string   `json:"operationId"`
			Tags        []string `json:"tags"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			where := strings.ToUpper(method) + " " + path
			switch {
			case op.OperationID == "":
				t.Errorf("%s has no operationId", where)
			case seen[op.OperationID] != "":
				t.Errorf("%s and %s share the operationId %q", where, seen[op.OperationID], op.OperationID)
			}
			seen[op.OperationID] = where
			if len(op.Tags) == 0 {
				t.Errorf("%s has no tags", where)
			}
		}
	}
}

// specModel parses the embedded document with libopenapi.
func specModel(t *testing.T) *v3.Document {
	t.Helper()
	doc, err := libopenapi.NewDocument(openAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	return &m.Model
}

// importLine names the schema each line of an import body must follow.
var importLine = map[string]string{"/v1/users/import": "UserInput", "/v1/companies/import": "CompanyInput"}

// Every request and response body in the document has at least one
// example, and every example (of a body, a schema or a parameter) is valid
// against its schema; each line of an NDJSON example is valid against the
// schema of a line.
func TestOpenAPIExamples(t *testing.T) {
	m := specModel(t)
	sv := schema_validation.NewSchemaValidator()
	check := func(where string, schema *base.SchemaProxy, value any) {
		t.Helper()
		if ok, errs := sv.ValidateSchemaObject(schema.Schema(), value); !ok {
			for _, e := range errs {
				t.Errorf("%s: example is not valid: %s", where, e.Reason)
				for _, f := range e.SchemaValidationErrors {
					t.Errorf("    at %s: %s", f.FieldPath, f.Reason)
				}
			}
		}
	}
	bodies := func(where, path string, content *orderedmap.Map[string, *v3.MediaType]) {
		for mt, media := range content.FromOldest() {
			if media.Examples.Len() == 0 {
				t.Errorf("%s %s has no example", where, mt)
			}
			for name, ex := range media.Examples.FromOldest() {
				var v any
				if err := ex.Value.Decode(&v); err != nil {
					t.Fatalf("%s %s example %s: %v", where, mt, name, err)
				}
				check(fmt.Sprintf("%s %s example %s", where, mt, name), media.Schema, v)
				line := importLine[path]
				if text, ok := v.(string); ok && line != "" && strings.HasPrefix(where, "POST") && !strings.Contains(where, "response") {
					for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
						var obj any
						if err := json.Unmarshal([]byte(l), &obj); err != nil {
							t.Errorf("%s %s example %s line %d: %v", where, mt, name, i+1, err)
						}
						check(fmt.Sprintf("%s %s example %s line %d", where, mt, name, i+1), m.Components.Schemas.GetOrZero(line), obj)
					}
				}
			}
		}
	}
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			where := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil {
				bodies(where+" request", path, op.RequestBody.Content)
			}
			for code, r := range op.Responses.Codes.FromOldest() {
				bodies(where+" response "+code, path, r.Content)
			}
			for _, p := range op.Parameters {
				if p.Example != nil {
					var v any
					if err := p.Example.Decode(&v); err != nil {
						t.Fatal(err)
					}
					check(where+" parameter "+p.Name, p.Schema, v)
				}
			}
		}
	}
	for name, schema := range m.Components.Schemas.FromOldest() {
		for i, ex := range schema.Schema().Examples {
			var v any
			if err := ex.Decode(&v); err != nil {
				t.Fatal(err)
			}
			check(fmt.Sprintf("schema %s example %d", name, i), schema, v)
		}
	}
}

// Every id the API takes (path ids, the membership's query ids, the ids
// of bodies) carries the id rules: non-empty, at most 1,024 (bytes, which
// maxLength can only bound in characters), no NUL.
func TestOpenAPIIDRules(t *testing.T) {
	m := specModel(t)
	rules := func(where string, s *base.Schema) {
		t.Helper()
		length := func(n *int64) int64 {
			if n == nil {
				return -1
			}
			return *n
		}
		if length(s.MinLength) != 1 || length(s.MaxLength) != 1024 || s.Pattern != `^[^\x00]*$` {
			t.Errorf("%s: minLength %d, maxLength %d, pattern %q; want 1, 1024 and no NUL", where, length(s.MinLength), length(s.MaxLength), s.Pattern)
		}
		if !strings.Contains(s.Description, "1,024 bytes") && !strings.Contains(where, "parameter") {
			t.Errorf("%s: the description does not say the limit is in bytes: %q", where, s.Description)
		}
	}
	n := 0
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			for _, p := range op.Parameters {
				if p.In == "path" || path == "/v1/company-memberships" {
					where := fmt.Sprintf("%s %s parameter %s", strings.ToUpper(method), path, p.Name)
					rules(where, p.Schema.Schema())
					if !strings.Contains(p.Description, "1,024 bytes") {
						t.Errorf("%s: the description does not say the limit is in bytes: %q", where, p.Description)
					}
					n++
				}
			}
		}
	}
	for _, name := range []string{"CompanyInput", "UserInput", "EventInput"} {
		props := m.Components.Schemas.GetOrZero(name).Schema().Properties
		for _, field := range []string{"id", "userId", "companyId"} {
			if p := props.GetOrZero(field); p != nil {
				rules(name+"."+field, p.Schema())
				n++
			}
		}
	}
	if n < 10 {
		t.Errorf("found only %d ids to check", n)
	}
}

// kindOf names the branch of AttributeValue a value sent in a write
// belongs to, by the v1 literal rule: an object made only of vocabulary
// keys is the operation its operation key names; null is none; anything
// else is a literal.
func kindOf(v any) string {
	obj, ok := v.(map[string]any)
	if v == nil {
		return ""
	}
	if !ok || len(obj) == 0 {
		return "AttributeLiteral"
	}
	kind := ""
	for k := range obj {
		switch name, op := openapitest.Operations[k]; {
		case op:
			kind = name
		case k != "data_type":
			return "AttributeLiteral"
		}
	}
	return kind
}

// AttributeValue is a oneOf that the values of every grammar case match
// exactly once, in the branch the v1 literal rule gives them: each
// operation example in its own operation's schema, literal objects
// (with a key outside the vocabulary, or empty) as literals; and a
// malformed operation matches no branch.
func TestOpenAPIAttributeValue(t *testing.T) {
	a := openapitest.NewAttributeValue(t, openAPISpec)
	m := specModel(t)
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
	for _, s := range []string{`"pro"`, `12`, `-0.5`, `true`, `[]`, `["beta",1,null,{"add":1}]`,
		`{}`, `{"a":1}`, `{"theme":"dark","add":1}`, `{"Set":1}`, `{"set":1,"note":"x"}`, `{"data_type":"number","x":1}`} {
		a.Check("literal", openapitest.MustDecode(t, s), "AttributeLiteral")
	}
	a.Check("null", nil, "")
	for _, s := range []string{`{"data_type":"number"}`, `{"set":1,"add":2}`, `{"subtract":1,"set_once":2}`,
		`{"add":"1"}`, `{"add":null}`, `{"add":1,"data_type":"number"}`, `{"union":["a"],"data_type":"list"}`,
		`{"set":1,"data_type":"date"}`, `{"set_once":null}`, `{"union":null}`, `{"union":[null]}`,
		`{"append":[{"a":1}]}`, `{"remove":[["a"]]}`, `{"prepend":{"a":1}}`} {
		if v := openapitest.MustDecode(t, s); a.Valid("AttributeValue", v) {
			t.Errorf("malformed operation %s is a valid AttributeValue", s)
		}
	}
}

// requestAttributeMaps calls f with the path and value of each attribute
// map of v, a request body or an import line, at any depth.
func requestAttributeMaps(path string, v any, f func(path string, attrs map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if m, ok := e.(map[string]any); ok && k == "attributes" {
				f(path+"attributes", m)
				continue
			}
			requestAttributeMaps(path+k+".", e, f)
		}
	case []any:
		for i, e := range v {
			requestAttributeMaps(fmt.Sprintf("%s%d.", path, i), e, f)
		}
	}
}

// Every attribute value in the examples of the bodies that write
// attributes (user and company upserts, import lines) is a valid
// AttributeValue in the branch the v1 literal rule gives it, and the user
// upsert's examples show every operation.
func TestOpenAPIAttributeExamples(t *testing.T) {
	a := openapitest.NewAttributeValue(t, openAPISpec)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Examples map[string]struct {
						Value any `json:"value"`
					} `json:"examples"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, path := range []string{"/v1/users", "/v1/companies", "/v1/users/import", "/v1/companies/import"} {
		for mt, media := range doc.Paths[path]["post"].RequestBody.Content {
			for name, ex := range media.Examples {
				bodies := []any{ex.Value}
				if text, ok := ex.Value.(string); ok {
					bodies = nil
					for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
						bodies = append(bodies, openapitest.MustDecode(t, line))
					}
				}
				for _, body := range bodies {
					requestAttributeMaps("", body, func(field string, attrs map[string]any) {
						for k, v := range attrs {
							kind := kindOf(v)
							a.Check(fmt.Sprintf("POST %s %s example %s: %s.%s", path, mt, name, field, k), v, kind)
							if path == "/v1/users" {
								shown[kind] = true
							}
						}
					})
				}
			}
		}
	}
	for key, name := range openapitest.Operations {
		if !shown[name] {
			t.Errorf("no example of POST /v1/users shows the operation %s", key)
		}
	}
	if !shown["AttributeLiteral"] {
		t.Errorf("no example of POST /v1/users shows a literal")
	}
}

// Every attribute map a request writes (the user's, its companies', its
// memberships' and their companies', a company's, and so each import
// line's) is an AttributeWrite, a map of AttributeValue, whose
// description carries the v1 literal rule and the warning that add is
// not idempotent; the event's attributes and the stored attributes of
// answers keep their schemas.
func TestOpenAPIAttributeWrite(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Description          string          `json:"description"`
				AdditionalProperties json.RawMessage `json:"additionalProperties"`
				Properties           map[string]struct {
					Ref   string `json:"$ref"`
					Items struct {
						Ref string `json:"$ref"`
					} `json:"items"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	const prefix = "#/components/schemas/"
	for _, tt := range []struct{ schema, want string }{
		{"UserInput", "AttributeWrite"}, {"CompanyInput", "AttributeWrite"}, {"MembershipInput", "AttributeWrite"},
		{"EventInput", "AttributesInput"},
		{"User", "Attributes"}, {"Company", "Attributes"}, {"Membership", "Attributes"}, {"Event", "Attributes"},
		{"UserSummary", "Attributes"}, {"CompanySummary", "Attributes"},
	} {
		if got := schemas[tt.schema].Properties["attributes"].Ref; got != prefix+tt.want {
			t.Errorf("%s.attributes is %q, want %s", tt.schema, got, prefix+tt.want)
		}
	}
	// The nested inputs: companies[] and memberships[].company are
	// CompanyInput, memberships[] is MembershipInput.
	for _, tt := range []struct{ schema, prop, want string }{
		{"UserInput", "companies", "CompanyInput"}, {"UserInput", "memberships", "MembershipInput"},
	} {
		if got := schemas[tt.schema].Properties[tt.prop].Items.Ref; got != prefix+tt.want {
			t.Errorf("%s.%s items are %q, want %s", tt.schema, tt.prop, got, prefix+tt.want)
		}
	}
	if got := schemas["MembershipInput"].Properties["company"].Ref; got != prefix+"CompanyInput" {
		t.Errorf("MembershipInput.company is %q", got)
	}
	// The upserts' bodies are UserInput and CompanyInput, and so is each
	// line of their imports.
	for _, tt := range []struct{ path, want string }{{"/v1/users", "UserInput"}, {"/v1/companies", "CompanyInput"}} {
		if got := doc.Paths[tt.path]["post"].RequestBody.Content["application/json"].Schema.Ref; got != prefix+tt.want {
			t.Errorf("the body of POST %s is %q, want %s", tt.path, got, prefix+tt.want)
		}
		if got := importLine[tt.path+"/import"]; got != tt.want {
			t.Errorf("the lines of POST %s/import are checked against %s, want %s", tt.path, got, tt.want)
		}
	}
	var values struct {
		Ref string `json:"$ref"`
	}
	if err := json.Unmarshal(schemas["AttributeWrite"].AdditionalProperties, &values); err != nil || values.Ref != prefix+"AttributeValue" {
		t.Errorf("AttributeWrite's values are %s, want AttributeValue", schemas["AttributeWrite"].AdditionalProperties)
	}
	for _, name := range []string{"AttributeWrite", "AttributeValue"} {
		d := schemas[name].Description
		for _, want := range []string{"v1 literal rule", "or {}", "not idempotent"} {
			if !strings.Contains(d, want) {
				t.Errorf("the description of %s does not say %q", name, want)
			}
		}
	}
	for _, want := range []string{"{\"set\": v, \"data_type\": t}", "400 E1017"} {
		if d := schemas["AttributesInput"].Description; !strings.Contains(d, want) {
			t.Errorf("the description of the event's attributes does not say %q", want)
		}
	}
}
