package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"tourd/internal/backendtest"
)

func TestMetrics(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u"}`).want(t, 201)
		e.do("GET", "/v1/users/u", "").want(t, 200)
		e.do("GET", "/v1/users/u", "").want(t, 200)
		e.do("GET", "/v1/users/nope", "").wantError(t, 404, "E1001")
		e.do("BREW", "/v1/users", "").wantError(t, 405, "E1033")
		e.do("GET", "/nowhere/"+strings.Repeat("x", 10), "").wantError(t, 404, "E1033")
		res, err := http.Get(e.srv.URL + "/metrics") // no key: a service endpoint
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
			t.Fatalf("GET /metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		text := string(body)
		for _, want := range []string{
			`tourd_http_requests_total{method="POST",route="/v1/users",status="201"} 1`,
			`tourd_http_requests_total{method="GET",route="/v1/users/{id}",status="200"} 2`,
			`tourd_http_requests_total{method="GET",route="/v1/users/{id}",status="404"} 1`,
			`tourd_http_requests_total{method="other",route="/v1/users",status="405"} 1`,
			`tourd_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`tourd_http_request_duration_seconds_count{method="GET",route="/v1/users/{id}",status="200"} 2`,
			`tourd_http_request_duration_seconds_bucket{method="GET",route="/v1/users/{id}",status="200",le="+Inf"} 2`,
			"# TYPE tourd_http_request_duration_seconds histogram",
			"tourd_db_open_connections ", "tourd_db_max_open_connections ", "go_goroutines ", "go_gc_cycles_total ",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %q:\n%s", want, text)
			}
		}
		// Every sample line is name{labels} value, or name value.
		sample := regexp.MustCompile(`^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? [-+0-9.eInfNa]+$`)
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			if !strings.HasPrefix(line, "#") && !sample.MatchString(line) {
				t.Errorf("malformed sample line %q", line)
			}
		}
	})
}
