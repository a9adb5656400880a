package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"tourd/internal/httpapi"
	"tourd/internal/httpapi/wire"
)

// Routes of another package, registered with Handle, get request ids,
// request log lines, metrics by route pattern and panic recovery as the
// v1 routes do.
func TestHandle(t *testing.T) {
	e := newLogEnv(t, func(api *httpapi.Server) {
		api.Handle("GET /test/things/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wire.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
		}))
		api.Handle("/test/panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	})

	status, id := e.send(t, "GET", "/test/things/a%2Fb", "", "")
	if status != http.StatusOK || id == "" {
		t.Fatalf("GET /test/things/a%%2Fb: status %d, X-Request-Id %q", status, id)
	}
	if line := e.requestLine(t, id); line["pattern"] != "GET /test/things/{id}" || line["status"] != float64(200) {
		t.Errorf("logged %v, want pattern GET /test/things/{id} and status 200", line)
	}
	if body := e.call("GET", "/test/things/%2F", "", "").want(t, http.StatusOK); body["id"] != "/" {
		t.Errorf("GET /test/things/%%2F: id %v, want /", body["id"])
	}

	res := e.call("GET", "/test/panic", "", "")
	res.wantError(t, http.StatusInternalServerError, "E0000")
	line := e.requestLine(t, res.header.Get("X-Request-Id"))
	if line["pattern"] != "/test/panic" || line["status"] != float64(500) || line["code"] != "E0000" {
		t.Errorf("the panic logged %v, want pattern /test/panic, status 500 and code E0000", line)
	}
	if !strings.Contains(e.logs.String(), `"msg":"panic"`) {
		t.Errorf("the panic is not logged:\n%s", e.logs)
	}

	scraped, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(scraped.Body)
	scraped.Body.Close()
	for _, want := range []string{
		`tourd_http_requests_total{method="GET",route="GET /test/things/{id}",status="200"} 1`,
		`tourd_http_requests_total{method="GET",route="/test/panic",status="500"} 1`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
}
