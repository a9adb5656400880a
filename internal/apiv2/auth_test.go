package apiv2_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tourd/internal/apiv2"
	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
	"tourd/internal/userdata"
)

// matrixRoute is a route of v2.md §1 as the tests call it: {E} is the
// environment id, {id} and {userId} ids of the route's resources.
type matrixRoute struct {
	method, path string
	cap          userdata.Capability
	body         string // a valid body, for PUT, POST and PATCH
}

var matrix = []matrixRoute{
	{"GET", "/environments/{E}/users", "user:read", ""},
	{"GET", "/environments/{E}/users/{id}", "user:read", ""},
	{"PUT", "/environments/{E}/users/{id}", "user:write", `{"attributes":{"plan":"pro"}}`},
	{"DELETE", "/environments/{E}/users/{id}", "user:delete", ""},
	{"GET", "/environments/{E}/companies", "company:read", ""},
	{"GET", "/environments/{E}/companies/{id}", "company:read", ""},
	{"PUT", "/environments/{E}/companies/{id}", "company:write", `{"attributes":{"seats":5}}`},
	{"DELETE", "/environments/{E}/companies/{id}", "company:delete", ""},
	{"PUT", "/environments/{E}/companies/{id}/memberships/{userId}", "company:write", `{"attributes":{"role":"admin"}}`},
	{"DELETE", "/environments/{E}/companies/{id}/memberships/{userId}", "company:write", ""},
	{"GET", "/attribute-definitions", "attribute:read", ""},
	{"POST", "/attribute-definitions", "attribute:create", `{"scope":"user","dataType":"string","codeName":"tier","displayName":"Tier"}`},
	{"GET", "/attribute-definitions/{id}", "attribute:read", ""},
	{"PATCH", "/attribute-definitions/{id}", "attribute:update", `{"displayName":"X"}`},
	{"DELETE", "/attribute-definitions/{id}", "attribute:delete", ""},
	{"GET", "/event-definitions", "event:read", ""},
	{"POST", "/event-definitions", "event:create", `{"codeName":"signed_up","displayName":"Signed up"}`},
	{"GET", "/event-definitions/{id}", "event:read", ""},
	{"PATCH", "/event-definitions/{id}", "event:update", `{"displayName":"X"}`},
	{"DELETE", "/event-definitions/{id}", "event:delete", ""},
	{"GET", "/environments", "environment:read", ""},
	{"POST", "/environments", "environment:manage", `{"name":"qa"}`},
	{"GET", "/environments/{id}", "environment:read", ""},
	{"PATCH", "/environments/{id}", "environment:manage", `{"name":"qa"}`},
	{"DELETE", "/environments/{id}", "environment:manage", ""},
	{"GET", "/segments", "segment:read", ""},
	{"POST", "/segments", "segment:create", `{"name":"VIPs","bizType":"user","kind":"manual"}`},
	{"GET", "/segments/{id}", "segment:read", ""},
	{"PATCH", "/segments/{id}", "segment:update", `{"name":"X"}`},
	{"DELETE", "/segments/{id}", "segment:delete", ""},
	{"PUT", "/environments/{E}/segments/{id}/members/{userId}", "segment:update", ""},
	{"DELETE", "/environments/{E}/segments/{id}/members/{userId}", "segment:update", ""},
	{"GET", "/environments/{E}/changes", "user:read|company:read", ""},
	{"GET", "/environments/{E}/webhooks", "webhook:read", ""},
	{"POST", "/environments/{E}/webhooks", "webhook:manage", `{"url":"https://93.184.215.14/hook","topics":["*"]}`},
	{"GET", "/environments/{E}/webhooks/{id}", "webhook:read", ""},
	{"PATCH", "/environments/{E}/webhooks/{id}", "webhook:manage", `{"description":"X"}`},
	{"DELETE", "/environments/{E}/webhooks/{id}", "webhook:manage", ""},
	{"POST", "/environments/{E}/webhooks/{id}/rotate-secret", "webhook:manage", ""},
	{"POST", "/environments/{E}/webhooks/{id}/test", "webhook:manage", ""},
	{"GET", "/environments/{E}/webhooks/{id}/deliveries", "webhook:read", ""},
	{"POST", "/environments/{E}/webhooks/{id}/messages/{messageId}/resend", "webhook:manage", ""},
}

