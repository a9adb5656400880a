package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
)

// logEnv is a server over SQLite whose log is kept, as JSON lines.
type logEnv struct {
	*env
	logs *backendtest.Buffer
}

// newLogEnv starts it; setup, if given, runs on the Server before it
// serves.
func newLogEnv(t *testing.T, setup ...func(*httpapi.Server)) logEnv {
	store := backendtest.SQLite.Open(t)
	e := newEnvOn(t, store)
	var logs backendtest.Buffer
	api := httpapi.New(store, slog.New(slog.NewJSONHandler(&logs, nil)), "")
	for _, f := range setup {
		f(api)
	}
	srv := httptest.NewUnstartedServer(api)
	srv.Listener = api.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	e.srv = srv
	return logEnv{e, &logs}
}

// requestLine returns the log line of the request with the given id.
func (e logEnv) requestLine(t *testing.T, id string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no request line with request_id %q in:\n%s", id, e.logs.String())
	return nil
}

// send sends an authenticated request with the given X-Request-Id ("" for
// none) and returns the answer's X-Request-Id.
func (e logEnv) send(t *testing.T, method, path, requestID, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("X-Request-Id")
}

// Each request gets an id, sent as X-Request-Id and logged: the client's
// own if it is sane, else a new one.
func TestRequestID(t *testing.T) {
	e := newLogEnv(t)
	_, a := e.send(t, "GET", "/v1/users", "", "")
	_, b := e.send(t, "GET", "/v1/users", "", "")
	if a == "" || b == "" || a == b {
		t.Fatalf("generated ids %q and %q: want two different non-empty ids", a, b)
	}
	e.requestLine(t, a)
	e.requestLine(t, b)
	sane := "req-" + strings.Repeat("x", 124) // 128 characters
	if _, got := e.send(t, "GET", "/v1/users", sane, ""); got != sane {
		t.Errorf("X-Request-Id %q came back as %q", sane, got)
	}
	e.requestLine(t, sane)
	for _, bad := range []string{strings.Repeat("x", 129), "two words", "caf\u00e9", "tab\there"} {
		_, got := e.send(t, "GET", "/v1/users", bad, "")
		if got == bad || got == "" || strings.ContainsAny(got, " \t") {
			t.Errorf("X-Request-Id %q came back as %q: want a new id", bad, got)
		}
		e.requestLine(t, got)
	}
	// Service endpoints and unknown routes have ids too.
	for _, path := range []string{"/healthz", "/nowhere"} {
		if _, got := e.send(t, "GET", path, "", ""); got == "" {
			t.Errorf("GET %s: no X-Request-Id", path)
		}
	}
}

// Error answers log their code; unmatched routes log their path, escaped
// and cut short; matched routes log their pattern only.
func TestRequestLogLines(t *testing.T) {
	e := newLogEnv(t)
	for _, tt := range []struct {
		method, path, body     string
		status                 int
		code, pattern, logPath any
	}{
		{"POST", "/v1/users", `{"id":`, 400, "E1017", "/v1/users", nil},
		{"GET", "/v1/users/nope", "", 404, "E1001", "/v1/users/{id}", nil},
		{"PUT", "/v1/users", "", 405, "E1033", "/v1/users", nil},
		{"POST", "/v1/users", `{"id":"u"}`, 201, nil, "/v1/users", nil},
		{"GET", "/v2/caf%C3%A9/x%20y", "", 404, "E1033", "/", "/v2/caf%C3%A9/x%20y"},
		{"GET", "/v1//users", "", 404, "E1033", "", "/v1//users"},
		{"GET", "/x/" + strings.Repeat("a", 300), "", 404, "E1033", "/", "/x/" + strings.Repeat("a", 253) + "..."},
	} {
		status, id := e.send(t, tt.method, tt.path, "", tt.body)
		if status != tt.status {
			t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, status, tt.status)
		}
		line := e.requestLine(t, id)
		if line["code"] != tt.code || line["pattern"] != tt.pattern || line["path"] != tt.logPath || line["status"] != float64(tt.status) {
			t.Errorf("%s %s logged %v; want code %v, pattern %v, path %v", tt.method, tt.path, line, tt.code, tt.pattern, tt.logPath)
		}
	}
}
