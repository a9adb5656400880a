package userdata_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"tourd/internal/userdata"
)

func TestKeyCache(t *testing.T) {
	var epoch int64
	lookups := 0
	fail := false
	lookup := func(ctx context.Context, hash string) (userdata.Tenant, error) {
		lookups++
		if fail {
			return userdata.Tenant{}, errors.New("revoked")
		}
		return userdata.Tenant{ProjectID: "p", EnvironmentID: hash}, nil
	}
	c := userdata.NewKeyCache(func() int64 { return epoch }, 0)
	auth := func() error {
		tn, err := c.Authenticate(t.Context(), "h", lookup)
		if err == nil && tn.EnvironmentID != "h" {
			t.Fatalf("tenant %+v", tn)
		}
		return err
	}
	for range 3 {
		if err := auth(); err != nil {
			t.Fatal(err)
		}
	}
	if lookups != 1 {
		t.Errorf("%d lookups for three authentications in one epoch, want 1", lookups)
	}
	epoch++ // a revocation somewhere
	fail = true
	if auth() == nil {
		t.Error("a new epoch still answered from the cache")
	}
	if auth() == nil || lookups != 3 {
		t.Errorf("failed lookups are cached (%d lookups)", lookups)
	}

	aged := userdata.NewKeyCache(func() int64 { return 0 }, time.Millisecond)
	n := 0
	count := func(ctx context.Context, hash string) (userdata.Tenant, error) { n++; return userdata.Tenant{}, nil }
	aged.Authenticate(t.Context(), "h", count)
	time.Sleep(5 * time.Millisecond)
	aged.Authenticate(t.Context(), "h", count)
	if n != 2 {
		t.Errorf("an entry older than maxAge was used (%d lookups, want 2)", n)
	}
}
