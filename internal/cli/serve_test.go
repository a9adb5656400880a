package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/apiv2"
	"tourd/internal/backendtest"
	"tourd/internal/deliver"
	"tourd/internal/feed"
	"tourd/internal/httpapi"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
	"tourd/internal/webhook/webhooktest"
)

// testConfig is a serve configuration for tests: generous bounds unless a
// test shortens one.
var testConfig = serveConfig{maxConns: 100, idleTimeout: time.Minute, streamIdleTimeout: time.Minute, shutdownTimeout: 30 * time.Second,
	changesRetention: feed.DefaultRetention}

// running is serve running in the test, on loopback.
type running struct {
	addr   string
	key    string
	cancel context.CancelFunc
	done   chan error
	logs   *backendtest.Buffer
}

// startServe runs serve over store with cfg until the test cancels it.
func startServe(t *testing.T, store userdata.Store, cfg serveConfig) *running {
	t.Helper()
	key, hash, prefix := userdata.NewKey()
	if _, err := store.CreateKey(t.Context(), "default", "production", hash, prefix); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{addr: ln.Addr().String(), key: key, cancel: cancel, done: make(chan error, 1), logs: &backendtest.Buffer{}}
	go func() { r.done <- serve(ctx, cfg, store, ln, slog.New(slog.NewTextHandler(r.logs, nil))) }()
	return r
}

// stop cancels serve's context and returns its error and how long it took
// to return, failing the test if that is not within limit.
func (r *running) stop(t *testing.T, limit time.Duration) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		return err, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("serve did not return within %v of its context's end; log:\n%s", limit, r.logs.String())
		return nil, 0
	}
}

// hungStore hangs, as a store on a hung disk would: GetUser, and Close if
// closeHangs, never return until release is closed, whatever their
// context.
type hungStore struct {
	userdata.Store
	entered    chan struct{} // closed when GetUser is called
	enterOnce  sync.Once
	release    chan struct{}
	closeHangs bool
	mu         sync.Mutex
	closed     bool
}

func newHungStore(t *testing.T, closeHangs bool) *hungStore {
	h := &hungStore{Store: backendtest.SQLite.Open(t), entered: make(chan struct{}), release: make(chan struct{}), closeHangs: closeHangs}
	t.Cleanup(func() { close(h.release) }) // before the store's own cleanup closes it
	return h
}

func (h *hungStore) GetUser(ctx context.Context, t userdata.Tenant, id string, x userdata.Expand) (*userdata.User, error) {
	h.enterOnce.Do(func() { close(h.entered) })
	<-h.release
	return nil, errors.New("released")
}

// Close records the call; the test's cleanup closes the real store.
func (h *hungStore) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	if h.closeHangs {
		<-h.release
	}
	return nil
}

func (h *hungStore) wasClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// A request that never returns cannot keep serve from returning once the
// shutdown bound has passed, and the store it uses is left open.
func TestServeShutdownBoundHungRequest(t *testing.T) {
	h := newHungStore(t, true)
	cfg := testConfig
	cfg.shutdownTimeout = 500 * time.Millisecond
	r := startServe(t, h, cfg)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+r.addr+"/v1/users/x", nil)
		req.Header.Set("Authorization", "Bearer "+r.key)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the store")
	}
	err, took := r.stop(t, 20*time.Second)
	t.Logf("serve returned %v after its context ended, with a request hung", took)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("serve returned %v, want a shutdown timeout", err)
	}
	if took < cfg.shutdownTimeout {
		t.Errorf("serve returned after %v, before the bound of %v", took, cfg.shutdownTimeout)
	}
	if h.wasClosed() {
		t.Error("the store was closed under a running request")
	}
	if !strings.Contains(r.logs.String(), `level=ERROR msg="shutdown timed out: exiting with requests still running`) {
		t.Errorf("no clear log line:\n%s", r.logs.String())
	}
}

// A store whose Close hangs cannot keep serve from returning once the
// shutdown bound has passed.
func TestServeShutdownBoundHungClose(t *testing.T) {
	h := newHungStore(t, true)
	cfg := testConfig
	cfg.shutdownTimeout = 500 * time.Millisecond
	r := startServe(t, h, cfg)
	err, took := r.stop(t, 20*time.Second)
	t.Logf("serve returned %v after its context ended, with the store's Close hung", took)
	if err == nil || !strings.Contains(err.Error(), "the database did not close") || !h.wasClosed() {
		t.Errorf("serve returned %v (store closed: %v), want a timeout closing the database", err, h.wasClosed())
	}
	if !strings.Contains(r.logs.String(), `level=ERROR msg="shutdown timed out: the database did not close`) {
		t.Errorf("no clear log line:\n%s", r.logs.String())
	}
}

