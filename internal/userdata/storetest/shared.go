package storetest

import (
	"fmt"
	"sync"
	"testing"

	"tourd/internal/userdata"
)

// PairOpener opens two stores on one new, empty database, as two tourd
// processes (or nodes) sharing it would.
type PairOpener func(t *testing.T) (userdata.Store, userdata.Store)

// RunShared runs the tests of stores that share one database.
func RunShared(t *testing.T, open PairOpener) {
	t.Run("RevocationAcrossStores", func(t *testing.T) {
		a, b := open(t)
		testRevocationAcrossStores(t, a, b)
	})
	t.Run("TokenRevocationAcrossStores", func(t *testing.T) {
		a, b := open(t)
		testTokenRevocationAcrossStores(t, a, b)
	})
	t.Run("EnvironmentChangesAcrossStores", func(t *testing.T) {
		a, b := open(t)
		testEnvironmentChangesAcrossStores(t, a, b)
	})
	t.Run("KeysCreateOneTenant", func(t *testing.T) {
		a, b := open(t)
		testKeysCreateOneTenant(t, a, b)
	})
	t.Run("UpsertsAcrossStores", func(t *testing.T) {
		a, b := open(t)
		testUpsertsAcrossStores(t, a, b)
	})
	t.Run("DefinitionDeletedAcrossStores", func(t *testing.T) {
		a, b := open(t)
		testDefinitionDeletedAcrossStores(t, a, b)
	})
	t.Run("AttributeTypesAcrossStores", func(t *testing.T) {
		a, b := open(t)
		testAttributeTypesAcrossStores(t, a, b)
	})
	t.Run("OperationsAcrossStores", func(t *testing.T) {
		a, b := open(t)
		concurrentOperations(t, func(i int) userdata.Store { return []userdata.Store{a, b}[i%2] })
	})
}

// A key revoked through one store is refused by the other at once, even
// after that one has authenticated it before.
func testRevocationAcrossStores(t *testing.T, a, b userdata.Store) {
	ctx := t.Context()
	_, hash, prefix := userdata.NewKey()
	if _, err := a.CreateKey(ctx, "p", "e", hash, prefix); err != nil {
		t.Fatal(err)
	}
	for _, s := range []userdata.Store{a, b, a, b} {
		if _, err := s.Authenticate(ctx, hash); err != nil {
			t.Fatalf("Authenticate before revocation: %v", err)
		}
	}
	if err := b.RevokeKey(ctx, hash); err != nil {
		t.Fatal(err)
	}
	for i, s := range []userdata.Store{a, b} {
		_, err := s.Authenticate(ctx, hash)
		wantCode(t, fmt.Sprintf("store %d: Authenticate after revocation", i), err, userdata.CodeForbidden, "")
	}
	// A key created through one store works through the other at once.
	_, hash2, prefix2 := userdata.NewKey()
	if _, err := b.CreateKey(ctx, "p", "e", hash2, prefix2); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, hash2); err != nil {
		t.Errorf("a key created through the other store: %v", err)
	}
}

