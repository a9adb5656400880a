package apiv2

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRouter checks that openapi.json describes exactly the
// routes the router serves, each with the capability the router checks.
func TestOpenAPIMatchesRouter(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Capability string `json:"x-tourd-capability"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	served := []string{"GET /v2/openapi.json"}
	for _, rt := range routes {
		served = append(served, rt.method+" "+projectPath+rt.path)
		op, ok := doc.Paths[projectPath+rt.path][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("%s %s is served but not in openapi.json", rt.method, projectPath+rt.path)
			continue
		}
		if op.Capability != string(rt.cap) {
			t.Errorf("%s %s: openapi.json says capability %q, the router checks %q", rt.method, projectPath+rt.path, op.Capability, rt.cap)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "patch", "delete", "head", "options", "trace":
				if m := strings.ToUpper(method) + " " + path; !slices.Contains(served, m) {
					t.Errorf("openapi.json describes %s, which is not served", m)
				}
			}
		}
	}
}