// caps returns the capabilities of which the route needs one.
func (rt matrixRoute) caps() []string { return strings.Split(string(rt.cap), "|") }

// one returns the first capability the route takes.
func (rt matrixRoute) one() string { return rt.caps()[0] }

// path fills in the route's template.
func (rt matrixRoute) fill(project *userdata.Project, envID, id string) string {
	r := strings.NewReplacer("{E}", envID, "{id}", id, "{userId}", "u1", "{messageId}", "whmsg_x")
	return p(project, r.Replace(rt.path))
}

func (rt matrixRoute) hasBody() bool  { return rt.body != "" }
func (rt matrixRoute) envRoute() bool { return strings.HasPrefix(rt.path, "/environments/{E}") }

// allBut is a scope list of every capability but c.
func allBut(c userdata.Capability) string {
	var s []string
	for _, o := range userdata.Capabilities {
		if !slices.Contains(strings.Split(string(c), "|"), string(o)) {
			s = append(s, string(o))
		}
	}
	return strings.Join(s, ",")
}

// TestCheckOrder walks every route with credentials that fail each check
// of v2.md §3 in turn, each time also failing every later check, and
// expects the answer of the first.
func TestCheckOrder(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		key := e.key()
		past := time.Now().Add(-time.Minute)
		expired := e.tokenUntil(e.a, "all", &past, e.a0, e.a1)
		unknown, _, _ := userdata.NewToken()
		revoked := e.all()
		if err := e.store.RevokeToken(t.Context(), userdata.HashKey(revoked)); err != nil {
			t.Fatal(err)
		}
		bToken := e.token(e.b, "all", e.b0)
		for _, rt := range matrix {
			t.Run(rt.method+" "+rt.path, func(t *testing.T) {
				// Everything after the first check fails too: another
				// project's environment and an unknown id, a bad body.
				path := rt.fill(e.a, e.b0, "nope")
				bad := ""
				if rt.hasBody() {
					bad = `{"bogus":1}`
					e.call(rt.method, path, "", `{"attributes":`).wantError(t, 400, "E1017")
					e.call(rt.method, path, "Bearer "+unknown, `{`).wantError(t, 400, "E1017")
				}
				e.call(rt.method, path, "", bad).wantError(t, 401, "E1010")
				e.call(rt.method, path, "Basic "+e.all(), bad).wantError(t, 401, "E1010")
				e.call(rt.method, path, "Bearer ", bad).wantError(t, 401, "E1010")
				e.call(rt.method, path, key, bad).wantError(t, 403, "E1000")
				e.call(rt.method, path, unknown, bad).wantError(t, 403, "E1000")
				e.call(rt.method, path, revoked, bad).wantError(t, 403, "E1000")
				e.call(rt.method, path, expired, bad).wantError(t, 401, "E1020")
				e.call(rt.method, path, bToken, bad).wantError(t, 403, "E1011")
				lacking := e.token(e.a, allBut(rt.cap), e.a1)
				e.call(rt.method, path, lacking, bad).wantError(t, 403, "E1012")
				e.call(rt.method, path, "bEaReR "+lacking, bad).wantError(t, 403, "E1012")
				if !rt.envRoute() {
					return
				}
				only := e.token(e.a, rt.one(), e.a1)
				e.call(rt.method, rt.fill(e.a, "nope", "nope"), only, bad).wantError(t, 404, "E1026")
				e.call(rt.method, rt.fill(e.a, e.b0, "nope"), only, bad).wantError(t, 403, "E1019")
				e.call(rt.method, rt.fill(e.a, e.a0, "nope"), only, bad).wantError(t, 403, "E1029")
				if rt.hasBody() {
					e.call(rt.method, rt.fill(e.a, e.a1, "nope"), only, bad).wantError(t, 400, "E1017")
				}
			})
		}
	})
}

