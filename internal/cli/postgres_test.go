package cli_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
)

// runTourd runs the binary to completion and returns its combined output,
// its exit status and how long it ran.
func runTourd(t *testing.T, args ...string) (out string, status int, elapsed time.Duration) {
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append(os.Environ(), "TOURD_DB=", "TOURD_ADDR=", "TOURD_DB_TIMEOUT=")
	start := time.Now()
	b, err := cmd.CombinedOutput()
	elapsed = time.Since(start)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		status = exit.ExitCode()
	} else if err != nil {
		t.Errorf("tourd %v: %v", args, err)
	}
	return string(b), status, elapsed
}

// TestPostgresUnreachable runs every command on a PostgreSQL address that
// accepts connections and never answers: each must give up after the
// default connect timeout and say why, not hang.
func TestPostgresUnreachable(t *testing.T) {
	proxy := backendtest.NewProxy(t, "127.0.0.1:1")
	proxy.Blackhole()
	db := "postgres://tourd@" + proxy.Addr() + "/tourd?sslmode=disable"
	var wg sync.WaitGroup
	for _, args := range [][]string{
		{"migrate", "--db", db},
		{"keys", "list", "--db", db},
		{"keys", "create", "--db", db},
		{"serve", "--addr", "127.0.0.1:0", "--db", db},
	} {
		wg.Go(func() {
			out, status, elapsed := runTourd(t, args...)
			if status != 1 || !strings.Contains(out, "within the connect timeout") {
				t.Errorf("tourd %v: exit status %d, output %q; want 1 and a message naming the connect timeout", args, status, out)
			}
			if limit := postgres.DefaultConnectTimeout + 15*time.Second; elapsed > limit {
				t.Errorf("tourd %v gave up after %v, want within %v", args, elapsed, limit)
			}
		})
	}
	wg.Wait()
}

// TestDBTimeoutFlag checks that --db-timeout must be a positive duration
// of at most 30s.
func TestDBTimeoutFlag(t *testing.T) {
	for _, v := range []string{"0", "-1s", "31s", "soon"} {
		out, status, _ := runTourd(t, "migrate", "--db", "postgres://tourd@127.0.0.1:1/tourd", "--db-timeout", v)
		if status != 2 || !strings.Contains(out, "--db-timeout must be") {
			t.Errorf("--db-timeout %s: exit status %d, output %q; want 2 (a usage error) and a message about --db-timeout", v, status, out)
		}
	}
}

// TestServeDBTimeout runs tourd serve with TOURD_DB_TIMEOUT=1s over a
// PostgreSQL that then freezes: a request is answered 503 after about a
// second, not after the 10s default (or the 5s connect timeout).
func TestServeDBTimeout(t *testing.T) {
	db := backendtest.Postgres.DSN(t)
	key := newKey(t, db)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := backendtest.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	t.Setenv("TOURD_DB_TIMEOUT", "1s")
	s := serve(t, u.String())
	if status, _ := s.request(t, "GET", "/v1/users/u", key, nil); status != http.StatusNotFound {
		t.Fatalf("GET a missing user: status %d, want 404", status)
	}
	proxy.Freeze()
	start := time.Now()
	status, body := s.request(t, "GET", "/v1/users/u", key, nil)
	elapsed := time.Since(start)
	if status != http.StatusServiceUnavailable {
		t.Errorf("GET with PostgreSQL frozen: status %d %v, want 503", status, body)
	}
	if elapsed >= postgres.DefaultConnectTimeout {
		t.Errorf("GET with PostgreSQL frozen answered after %v: the 1s deadline was not applied", elapsed)
	}
	t.Logf("503 after %v", elapsed.Round(time.Millisecond))
}