// Interleaved concurrent upserts of the same ids through both stores, new
// and existing, each with its own attribute key and membership to shared
// companies: every call succeeds, each id is one row, nothing is lost.
func testUpsertsAcrossStores(t *testing.T, a, b userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, a, "p", "e")
	user(t, a, tn, "existing-0", `{"old":true}`)
	user(t, b, tn, "existing-1", `{"old":true}`)
	ids := []string{"existing-0", "existing-1", "new-0", "new-1", "new-2"}
	const writers = 24
	var wg sync.WaitGroup
	errs := make(chan error, writers*len(ids))
	created := make(chan string, writers*len(ids))
	for w := range writers {
		store := []userdata.Store{a, b}[w%2]
		wg.Go(func() {
			for i := range ids {
				id := ids[(i+w)%len(ids)]
				in := &userdata.UserUpsert{ExternalID: id, Attributes: userdata.Attributes{fmt.Sprintf("w%d", w): float64(w)},
					Memberships: []userdata.MembershipUpsert{
						{Company: userdata.CompanyUpsert{ExternalID: fmt.Sprintf("co-%d", w%3), Attributes: userdata.Attributes{fmt.Sprintf("w%d", w): true}},
							Attributes: userdata.Attributes{fmt.Sprintf("w%d", w): id}},
						{Company: userdata.CompanyUpsert{ExternalID: fmt.Sprintf("co-%d", (w+1)%3)}},
					}}
				_, c, err := store.UpsertUser(ctx, tn, in)
				errs <- err
				if c {
					created <- id
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		if err != nil {
			t.Errorf("upsert: %v", err)
		}
	}
	n := map[string]int{}
	for id := range created {
		n[id]++
	}
	for _, id := range ids[2:] {
		if n[id] != 1 {
			t.Errorf("%s was created %d times", id, n[id])
		}
	}
	for _, s := range []userdata.Store{a, b} {
		l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(100, "")})
		if err != nil || len(l.Items) != len(ids) {
			t.Fatalf("ListUsers: %d users, %v; want %d", len(l.Items), err, len(ids))
		}
		for _, u := range l.Items {
			got := decode(t, u.Attributes)
			for w := range writers {
				if got[fmt.Sprintf("w%d", w)] != float64(w) {
					t.Errorf("%s lost w%d: %v", u.ExternalID, w, got)
				}
			}
		}
	}
	for c := range 3 {
		co := getCompany(t, b, tn, fmt.Sprintf("co-%d", c), userdata.ExpandMemberships|userdata.ExpandMembershipUser)
		if len(co.Memberships) != len(ids) {
			t.Errorf("co-%d has %d memberships, want %d", c, len(co.Memberships), len(ids))
		}
		attrs := decode(t, co.Attributes)
		for w := c; w < writers; w += 3 {
			if attrs[fmt.Sprintf("w%d", w)] != true {
				t.Errorf("co-%d lost w%d", c, w)
			}
		}
		for _, m := range co.Memberships {
			ma := decode(t, m.Attributes)
			for w := c; w < writers; w += 3 {
				if ma[fmt.Sprintf("w%d", w)] != m.User.ExternalID {
					t.Errorf("membership %s/co-%d lost w%d: %v", m.User.ExternalID, c, w, ma)
				}
			}
		}
	}
}

// An environment deleted or renamed through one store is so for the other
// at once, even after that one has cached it and its keys.
func testEnvironmentChangesAcrossStores(t *testing.T, a, b userdata.Store) {
	ctx := t.Context()
	p := createProject(t, a, "p")
	gone, renamed := createEnvironment(t, a, p.ID, "gone"), createEnvironment(t, a, p.ID, "renamed")
	_, key := tenantOf(t, a, gone)
	for _, s := range []userdata.Store{a, b} {
		if _, err := s.Authenticate(ctx, key); err != nil {
			t.Fatal(err)
		}
		for _, e := range []*userdata.Environment{gone, renamed} {
			if _, err := s.Environment(ctx, e.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.DeleteEnvironment(ctx, p.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateEnvironment(ctx, p.ID, renamed.ID, "new name"); err != nil {
		t.Fatal(err)
	}
	for i, s := range []userdata.Store{a, b} {
		_, err := s.Authenticate(ctx, key)
		wantCode(t, fmt.Sprintf("store %d: Authenticate(key of a deleted environment)", i), err, userdata.CodeForbidden, "")
		_, err = s.Environment(ctx, gone.ID)
		wantCode(t, fmt.Sprintf("store %d: Environment(deleted)", i), err, userdata.CodeNotFound, userdata.ResourceEnvironment)
		if e, err := s.Environment(ctx, renamed.ID); err != nil || e.Name != "new name" {
			t.Errorf("store %d: Environment(renamed) = %+v, %v", i, e, err)
		}
	}
}
