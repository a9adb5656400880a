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

// downAfterStore is a store whose database goes down at the user "down":
// importing it, and every line after it in its batch, fails as a storage
// fault would. It counts the batches it was sent.
type downAfterStore struct {
	userdata.Store
	batches *int
}

func (d downAfterStore) ImportUsers(ctx context.Context, t userdata.Tenant, ins []*userdata.UserUpsert) []userdata.ImportResult {
	*d.batches++
	for i, in := range ins {
		if in.ExternalID == "down" {
			out := d.Store.ImportUsers(ctx, t, ins[:i])
			for range ins[i:] {
				out = append(out, userdata.ImportResult{Err: userdata.Unavailable(errors.New("connection refused"))})
			}
			return out
		}
	}
	return d.Store.ImportUsers(ctx, t, ins)
}

// An import whose database becomes unavailable stops after that batch,
// instead of sending every later line to a database that is down, and
// answers 503 with what it did and where to resume.
func TestImportStopsWhenUnavailable(t *testing.T) {
	store := backendtest.SQLite.Open(t)
	e := newEnvOn(t, store)
	var batches int
	srv := httptest.NewServer(httpapi.New(downAfterStore{store, &batches}, backendtest.Discard, ""))
	t.Cleanup(srv.Close)
	e.srv = srv
	var body strings.Builder
	const lines, down = 3000, 700
	for n := 1; n <= lines; n++ {
		id := fmt.Sprintf("u%d", n)
		if n == down {
			id = "down"
		}
		fmt.Fprintf(&body, `{"id":%q}`+"\n", id)
	}
	r := e.do("POST", "/v1/users/import", body.String())
	r.wantError(t, 503, "E0000")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if batches != 2 {
		t.Errorf("the store was sent %d batches, want 2: the import goes on after the database went down", batches)
	}
	msg := r.body["error"].(map[string]any)["message"].(string)
	// Batches are 500 lines: the second holds lines 501 to 1000.
	want := fmt.Sprintf("the database became unavailable at line %d: the lines up to line 1000 were applied or failed as counted (%d created, 0 updated, %d failed) and none after it; send the lines from %d on again",
		down, down-1, 1000-down+1, down)
	if msg != want {
		t.Errorf("message %q\nwant      %q", msg, want)
	}
	e.do("GET", "/v1/users/u699", "").want(t, 200)
	e.do("GET", "/v1/users/u1001", "").wantError(t, 404, "E1001")
}
