package userdata_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"tourd/internal/userdata"
)

func TestCache(t *testing.T) {
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
	c := userdata.NewCache[userdata.Tenant](func() int64 { return epoch }, 0)
	auth := func() error {
		tn, err := c.Get(t.Context(), "h", lookup)
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

	aged := userdata.NewCache[userdata.Tenant](func() int64 { return 0 }, time.Millisecond)
	n := 0
	count := func(ctx context.Context, hash string) (userdata.Tenant, error) { n++; return userdata.Tenant{}, nil }
	aged.Get(t.Context(), "h", count)
	time.Sleep(5 * time.Millisecond)
	aged.Get(t.Context(), "h", count)
	if n != 2 {
		t.Errorf("an entry older than maxAge was used (%d lookups, want 2)", n)
	}
}

// A cached token goes at its expiry, however long the cache keeps other
// entries, and an expired token is refused at once, cached or not.
func TestTokenCache(t *testing.T) {
	c := userdata.NewTokenCache(func() int64 { return 0 }, time.Hour)
	expires := time.Now().Add(200 * time.Millisecond)
	lookups := 0
	lookup := func(ctx context.Context, hash string) (userdata.Principal, error) {
		lookups++
		p := userdata.Principal{TokenID: hash}
		if hash == "expiring" {
			p.ExpiresAt = &expires
		}
		return p, nil
	}
	for range 3 {
		for _, h := range []string{"expiring", "forever"} {
			if _, err := c.Authenticate(t.Context(), h, time.Now(), lookup); err != nil {
				t.Fatalf("%s: %v", h, err)
			}
		}
	}
	if lookups != 2 {
		t.Fatalf("%d lookups for three rounds of two tokens, want 2", lookups)
	}
	// The clock given decides, even for a cached entry.
	p, err := c.Authenticate(t.Context(), "expiring", expires, lookup)
	if userdata.ErrorCode(err) != userdata.CodeExpired || p.TokenID != "expiring" || lookups != 2 {
		t.Errorf("at its expiry: %+v, %v (%d lookups); want CodeExpired with the principal, from the cache", p, err, lookups)
	}
	time.Sleep(time.Until(expires))
	if _, err := c.Authenticate(t.Context(), "expiring", expires.Add(-time.Second), lookup); err != nil || lookups != 3 {
		t.Errorf("past its expiry the entry was still used (%d lookups, want 3), err %v", lookups, err)
	}
	if _, err := c.Authenticate(t.Context(), "expiring", expires.Add(-time.Second), lookup); err != nil || lookups != 4 {
		t.Errorf("an expired token was cached (%d lookups, want 4), err %v", lookups, err)
	}
	if _, err := c.Authenticate(t.Context(), "forever", time.Now(), lookup); err != nil || lookups != 4 {
		t.Errorf("a token without expiry: %d lookups, want 4, err %v", lookups, err)
	}
}
