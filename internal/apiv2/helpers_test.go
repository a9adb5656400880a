package apiv2_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tourd/internal/apiv2"
	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
	"tourd/internal/userdata"
)

// env is a running server on loopback, v1 and v2, over a fresh store with
// two projects: a, with environments a0 (its primary) and a1, and b, with
// its primary b0.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  userdata.Store
	a, b   *userdata.Project
	a0, a1 string
	b0     string
}

// noLimits turns the rate limits off, for the tests of everything else.
var noLimits = apiv2.Config{}

func newEnv(t *testing.T, b backendtest.Backend, cfg apiv2.Config) *env {
	t.Helper()
	return newEnvOn(t, b.Open(t), cfg)
}

func newEnvOn(t *testing.T, store userdata.Store, cfg apiv2.Config) *env {
	t.Helper()
	e := &env{t: t, srv: serveOn(t, store, cfg), store: store}
	ctx := t.Context()
	var err error
	if e.a, err = store.CreateProject(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	a1, err := store.CreateEnvironment(ctx, e.a.ID, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if e.b, err = store.CreateProject(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	e.a0, e.a1, e.b0 = e.a.Environments[0].ID, a1.ID, e.b.Environments[0].ID
	return e
}

// serveOn starts a server, v1 and v2, over store.
func serveOn(t *testing.T, store userdata.Store, cfg apiv2.Config) *httptest.Server {
	t.Helper()
	api := httpapi.New(store, backendtest.Discard, "")
	apiv2.Register(api, store, cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

// token creates a token of project with the given scopes (ParseScopes)
// and environment list, and returns it as shown.
func (e *env) token(project *userdata.Project, scopes string, envs ...string) string {
	e.t.Helper()
	return e.tokenUntil(project, scopes, nil, envs...)
}

func (e *env) tokenUntil(project *userdata.Project, scopes string, expires *time.Time, envs ...string) string {
	e.t.Helper()
	caps, err := userdata.ParseScopes(scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(userdata.EnvTargetedScopes(caps)) == 0 {
		envs = nil
	}
	token, hash, prefix := userdata.NewToken()
	if _, err := e.store.CreateToken(e.t.Context(), userdata.TokenInput{ProjectID: project.ID, Hash: hash, Prefix: prefix,
		Scopes: caps, Environments: envs, ExpiresAt: expires}); err != nil {
		e.t.Fatal(err)
	}
	return token
}

// all is a token of project a with every scope on both its environments.
func (e *env) all() string { return e.token(e.a, "all", e.a0, e.a1) }

// response is an answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any // nil when the body is empty
}

// call sends a request with the token ("" for no Authorization header;
// a value with a space is sent as the header's whole value).
func (e *env) call(method, path, token, body string) *response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	switch {
	case strings.Contains(token, " "):
		req.Header.Set("Authorization", token)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
		}
	}
	return r
}

// want checks the status and returns the body.
func (r *response) want(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r.body
}

// code returns the error code of an error answer, "" for another.
func (r *response) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// wantError checks the status and error code.
func (r *response) wantError(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("got %d %s, want %d %s; body %s", r.status, r.code(), status, code, r.raw)
	}
}

// p is the path of project p's route under /v2/projects/{id}.
func p(project *userdata.Project, rest string) string { return "/v2/projects/" + project.ID + rest }

// en is the path of a route of environment envID of project.
func en(project *userdata.Project, envID, rest string) string {
	return p(project, "/environments/"+envID+rest)
}

// forBackends runs f on each backend.
func forBackends(t *testing.T, f func(t *testing.T, b backendtest.Backend)) {
	for _, b := range backendtest.All() {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}