// A clean shutdown closes the store and returns nil.
func TestServeShutdownClean(t *testing.T) {
	h := newHungStore(t, false)
	r := startServe(t, h, testConfig)
	if err, _ := r.stop(t, 20*time.Second); err != nil || !h.wasClosed() {
		t.Errorf("serve returned %v (store closed: %v), want nil and the store closed", err, h.wasClosed())
	}
}

// The connection cap and the keep-alive idle timeout apply: with a cap of
// one, a second connection waits while the first is busy, and is served
// once the first, idle, is closed by the server.
func TestServeConnLimits(t *testing.T) {
	cfg := testConfig
	cfg.maxConns, cfg.idleTimeout = 1, 300*time.Millisecond
	r := startServe(t, backendtest.SQLite.Open(t), cfg)
	defer r.stop(t, 20*time.Second)
	first, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	const body = `{"id":"u"}`
	fmt.Fprintf(first, "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", r.key, len(body), body[:3])
	second, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	fmt.Fprint(second, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br2 := bufio.NewReader(second)
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br2.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection over the cap was served while the first was busy: %v", err)
	}
	fmt.Fprint(first, body[3:])
	br1 := bufio.NewReader(first)
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(br1, nil)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("first request: %v %v", res, err)
	}
	io.Copy(io.Discard, res.Body)
	if n, err := br1.Read(make([]byte, 1)); err != io.EOF { // closed by the server when idle
		t.Fatalf("idle keep-alive connection: read %d bytes, %v; want it closed (EOF)", n, err)
	}
	second.SetReadDeadline(time.Now().Add(10 * time.Second))
	if res, err := http.ReadResponse(br2, nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("second connection, once the first closed: %v %v", res, err)
	}
}

// An import stream that sends nothing for the stream idle timeout fails,
// with the lines read before applied.
func TestServeStreamIdleTimeout(t *testing.T) {
	cfg := testConfig
	cfg.streamIdleTimeout = 300 * time.Millisecond
	r := startServe(t, backendtest.SQLite.Open(t), cfg)
	defer r.stop(t, 20*time.Second)
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/users/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n{\"id\":\"a\"}\n{\"id\":", r.key)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 400 || !strings.Contains(string(raw), "at line 2; the lines before it were applied (1 created") {
		t.Errorf("stalled stream: %d %s", res.StatusCode, raw)
	}
}

