package apiv2

import (
	_ "embed"
	"net/http"

	"tourd/internal/httpapi"
)

// openAPISpec is tourd's OpenAPI 3.1 document of the v2 routes it serves.
//
//go:embed openapi.json
var openAPISpec []byte

// openAPI serves GET /v2/openapi.json, without authentication. It is a
// routed /v2 request: it counts in the client address's bucket and carries
// the X-RateLimit-* headers (v2.md §10).
func (a *api) openAPI() http.Handler {
	get := map[string]struct{}{http.MethodGet: {}}
	return httpapi.ByMethod(a.srv, get, func(w http.ResponseWriter, r *http.Request, _ struct{}) {
		if err := a.limit(w, r, ""); err != nil {
			a.srv.WriteError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(openAPISpec)
	})
}
