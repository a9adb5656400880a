package storetest

import (
	"sync"
	"testing"

	"tourd/internal/userdata"
)

// createKey creates a key of project and environment (ids or names) and
// fails the test on error.
func createKey(t *testing.T, s userdata.Store, project, environment string) *userdata.APIKey {
	t.Helper()
	_, hash, prefix := userdata.NewKey()
	k, err := s.CreateKey(t.Context(), project, environment, hash, prefix)
	if err != nil {
		t.Fatalf("CreateKey(%q, %q): %v", project, environment, err)
	}
	return k
}

// CreateKey takes the project and the environment by id as well as by
// name, and reports both.
func testKeyTenants(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	first := createKey(t, s, "acme", "production")
	if first.ProjectID == "" || first.Project != "acme" || first.EnvironmentID == "" || first.Environment != "production" {
		t.Fatalf("CreateKey(acme, production) = %+v", first)
	}
	for _, tt := range [][2]string{
		{"acme", "production"},
		{first.ProjectID, "production"},
		{"acme", first.EnvironmentID},
		{first.ProjectID, first.EnvironmentID},
	} {
		k := createKey(t, s, tt[0], tt[1])
		if k.ProjectID != first.ProjectID || k.Project != "acme" || k.EnvironmentID != first.EnvironmentID || k.Environment != "production" {
			t.Errorf("CreateKey(%q, %q) = %+v, want a key of acme/production", tt[0], tt[1], k)
		}
	}
	staging := createKey(t, s, first.ProjectID, "staging")
	if staging.ProjectID != first.ProjectID || staging.EnvironmentID == first.EnvironmentID || staging.Environment != "staging" {
		t.Errorf("CreateKey(project id, staging) = %+v, want a new environment of acme", staging)
	}
	other := createKey(t, s, "other", "production")
	if other.ProjectID == first.ProjectID || other.EnvironmentID == first.EnvironmentID {
		t.Errorf("CreateKey(other, production) = %+v, want a new project", other)
	}
	// Another project's environment, by id, is refused rather than taken
	// for the name of a new environment.
	_, hash, prefix := userdata.NewKey()
	_, err := s.CreateKey(ctx, "acme", other.EnvironmentID, hash, prefix)
	wantCode(t, "CreateKey(acme, environment of other)", err, userdata.CodeInvalid, "")
	for _, bad := range [][2]string{{" ", "production"}, {"acme", ""}, {"new", "a\x00b"}} {
		_, err := s.CreateKey(ctx, bad[0], bad[1], hash, prefix)
		wantCode(t, "CreateKey("+bad[0]+", "+bad[1]+")", err, userdata.CodeInvalid, "")
	}
	keys, err := s.ListKeys(ctx)
	if err != nil || len(keys) != 7 || keys[5].ProjectID != first.ProjectID || keys[5].EnvironmentID != staging.EnvironmentID {
		t.Errorf("ListKeys: %d keys, %v; want 7, the sixth of acme/staging with ids", len(keys), err)
	}
}

// Processes creating keys of one new project and environment at once agree
// on one project and one environment.
func testKeysCreateOneTenant(t *testing.T, a, b userdata.Store) {
	const n = 8
	keys := make([]*userdata.APIKey, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, hash, prefix := userdata.NewKey()
			k, err := []userdata.Store{a, b}[i%2].CreateKey(t.Context(), "new", "env", hash, prefix)
			if err != nil {
				t.Errorf("CreateKey: %v", err)
				return
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		if k != nil && (k.ProjectID != keys[0].ProjectID || k.EnvironmentID != keys[0].EnvironmentID) {
			t.Errorf("concurrent CreateKey made %s/%s and %s/%s", k.ProjectID, k.EnvironmentID, keys[0].ProjectID, keys[0].EnvironmentID)
		}
	}
}