// TestCapabilityMatrix gives each route a token holding only its
// capability (and the environment it acts on): it is served, and the
// same token is refused, 403 E1012, by every route needing another.
func TestCapabilityMatrix(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		for _, rt := range matrix {
			t.Run(string(rt.cap)+" "+rt.method+" "+rt.path, func(t *testing.T) {
				only := e.token(e.a, rt.one(), e.a0)
				id := e.fixture(rt)
				res := e.call(rt.method, rt.fill(e.a, e.a0, id), only, rt.body)
				if res.status >= 300 {
					t.Fatalf("with its capability: %d %s", res.status, res.raw)
				}
				for _, other := range matrix {
					if slices.Contains(other.caps(), rt.one()) {
						continue
					}
					e.call(other.method, other.fill(e.a, e.a0, "x"), only, other.body).wantError(t, 403, "E1012")
				}
			})
		}
	})
}

// fixture makes what rt's {id} names exist in environment a0 of project a
// and returns its id.
func (e *env) fixture(rt matrixRoute) string {
	e.t.Helper()
	all := e.all()
	switch {
	case strings.Contains(rt.path, "/users"):
		e.call("PUT", en(e.a, e.a0, "/users/u1"), all, "").want(e.t, 200)
		return "u1"
	case strings.Contains(rt.path, "/memberships"):
		e.call("PUT", en(e.a, e.a0, "/users/u1"), all, "").want(e.t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/c1"), all, "").want(e.t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/c1/memberships/u1"), all, "").want(e.t, 200)
		return "c1"
	case strings.Contains(rt.path, "/companies"):
		e.call("PUT", en(e.a, e.a0, "/companies/c1"), all, "").want(e.t, 200)
		return "c1"
	case strings.HasPrefix(rt.path, "/attribute-definitions/"):
		d := e.call("POST", p(e.a, "/attribute-definitions"), all,
			`{"scope":"user","dataType":"string","codeName":"`+uniqueCodeName()+`","displayName":"F"}`).want(e.t, 201)
		return d["id"].(string)
	case strings.HasPrefix(rt.path, "/event-definitions/"):
		d := e.call("POST", p(e.a, "/event-definitions"), all, `{"codeName":"`+uniqueCodeName()+`","displayName":"F"}`).want(e.t, 201)
		return d["id"].(string)
	case strings.Contains(rt.path, "/segments/"):
		e.call("PUT", en(e.a, e.a0, "/users/u1"), all, "").want(e.t, 200)
		sg := e.call("POST", p(e.a, "/segments"), all, `{"name":"F","bizType":"user","kind":"manual"}`).want(e.t, 201)
		return sg["id"].(string)
	case strings.Contains(rt.path, "/webhooks/"):
		wh := e.call("POST", en(e.a, e.a0, "/webhooks"), all, `{"url":"https://93.184.215.14/hook","topics":["*"]}`).want(e.t, 201)
		id := wh["id"].(string)
		if strings.Contains(rt.path, "/messages/{messageId}") {
			e.settledMessage(id, "whmsg_x")
		}
		return id
	case rt.path == "/environments/{id}":
		if rt.method == http.MethodDelete {
			env, err := e.store.CreateEnvironment(e.t.Context(), e.a.ID, "doomed")
			if err != nil {
				e.t.Fatal(err)
			}
			return env.ID
		}
		return e.a0
	}
	return ""
}

