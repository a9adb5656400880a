package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"tourd/internal/backendtest"
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
		"User": userJSON{}, "Company": companyJSON{}, "Membership": membershipJSON{},
		"UserSummary": summaryJSON{}, "CompanySummary": summaryJSON{},
		"AttributeDefinition": attributeDefinitionJSON{}, "EventDefinition": eventDefinitionJSON{},
		"Deleted": deletedJSON{}, "Error": errorBody{}, "UserList": listJSON{}, "Import": importJSON{}, "Event": eventJSON{},
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
