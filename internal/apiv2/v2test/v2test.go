// Package v2test holds checks of the v2 API that the tests of other
// packages run, the storage backends' among them (which backendtest,
// importing them, cannot serve).
package v2test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"tourd/internal/apiv2"
	"tourd/internal/httpapi"
	"tourd/internal/userdata"
)

// CheckV2Reads checks that user externalID of environment envID of
// project projectID, read through v2 with a new personal token, is
// byte-identical to what key reads through v1 (v2.md §2): for a database
// migrated from before v2, its rows reach v2 whole.
func CheckV2Reads(t *testing.T, s userdata.Store, projectID, envID, key, externalID string) {
	t.Helper()
	token, hash, prefix := userdata.NewToken()
	caps, _ := userdata.ParseScopes("user:read")
	if _, err := s.CreateToken(t.Context(), userdata.TokenInput{ProjectID: projectID, Hash: hash, Prefix: prefix,
		Scopes: caps, Environments: []string{envID}}); err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(s, slog.New(slog.DiscardHandler), "")
	apiv2.Register(api, s, apiv2.Config{})
	srv := httptest.NewServer(api)
	defer srv.Close()
	get := func(path, credential string) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+credential)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s %v", path, res.StatusCode, body, err)
		}
		return body
	}
	const q = "?expand=memberships.company"
	v1 := get("/v1/users/"+externalID+q, key)
	v2 := get("/v2/projects/"+projectID+"/environments/"+envID+"/users/"+externalID+q, token)
	if !bytes.Equal(v1, v2) {
		t.Errorf("user %s through v1 and v2 differ:\nv1 %s\nv2 %s", externalID, v1, v2)
	}
}