func TestServeFlags(t *testing.T) {
	def := testConfig
	def.maxConns, def.idleTimeout, def.streamIdleTimeout = httpapi.DefaultMaxConns(), 2*time.Minute, time.Minute
	def.addr, def.docURL = "127.0.0.1:8080", wire.DefaultDocURL
	def.v2 = apiv2.Config{RateLimit: apiv2.DefaultRateLimit, RateLimitAnon: apiv2.DefaultRateLimitAnon,
		WebhookGuard: &webhook.Guard{}, Secrets: &webhook.Keyring{}}
	def.deliver = deliver.Config{Schedule: deliver.DefaultSchedule, Concurrency: deliver.DefaultConcurrency}
	key := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want func(*serveConfig)
		err  string
	}{
		{args: nil, want: func(*serveConfig) {}},
		{
			args: []string{"--max-conns", "10", "--idle-timeout", "90s", "--stream-idle-timeout", "5m", "--shutdown-timeout", "5s"},
			want: func(c *serveConfig) {
				c.maxConns, c.idleTimeout, c.streamIdleTimeout, c.shutdownTimeout = 10, 90*time.Second, 5*time.Minute, 5*time.Second
			},
		},
		{
			env: map[string]string{"TOURD_MAX_CONNS": "7", "TOURD_IDLE_TIMEOUT": "1m", "TOURD_STREAM_IDLE_TIMEOUT": "10s", "TOURD_SHUTDOWN_TIMEOUT": "1m"},
			want: func(c *serveConfig) {
				c.maxConns, c.idleTimeout, c.streamIdleTimeout, c.shutdownTimeout = 7, time.Minute, 10*time.Second, time.Minute
			},
		},
		{
			args: []string{"--max-conns", "3"},
			env:  map[string]string{"TOURD_MAX_CONNS": "7"},
			want: func(c *serveConfig) { c.maxConns = 3 },
		},
		{
			args: []string{"--rate-limit", "0", "--trusted-proxies", "10.0.0.0/8, 192.168.1.1"},
			env:  map[string]string{"TOURD_RATE_LIMIT": "5", "TOURD_RATE_LIMIT_ANON": "7"},
			want: func(c *serveConfig) {
				c.v2.RateLimit, c.v2.RateLimitAnon = 0, 7
				c.v2.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}
			},
		},
		{
			env:  map[string]string{"TOURD_CHANGES_RETENTION": "48h"},
			want: func(c *serveConfig) { c.changesRetention = 48 * time.Hour },
		},
		{args: []string{"--changes-retention", "0"}, err: `--changes-retention must be a positive duration`},
		{
			env: map[string]string{"TOURD_WEBHOOK_ALLOW_PRIVATE": "1", "TOURD_SECRET_KEY": key},
			want: func(c *serveConfig) {
				c.v2.WebhookGuard, c.v2.Secrets = &webhook.Guard{AllowPrivate: true}, webhooktest.Keyring(t, key)
			},
		},
		{
			args: []string{"--webhook-allow-private=false"},
			env:  map[string]string{"TOURD_WEBHOOK_ALLOW_PRIVATE": "true", "TOURD_SECRET_KEY_OLD": key},
			want: func(c *serveConfig) { c.v2.Secrets = webhooktest.Keyring(t, "", key) },
		},
		{env: map[string]string{"TOURD_WEBHOOK_ALLOW_PRIVATE": "yes"}, err: `--webhook-allow-private must be 1 or 0 (true or false), not "yes"`},
		{
			args: []string{"--webhook-concurrency", "8"},
			env:  map[string]string{"TOURD_WEBHOOK_RETRY_SCHEDULE": "1s, 2m", "TOURD_WEBHOOK_CONCURRENCY": "3"},
			want: func(c *serveConfig) {
				c.deliver.Schedule, c.deliver.Concurrency = []time.Duration{time.Second, 2 * time.Minute}, 8
			},
		},
		{env: map[string]string{"TOURD_WEBHOOK_RETRY_SCHEDULE": "5s,soon"}, err: `--webhook-retry-schedule must be comma-separated positive durations`},
		{args: []string{"--webhook-concurrency", "0"}, err: `--webhook-concurrency must be a positive integer, not "0"`},
		{env: map[string]string{"TOURD_SECRET_KEY": "s3cr3t"}, err: `TOURD_SECRET_KEY: the key must be 32 bytes, written as 64 hexadecimal characters or in base64`},
		{env: map[string]string{"TOURD_SECRET_KEY": key, "TOURD_SECRET_KEY_OLD": key + ",s3cr3t"}, err: `TOURD_SECRET_KEY_OLD: old key 2 of 2 must be 32 bytes`},
		{args: []string{"--rate-limit", "-1"}, err: `--rate-limit must be a number of requests per minute, or 0 for no limit, not "-1"`},
		{env: map[string]string{"TOURD_RATE_LIMIT_ANON": "many"}, err: `--rate-limit-anon must be a number`},
		{args: []string{"--trusted-proxies", "10.0.0.0/33"}, err: `--trusted-proxies: `},
		{args: []string{"--max-conns", "0"}, err: `--max-conns must be a positive integer, not "0"`},
		{env: map[string]string{"TOURD_MAX_CONNS": "lots"}, err: `--max-conns must be a positive integer, not "lots"`},
		{args: []string{"--idle-timeout", "90"}, err: `--idle-timeout must be a positive duration such as 30s or 2m, not "90"`},
		{args: []string{"--stream-idle-timeout", "-1s"}, err: `--stream-idle-timeout must be a positive duration`},
		{env: map[string]string{"TOURD_SHUTDOWN_TIMEOUT": "0s"}, err: `--shutdown-timeout must be a positive duration`},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		var got serveConfig
		var f serveFlags
		f.register(fs, func(k string) string { return tt.env[k] }, &got)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		err := f.config(&got)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("%v %v: error %v, want %q, without the key", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		want := def
		tt.want(&want)
		// The deliverer takes v2's guard and secrets, and the retention.
		want.deliver.Guard, want.deliver.Secrets, want.deliver.Retention = want.v2.WebhookGuard, want.v2.Secrets, want.changesRetention
		if err != nil {
			t.Errorf("%v %v: %v", tt.args, tt.env, err)
		} else if diff := cmp.Diff(want, got, cmp.AllowUnexported(serveConfig{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
			cmp.Comparer(sameKeyring)); diff != "" {
			t.Errorf("%v %v (-want +got):\n%s", tt.args, tt.env, diff)
		}
	}
}

// sameKeyring reports whether two keyrings seal alike and open what the
// other seals.
func sameKeyring(a, b *webhook.Keyring) bool {
	return a.Encrypts() == b.Encrypts() && a.Open(b.Seal("whsec_x")) == "whsec_x" && b.Open(a.Seal("whsec_y")) == "whsec_y"
}
