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
