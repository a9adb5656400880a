package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
)

// blackholeURL returns TOURD_TEST_POSTGRES with its host replaced by an
// address that accepts connections and never answers, and query added.
func blackholeURL(t *testing.T, query url.Values) string {
	t.Helper()
	u, err := url.Parse(backendtest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := backendtest.NewProxy(t, u.Host)
	p.Blackhole()
	u.Host = p.Addr()
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TestOpenConnectTimeout opens stores on an address that never answers:
// Open must fail after the default connect timeout, whether it migrates
// (its own connection) or not (the pool's), or after the URL's
// connect_timeout when the URL sets one, with an error saying so.
func TestOpenConnectTimeout(t *testing.T) {
	for _, tt := range []struct {
		name    string
		query   url.Values
		migrate bool
		timeout time.Duration
	}{
		{"migrating", nil, true, postgres.DefaultConnectTimeout},
		{"not migrating", nil, false, postgres.DefaultConnectTimeout},
		{"connect_timeout=0", url.Values{"connect_timeout": {"0"}}, true, postgres.DefaultConnectTimeout},
		// Longer than the default: only the URL's value can explain the wait.
		{"connect_timeout=7", url.Values{"connect_timeout": {"7"}}, true, 7 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := blackholeURL(t, tt.query)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			start := time.Now()
			s, err := postgres.Open(ctx, u, discard(), postgres.Options{Migrate: tt.migrate})
			elapsed := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on an address that never answers")
			}
			t.Logf("Open failed after %v: %v", elapsed.Round(time.Millisecond), err)
			if elapsed < tt.timeout || elapsed > tt.timeout+15*time.Second {
				t.Errorf("Open failed after %v, want after the connect timeout, %v", elapsed, tt.timeout)
			}
			if !strings.Contains(err.Error(), "within the connect timeout, "+tt.timeout.String()) {
				t.Errorf("Open's error %q does not say that connecting timed out", err)
			}
		})
	}
}

// TestOutage cuts the connection to PostgreSQL under a store, then brings
// it back: Ping is CodeUnavailable during the outage and succeeds after it,
// and the key listener logs the outage once and its end once, not each of
// its attempts to reconnect.
func TestOutage(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	proxy := backendtest.ProxyPostgres(t, cfg)
	var logs backendtest.Buffer
	s := openConfig(t, cfg, debugLogger(&logs), postgres.Options{Migrate: true})
	waitFor(t, "the store to listen for revocations", func() bool { return postgres.Listening(s) })
	proxy.Cut()
	waitFor(t, "the listener to notice the outage", func() bool { return !postgres.Listening(s) })
	if err := s.Ping(t.Context()); userdata.ErrorCode(err) != userdata.CodeUnavailable {
		t.Errorf("Ping during the outage: %v, want CodeUnavailable", err)
	}
	time.Sleep(time.Second) // the listener tries to reconnect several times
	proxy.Restore()
	waitFor(t, "the store to listen again", func() bool { return postgres.Listening(s) })
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the outage: %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "not listening for key revocations"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "listening for key revocations again"); n != 1 {
		t.Errorf("the end of the outage was logged %d times, want once:\n%s", n, out)
	}
}

// TestListenConnectTimeout drops the store's connections while new ones
// are swallowed: the revocation listener's attempt to reconnect must give
// up after the connect timeout, so that it listens again once the database
// answers, instead of waiting forever on the swallowed connection.
func TestListenConnectTimeout(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	proxy := backendtest.ProxyPostgres(t, cfg)
	s := openConfig(t, cfg, discard(), postgres.Options{Migrate: true})
	waitFor(t, "the store to listen for revocations", func() bool { return postgres.Listening(s) })
	proxy.Blackhole()
	proxy.Reset()
	waitFor(t, "the listener to notice", func() bool { return !postgres.Listening(s) })
	time.Sleep(500 * time.Millisecond) // it is connecting, into the blackhole, by now
	proxy.Restore()
	start := time.Now()
	waitFor(t, "the store to listen again", func() bool { return postgres.Listening(s) })
	if elapsed := time.Since(start); elapsed > postgres.DefaultConnectTimeout+15*time.Second {
		t.Errorf("listening again after %v, want within the connect timeout, %v", elapsed, postgres.DefaultConnectTimeout)
	}
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
