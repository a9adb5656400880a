package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
)

// faultTimeout is the store's deadline in the PostgreSQL fault tests.
const faultTimeout = 2 * time.Second

// faultSlack is how much later than its deadline a request may be
// answered on a loaded machine.
const faultSlack = 5 * time.Second

// newPostgresFaultEnv starts a server over a PostgreSQL store whose
// connections go through a fault-injecting proxy.
func newPostgresFaultEnv(t *testing.T) (*env, *backendtest.Proxy) {
	t.Helper()
	cfg := backendtest.PostgresConfig(t)
	proxy := backendtest.ProxyPostgres(t, cfg)
	store := backendtest.OpenPostgres(t, cfg, postgres.Options{Migrate: true, Timeout: faultTimeout})
	return newEnvOn(t, store), proxy
}

// timedRequest is a request sent while the database is faulty, with its
// answer and how long it took.
type timedRequest struct {
	name, method, path, key, body string

	res     *response
	err     error
	elapsed time.Duration
}

// sendAll sends the requests at once and waits for every answer.
func sendAll(e *env, reqs []*timedRequest) {
	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(e.t.Context(), r.method, e.srv.URL+r.path, strings.NewReader(r.body))
			if err != nil {
				r.err = err
				return
			}
			if r.key != "" {
				req.Header.Set("Authorization", "Bearer "+r.key)
			}
			start := time.Now()
			res, err := e.srv.Client().Do(req)
			if err != nil {
				r.err = err
				return
			}
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			r.elapsed = time.Since(start)
			r.res, r.err = &response{status: res.StatusCode, header: res.Header, raw: raw}, err
			if err == nil {
				r.err = json.Unmarshal(raw, &r.res.body)
			}
		})
	}
	wg.Wait()
}

// faultRequests are requests of every kind that need the database: reads
// and writes through the coalescers, a transaction of several statements,
// a list, an import, and a key that is not cached yet.
func faultRequests(e *env, freshKey string) []*timedRequest {
	var lines []string
	for i := range 450 { // more than two of the store's import batches
		lines = append(lines, fmt.Sprintf(`{"id":"imported%d"}`, i))
	}
	return []*timedRequest{
		{name: "get user", method: "GET", path: "/v1/users/u1", key: e.key},
		{name: "upsert user", method: "POST", path: "/v1/users", key: e.key, body: `{"id":"u2","attributes":{"k":"v"}}`},
		{name: "track event", method: "POST", path: "/v1/events", key: e.key, body: `{"userId":"u1","name":"signed_in"}`},
		{name: "list users", method: "GET", path: "/v1/users?limit=5", key: e.key},
		{name: "delete company", method: "DELETE", path: "/v1/companies/c1", key: e.key},
		{name: "import", method: "POST", path: "/v1/users/import", key: e.key, body: strings.Join(lines, "\n")},
		{name: "new key", method: "GET", path: "/v1/users/u1", key: freshKey},
		{name: "readyz", method: "GET", path: "/readyz"},
	}
}

// checkUnavailable checks that every request was answered 503 E0000 with
// Retry-After (/readyz: 503) in bounded time, or, for the import, 200 with
// no line applied and every line failed with E0000, and returns the
// slowest time to an answer.
func checkUnavailable(t *testing.T, reqs []*timedRequest) time.Duration {
	t.Helper()
	var slowest time.Duration
	for _, r := range reqs {
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
			continue
		}
		t.Logf("%s: %d after %v", r.name, r.res.status, r.elapsed.Round(time.Millisecond))
		slowest = max(slowest, r.elapsed)
		if r.elapsed > faultTimeout+faultSlack {
			t.Errorf("%s: answered after %v, want within the store's deadline, %v", r.name, r.elapsed, faultTimeout)
		}
		switch {
		case r.path == "/readyz":
			r.res.want(t, http.StatusServiceUnavailable)
		case r.name == "import" && r.res.status == http.StatusOK:
			b := r.res.body
			if b["created"] != 0.0 || b["updated"] != 0.0 || b["failed"] != 450.0 {
				t.Errorf("import while the database is down: %s, want every line failed", r.res.raw)
			}
			for _, e := range b["errors"].([]any) {
				if code := e.(map[string]any)["code"]; code != "E0000" {
					t.Errorf("import while the database is down: a line failed with %v, want E0000", code)
				}
			}
		default:
			r.res.wantError(t, http.StatusServiceUnavailable, "E0000")
			if got := r.res.header.Get("Retry-After"); got != "1" {
				t.Errorf("%s: Retry-After %q, want 1", r.name, got)
			}
		}
	}
	return slowest
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, e *env) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := e.srv.Client().Get(e.srv.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within 30s of the database's return (last: %v %v)", res, err)
		}
	}
}

// checkServing checks that requests succeed again.
func checkServing(t *testing.T, e *env, freshKey string) {
	t.Helper()
	e.do("GET", "/v1/users/u1", "").want(t, http.StatusOK)
	e.do("POST", "/v1/users", `{"id":"u3"}`).want(t, http.StatusCreated)
	e.call("GET", "/v1/users/u3", "Bearer "+freshKey, "").wantError(t, http.StatusNotFound, "E1001") // another environment
}

// TestPostgresFrozen freezes PostgreSQL (connections stay open, nothing is
// answered): every request is answered 503 within the store's deadline,
// /readyz is 503, and once PostgreSQL answers again /readyz is 200 and
// requests succeed.
func TestPostgresFrozen(t *testing.T) {
	e, proxy := newPostgresFaultEnv(t)
	fresh := e.newKey("other", "production")
	e.do("POST", "/v1/users", `{"id":"u1"}`).want(t, http.StatusCreated)
	proxy.Freeze()
	reqs := faultRequests(e, fresh)
	sendAll(e, reqs)
	slowest := checkUnavailable(t, reqs)
	t.Logf("PostgreSQL frozen, store deadline %v: slowest answer after %v", faultTimeout, slowest.Round(time.Millisecond))
	proxy.Restore()
	waitReady(t, e)
	checkServing(t, e, fresh)
}

// TestPostgresCut cuts every connection to PostgreSQL and refuses new
// ones, as a stopped server would: every request is answered 503, /readyz
// is 503, and once PostgreSQL is back /readyz is 200 and requests succeed.
func TestPostgresCut(t *testing.T) {
	e, proxy := newPostgresFaultEnv(t)
	fresh := e.newKey("other", "production")
	e.do("POST", "/v1/users", `{"id":"u1"}`).want(t, http.StatusCreated)
	proxy.Cut()
	reqs := faultRequests(e, fresh)
	sendAll(e, reqs)
	checkUnavailable(t, reqs)
	proxy.Restore()
	waitReady(t, e)
	checkServing(t, e, fresh)
}
