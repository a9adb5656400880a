package apiv2_test

import (
	"slices"
	"testing"

	"tourd/internal/backendtest"
)

// GET E/changes reads the families the token's capabilities allow
// (webhooks.md §4): user:read user.* and event.tracked*, company:read
// company.* and membership.*; naming a family without its capability is
// 403 E1012, as is a token with neither.
func TestChangeFeedCapabilities(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		all := e.all()
		e.call("PUT", en(e.a, e.a0, "/users/u1"), all, `{"attributes":{"plan":"pro"}}`).want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/c1"), all, "").want(t, 200)
		e.call("PUT", en(e.a, e.a0, "/companies/c1/memberships/u1"), all, `{"attributes":{"role":"admin"}}`).want(t, 200)
		e.call("PUT", en(e.a, e.a1, "/users/elsewhere"), all, "").want(t, 200)
		types := func(token, query string) []string {
			t.Helper()
			body := e.call("GET", en(e.a, e.a0, "/changes"+query), token, "").want(t, 200)
			var out []string
			for _, r := range body["results"].([]any) {
				out = append(out, r.(map[string]any)["type"].(string))
			}
			return out
		}
		for _, tt := range []struct {
			scopes, query string
			want          []string
		}{
			{"all", "", []string{"user.created", "company.created", "membership.created"}},
			{"user:read", "", []string{"user.created"}},
			{"company:read", "", []string{"company.created", "membership.created"}},
			{"company:read", "?types=membership", []string{"membership.created"}},
			{"user:read,company:read", "?types=*", []string{"user.created", "company.created", "membership.created"}},
		} {
			if got := types(e.token(e.a, tt.scopes, e.a0), tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("%s %s: %q, want %q", tt.scopes, tt.query, got, tt.want)
			}
		}
		companyOnly := e.token(e.a, "company:read", e.a0)
		for _, q := range []string{"?types=user", "?types=event.tracked.x", "?types=*", "?types=company,user.created"} {
			e.call("GET", en(e.a, e.a0, "/changes"+q), companyOnly, "").wantError(t, 403, "E1012")
		}
		e.call("GET", en(e.a, e.a0, "/changes"), e.token(e.a, "segment:read", e.a0), "").wantError(t, 403, "E1012")
		e.call("GET", en(e.a, e.a1, "/changes"), companyOnly, "").wantError(t, 403, "E1029")
	})
}
