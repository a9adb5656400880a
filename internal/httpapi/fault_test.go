package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
	"tourd/internal/userdata"
)

// faultyStore fails or panics on reads, to check how unexpected failures
// reach the client.
type faultyStore struct {
	userdata.Store
	panics bool
}

func (f faultyStore) GetUser(ctx context.Context, t userdata.Tenant, id string, x userdata.Expand) (*userdata.User, error) {
	if f.panics {
		panic("boom")
	}
	return nil, errors.New("database on fire: password=hunter2")
}

func TestUnexpectedErrors(t *testing.T) {
	for _, panics := range []bool{false, true} {
		store := backendtest.SQLite.Open(t)
		var logs backendtest.Buffer
		e := newEnvOn(t, store)
		srv := httptest.NewServer(httpapi.New(faultyStore{store, panics}, slog.New(slog.NewTextHandler(&logs, nil)), ""))
		t.Cleanup(srv.Close)
		e.srv = srv
		r := e.do("GET", "/v1/users/x", "")
		r.wantError(t, 500, "E0000")
		if msg := r.body["error"].(map[string]any)["message"]; msg != "An unexpected error occurred" {
			t.Errorf("500 message %q leaks internals", msg)
		}
		if !strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("the failure was not logged: %s", logs.String())
		}
		// The server goes on serving.
		e.do("POST", "/v1/users", `{"id":"ok"}`).want(t, 201)
	}
}

// Neither keys nor bodies reach the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	store := backendtest.SQLite.Open(t)
	var logs backendtest.Buffer
	e := newEnvOn(t, store)
	srv := httptest.NewServer(httpapi.New(store, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), ""))
	t.Cleanup(srv.Close)
	e.srv = srv
	e.do("POST", "/v1/users", `{"id":"u","attributes":{"secret":"s3cr3t-value"}}`).want(t, 201)
	e.do("POST", "/v1/users", `{"id":"u","attributes":{"secret":"s3cr3t-value"`).wantError(t, 400, "E1017")
	e.call("GET", "/v1/users", "Bearer ak_wrong-key-value", "").wantError(t, 403, "E1000")
	out := logs.String()
	for _, secret := range []string{e.key, strings.TrimPrefix(e.key, "ak_"), "wrong-key-value", "s3cr3t-value", "Authorization"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "pattern=/v1/users") {
		t.Errorf("requests were not logged:\n%s", out)
	}
}

// hangingStore answers reads only once their context is done.
type hangingStore struct {
	userdata.Store
	started chan struct{}
}

func (h hangingStore) GetUser(ctx context.Context, t userdata.Tenant, id string, x userdata.Expand) (*userdata.User, error) {
	close(h.started)
	<-ctx.Done()
	return nil, fmt.Errorf("get user: %w", ctx.Err())
}

// A request interrupted because its client went away is not a server
// failure: no error is logged, and it is counted as 499, not 500.
func TestClientGone(t *testing.T) {
	store := backendtest.SQLite.Open(t)
	var logs backendtest.Buffer
	e := newEnvOn(t, store)
	h := hangingStore{store, make(chan struct{})}
	srv := httptest.NewServer(httpapi.New(h, slog.New(slog.NewTextHandler(&logs, nil)), ""))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/users/x", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	go func() {
		<-h.started
		cancel()
	}()
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("request: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "status=499"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no request logged with status 499:\n%s", logs.String())
		}
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a client that went away was logged as an error:\n%s", logs.String())
	}
}

// unavailableStore fails every read as a storage fault would.
type unavailableStore struct{ userdata.Store }

func (unavailableStore) GetUser(context.Context, userdata.Tenant, string, userdata.Expand) (*userdata.User, error) {
	return nil, fmt.Errorf("get user: %w", userdata.Unavailable(errors.New("disk I/O error: password=hunter2")))
}

// A storage fault is 503 E0000 with Retry-After, in the envelope, and is
// logged at most once a second, with the count of the lines held back.
func TestStorageUnavailable(t *testing.T) {
	store := backendtest.SQLite.Open(t)
	var logs backendtest.Buffer
	e := newEnvOn(t, store)
	srv := httptest.NewServer(httpapi.New(unavailableStore{store}, slog.New(slog.NewTextHandler(&logs, nil)), ""))
	t.Cleanup(srv.Close)
	e.srv = srv
	const n = 200
	start := time.Now()
	for range n {
		r := e.do("GET", "/v1/users/x", "")
		r.wantError(t, 503, "E0000")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Fatalf("Retry-After = %q, want 1", got)
		}
		if msg := r.body["error"].(map[string]any)["message"]; strings.Contains(msg.(string), "hunter2") || strings.Contains(msg.(string), "disk") {
			t.Fatalf("503 message %q leaks internals", msg)
		}
	}
	elapsed := time.Since(start)
	lines := strings.Count(logs.String(), `msg="storage unavailable`)
	if maxLines := int(elapsed/time.Second) + 1; lines < 1 || lines > maxLines {
		t.Fatalf("%d requests in %v logged %d fault lines, want 1..%d:\n%s", n, elapsed, lines, maxLines, logs.String())
	}
	time.Sleep(1100 * time.Millisecond)
	e.do("GET", "/v1/users/x", "").wantError(t, 503, "E0000")
	out := logs.String()
	last := out[strings.LastIndex(out, `msg="storage unavailable`):]
	var suppressed int
	if _, err := fmt.Sscanf(last[strings.Index(last, "suppressed=")+len("suppressed="):], "%d", &suppressed); err != nil || suppressed < n-lines-1 {
		t.Fatalf("the line after the flood says suppressed=%d (%v), want at least %d:\n%s", suppressed, err, n-lines-1, out)
	}
	// A successful request is not logged as a fault.
	e.srv = newEnvOn(t, store).srv
	e.do("POST", "/v1/users", `{"id":"ok"}`).want(t, 201)
}
