// Package openapitest holds what the tests of the v1 and v2 OpenAPI
// documents share: the served document's validator, and the check of the
// attribute value grammar, whose schemas (AttributeValue, AttributeLiteral
// and one per operation) both documents define alike.
package openapitest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Operations names the schema of each attribute operation, by its key.
var Operations = map[string]string{
	"set": "SetOperation", "set_once": "SetOnceOperation", "add": "AddOperation", "subtract": "SubtractOperation",
	"union": "UnionOperation", "append": "AppendOperation", "prepend": "PrependOperation", "remove": "RemoveOperation",
}

// AttributeValue validates values against AttributeValue and tells which
// of its named branches (AttributeLiteral and the operations) they match.
// The validator takes a top-level null for no value at all, and accepts
// it; so each value is validated as the one value of a map whose values
// must match the schema (a wrapper schema added to a copy of the
// document), where a null is a value like any other.
type AttributeValue struct {
	t        testing.TB
	sv       schema_validation.SchemaValidator
	wrappers map[string]*base.Schema // schema name -> {"additionalProperties": {"$ref": name}}
	branches []string
}

// NewAttributeValue prepares the wrappers of AttributeValue and of each
// of its named branches in spec, an OpenAPI document.
func NewAttributeValue(t testing.TB, spec []byte) *AttributeValue {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	a := &AttributeValue{t: t, sv: schema_validation.NewSchemaValidator(), wrappers: map[string]*base.Schema{}}
	a.branches = append([]string{"AttributeLiteral"}, slices.Collect(maps.Values(Operations))...)
	slices.Sort(a.branches)
	names := append([]string{"AttributeValue"}, a.branches...)
	for _, name := range names {
		if schemas[name] == nil {
			t.Fatalf("schema %s missing", name)
		}
		schemas["Test"+name] = map[string]any{"type": "object", "additionalProperties": map[string]any{"$ref": "#/components/schemas/" + name}}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		a.wrappers[name] = m.Model.Components.Schemas.GetOrZero("Test" + name).Schema()
	}
	return a
}

// Valid reports whether v is valid against the schema name.
func (a *AttributeValue) Valid(name string, v any) bool {
	ok, _ := a.sv.ValidateSchemaObject(a.wrappers[name], map[string]any{"v": v})
	return ok
}

// Check fails the test unless v is a valid AttributeValue that matches
// exactly the branch want ("" for none: null).
func (a *AttributeValue) Check(where string, v any, want string) {
	a.t.Helper()
	if !a.Valid("AttributeValue", v) {
		a.t.Errorf("%s: %s is not a valid AttributeValue", where, MustJSON(v))
	}
	var got, wantList []string
	for _, name := range a.branches {
		if a.Valid(name, v) {
			got = append(got, name)
		}
	}
	if want != "" {
		wantList = []string{want}
	}
	if !slices.Equal(got, wantList) {
		a.t.Errorf("%s: %s matches %v, want %v", where, MustJSON(v), got, wantList)
	}
}

// MustJSON is v as JSON, for failure messages.
func MustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// MustDecode decodes the JSON text s.
func MustDecode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// Served fetches the OpenAPI document a test server serves at url and
// returns it raw, its v3 model, and a validator of requests and answers
// built with opts, failing the test unless the document is a valid OpenAPI
// 3.1 document.
func Served(t testing.TB, client *http.Client, url string, opts ...config.Option) ([]byte, *v3.Document, validator.Validator) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.1 document:\n%s", Describe(verrs))
	}
	return raw, &m.Model, v
}

// Describe lists validation errors for a failure message.
func Describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      at %s: %s", f.FieldPath, f.Reason)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
