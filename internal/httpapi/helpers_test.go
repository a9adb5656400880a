package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// env is a running API server on loopback over a fresh store, with a key.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	store userdata.Store
	key   string
}

// newEnv starts a server over a store of backend b with one key for
// default/production.
func newEnv(t *testing.T, b backendtest.Backend) *env {
	t.Helper()
	return newEnvOn(t, b.Open(t))
}

func newEnvOn(t *testing.T, store userdata.Store) *env {
	t.Helper()
	api := httpapi.New(store, backendtest.Discard, "")
	srv := httptest.NewUnstartedServer(api)
	srv.Listener = api.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, store: store}
	e.key = e.newKey("default", "production")
	return e
}

// newKey creates a key for project/environment and returns it as shown.
func (e *env) newKey(project, environment string) string {
	e.t.Helper()
	key, hash, prefix := userdata.NewKey()
	if _, err := e.store.CreateKey(e.t.Context(), project, environment, hash, prefix); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// call sends a request with the given Authorization value ("" for none).
func (e *env) call(method, path, auth, body string) *response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return readResponse(e.t, res)
}

// readResponse reads and decodes an answer, which must be a JSON object.
func readResponse(t *testing.T, res *http.Response) *response {
	t.Helper()
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, raw: raw}
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s %s: Content-Type %q", res.Request.Method, res.Request.URL.Path, ct)
	}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", res.Request.Method, res.Request.URL.Path, raw, err)
	}
	return r
}

// do sends an authenticated request.
func (e *env) do(method, path, body string) *response {
	e.t.Helper()
	return e.call(method, path, "Bearer "+e.key, body)
}

// want checks the status and returns the body.
func (r *response) want(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r.body
}

// wantError checks an error answer: status, code and the envelope's shape.
func (r *response) wantError(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%s); body %s", r.status, status, code, r.raw)
	}
	e, ok := r.body["error"].(map[string]any)
	if !ok || len(r.body) != 1 || len(e) != 3 {
		t.Fatalf("body %s is not the error envelope", r.raw)
	}
	if e["code"] != code {
		t.Fatalf("error code %v, want %s; body %s", e["code"], code, r.raw)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("empty error message: %s", r.raw)
	}
	if e["doc_url"] != wire.DefaultDocURL {
		t.Errorf("doc_url %v", e["doc_url"])
	}
}

var timestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// checkTimes checks createdAt and its alias on an object.
func checkTimes(t *testing.T, obj map[string]any) {
	t.Helper()
	ts, _ := obj["createdAt"].(string)
	if !timestamp.MatchString(ts) || obj["created_at"] != ts {
		t.Errorf("createdAt %q, created_at %v: want equal ISO timestamps with ms", obj["createdAt"], obj["created_at"])
	}
}

// keys returns an object's keys, sorted.
func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(sortStrings(ks), ",")
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// results returns a list answer's results as objects.
func results(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	items, ok := body["results"].([]any)
	if !ok {
		t.Fatalf("results is %T, want an array", body["results"])
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// ids returns the id of each result.
func ids(t *testing.T, body map[string]any) []string {
	t.Helper()
	var out []string
	for _, r := range results(t, body) {
		out = append(out, r["id"].(string))
	}
	return out
}

// jsonBody renders v as a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