// settledMessage queues message id to webhook id of environment a0 of
// project a, and records its one attempt, failed.
func (e *env) settledMessage(webhookID, id string) {
	e.t.Helper()
	ctx, now := e.t.Context(), time.Now()
	tn := userdata.Tenant{ProjectID: e.a.ID, EnvironmentID: e.a0}
	d, err := e.store.QueueDelivery(ctx, tn, webhookID, &userdata.Message{ID: id, Type: "webhook.test", Body: []byte("{}")}, now, now)
	if err == nil {
		_, err = e.store.RecordAttempts(ctx, []*userdata.Result{{Delivery: d, Attempt: userdata.Attempt{Number: 1, At: now, Error: "refused"}, Status: userdata.DeliveryFailed}})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

var codeNames atomic.Int64

// uniqueCodeName returns a new codeName each call.
func uniqueCodeName() string { return fmt.Sprintf("f%d", codeNames.Add(1)) }

// key creates a v1 key of project a's primary environment.
func (e *env) key() string {
	e.t.Helper()
	key, hash, prefix := userdata.NewKey()
	if _, err := e.store.CreateKey(e.t.Context(), e.a.ID, e.a0, hash, prefix); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// TestRevocationAcrossNodes: two servers on one database, as two nodes;
// a token revoked through one (as `tourd tokens revoke` does) is refused
// by that one within 1 s and by the other within 30 s (v2.md §3).
func TestRevocationAcrossNodes(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		one, two := b.OpenPair(t)
		n1 := newEnvOn(t, one, noLimits)
		n2 := &env{t: t, srv: serveOn(t, two, noLimits), store: two, a: n1.a, b: n1.b, a0: n1.a0, a1: n1.a1, b0: n1.b0}
		tok := n1.all()
		path := en(n1.a, n1.a0, "/users")
		n1.call("GET", path, tok, "").want(t, 200)
		n2.call("GET", path, tok, "").want(t, 200)
		if err := one.RevokeToken(t.Context(), userdata.HashKey(tok)); err != nil {
			t.Fatal(err)
		}
		for _, n := range []struct {
			e      *env
			within time.Duration
		}{{n1, time.Second}, {n2, 30 * time.Second}} {
			deadline := time.Now().Add(n.within)
			for n.e.call("GET", path, tok, "").status != 403 {
				if time.Now().After(deadline) {
					t.Fatalf("the token still works %s after its revocation", n.within)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})
}

// TestCredentialsOfTheOtherVersion: a utp_ token on /v1 and an ak_ key on
// /v2 are unknown credentials, 403 E1000 (v2.md §3).
func TestCredentialsOfTheOtherVersion(t *testing.T) {
	e := newEnv(t, backendtest.SQLite, noLimits)
	e.v1("GET", "/v1/users", e.all(), "").wantError(t, 403, "E1000")
	e.call("GET", en(e.a, e.a0, "/users"), e.key(), "").wantError(t, 403, "E1000")
}

// TestTokensNeverLogged: no log line holds a token or a request body,
// whatever the answer.
func TestTokensNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	store := backendtest.SQLite.Open(t)
	api := httpapi.New(store, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "")
	apiv2.Register(api, store, limits(2, 1))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e := newEnvOn(t, store, noLimits)
	e.srv = srv
	tok := e.all()
	unknown, _, _ := userdata.NewToken()
	for _, c := range []struct{ token, body string }{
		{tok, `{"attributes":{"secret":"body-secret-1"}}`}, {tok, `{"bogus":"body-secret-2"}`}, {tok, `{`},
		{unknown, `{"attributes":{"x":"body-secret-3"}}`}, {tok, ""}, {unknown, ""},
	} {
		e.call("PUT", en(e.a, e.a0, "/users/u1"), c.token, c.body)
	}
	if logs.Len() == 0 {
		t.Fatal("no request was logged")
	}
	for _, secret := range []string{tok, unknown, tok[len(userdata.TokenPrefix):], "body-secret"} {
		if bytes.Contains(logs.Bytes(), []byte(secret)) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}
