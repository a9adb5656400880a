package apiv2_test

// Usertour's own e2e cases of the error envelope, the rate limiter and the
// capability matrix (usertour/usertour apps/server/test/e2e/api/
// error-envelope.e2e-spec.ts and capability-matrix.e2e-spec.ts), ported.
// Not repeated here:
//   - capability-matrix.e2e-spec.ts whole: 401 E1010 without a header and
//     403 E1012 for a token with every capability but the route's, on every
//     route tourd serves (TestCheckOrder, whose route table carries the
//     capabilities as literals and agrees with Usertour's rows), and the
//     table against the OpenAPI document (TestOpenAPIMatchesRouter);
//   - "an unknown /v2 route returns the v2 envelope (404 E1033)"
//     (TestUnknownV2Routes);
//   - "unknown credentials share the per-IP bucket: rotating garbage
//     bearers does not reset it" (TestRateLimit: an unknown token and no
//     token share the address's bucket, with the 429's headers);
//   - "spoofed X-Forwarded-For prefixes do not mint fresh buckets"
//     (TestTrustedProxies);
//   - "the quota comes back after the window elapses" (ratelimit's
//     TestWindow; the v2 window is a fixed minute).
//
// Not ported: "a non-/v2 unknown route keeps the default framework shape"
// — tourd answers every unknown route, /v1 included, with the envelope
// (v1.md §3.4).

import (
	"net/http"
	"net/netip"
	"testing"

	"tourd/internal/apiv2"
	"tourd/internal/backendtest"
)

// TestUsertourMalformedJSON ports "a malformed JSON body returns the v2
// envelope (400 E1017), not the framework shape"
// (error-envelope.e2e-spec.ts): before any other check, without a token, on
// a project that does not exist. DEVIATION (message only): Usertour's
// message contains "Invalid JSON body", tourd's is v1's "request body is not
// valid JSON: …"; messages are not contractual (v1.md §3.3, which v2.md §5
// takes).
func TestUsertourMalformedJSON(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		res := e.call("POST", "/v2/projects/any/environments", "", `{"name": "truncated`)
		res.wantError(t, 400, "E1017")
		if len(res.body) != 1 {
			t.Errorf("top-level keys beside error: %s", res.raw)
		}
		if msg, _ := res.body["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("no message: %s", res.raw)
		}
	})
}

// TestUsertourPrivatePeer ports "a PRIVATE-range peer is the client, not a
// trusted hop — its XFF claims are ignored" (error-envelope.e2e-spec.ts):
// with only loopback trusted (Usertour's default; tourd trusts nothing by
// default, v2.md §10), a private rightmost entry is the client, so rotating
// the entries left of it does not make new buckets, while another private
// client has its own.
func TestUsertourPrivatePeer(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		cfg := apiv2.Config{RateLimitAnon: 3, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
		e := newEnv(t, b, cfg)
		call := func(xff string) int {
			req, err := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/v2/projects/any/environments", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer utp_garbage_lan")
			req.Header.Set("X-Forwarded-For", xff)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		for _, xff := range []string{"5.6.7.0, 10.0.0.5", "5.6.7.1, 10.0.0.5", "5.6.7.2, 10.0.0.5"} {
			if got := call(xff); got != 403 {
				t.Fatalf("%s: %d, want 403", xff, got)
			}
		}
		if got := call("5.6.7.9, 10.0.0.5"); got != 429 {
			t.Errorf("a rotated prefix of a full bucket: %d, want 429", got)
		}
		// Another private client is its own bucket (from the spoofed-XFF
		// case of the same spec), so the header is read, not ignored.
		if got := call("5.6.7.9, 10.0.0.6"); got != 403 {
			t.Errorf("another private client: %d, want 403", got)
		}
	})
}
