package apiv2_test

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"

	"tourd/internal/apiv2"
	"tourd/internal/backendtest"
	"tourd/internal/userdata"
)

// limits is a Config with the given limits per minute.
func limits(token, anon int) apiv2.Config { return apiv2.Config{RateLimit: token, RateLimitAnon: anon} }

// newKey returns a new v1 key, its hash and its prefix.
func newKey() (string, string, string) { return userdata.NewKey() }

// wantQuota checks the X-RateLimit-* headers of an answer.
func (r *response) wantQuota(t *testing.T, limit, remaining int) {
	t.Helper()
	h := r.header
	reset, err := strconv.Atoi(h.Get("X-RateLimit-Reset"))
	if h.Get("X-RateLimit-Limit") != strconv.Itoa(limit) || h.Get("X-RateLimit-Remaining") != strconv.Itoa(remaining) ||
		err != nil || reset < 1 || reset > 60 {
		t.Fatalf("quota headers %v, want limit %d remaining %d", h, limit, remaining)
	}
}

// TestRateLimit: a bucket per token and one per client address for
// requests without a valid token (v2.md §10); errors count and carry the
// headers; over the limit is 429 E1013 with Retry-After.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, backendtest.SQLite, limits(3, 2))
	tok, other := e.all(), e.all()
	users := en(e.a, e.a0, "/users")
	e.call("GET", users, tok, "").wantQuota(t, 3, 2)
	res := e.call("GET", users+"/nope", tok, "")
	res.wantError(t, 404, "E1001")
	res.wantQuota(t, 3, 1)
	e.call("GET", users, tok, "").wantQuota(t, 3, 0)
	res = e.call("GET", users, tok, "")
	res.wantError(t, 429, "E1013")
	res.wantQuota(t, 3, 0)
	if ra, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	e.call("GET", users, other, "").wantQuota(t, 3, 2) // one token never starves another

	// Without a valid token: the address's bucket, with its own limit.
	unknown, _, _ := userdata.NewToken()
	r := e.call("GET", users, "", "")
	r.wantError(t, 401, "E1010")
	r.wantQuota(t, 2, 1)
	e.call("GET", users, unknown, "").wantQuota(t, 2, 0)
	e.call("GET", users, "", "").wantError(t, 429, "E1013")
	e.call("GET", users, other, "").wantQuota(t, 3, 1) // tokens are not in the address's bucket
}

// TestRateLimitOff: 0 turns a limit off, and answers carry no headers.
func TestRateLimitOff(t *testing.T) {
	e := newEnv(t, backendtest.SQLite, limits(0, 0))
	tok := e.all()
	for range 5 {
		res := e.call("GET", en(e.a, e.a0, "/users"), tok, "")
		res.want(t, 200)
		if res.header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("headers with the limit off: %v", res.header)
		}
	}
}

// TestTrustedProxies: behind a trusted proxy, the client address is the
// rightmost untrusted X-Forwarded-For entry; from anyone else the header
// is ignored.
func TestTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		cfg := limits(0, 1)
		if trusted {
			cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
		}
		e := newEnv(t, backendtest.SQLite, cfg)
		get := func(xff string) int {
			req, err := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+en(e.a, e.a0, "/users"), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Forwarded-For", xff)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		first := get("203.0.113.9, 10.1.2.3")
		second := get("198.51.100.7, 10.1.2.3") // another client through the same proxies
		third := get("1.2.3.4, 198.51.100.7")   // the same client, a forged first entry
		if first != 401 {
			t.Fatalf("trusted %v: first %d", trusted, first)
		}
		if trusted && (second != 401 || third != 429) || !trusted && (second != 429 || third != 429) {
			t.Errorf("trusted %v: second %d, third %d", trusted, second, third)
		}
	}
}
