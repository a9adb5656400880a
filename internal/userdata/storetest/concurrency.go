package storetest

import (
	"fmt"
	"sync"
	"testing"

	"tourd/internal/userdata"
)

// testConcurrentUpserts sends 50 concurrent upserts of one new id, each
// with its own attribute key: all succeed, one creates, none is lost.
func testConcurrentUpserts(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	const n = 50
	var wg sync.WaitGroup
	created := make(chan bool, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			in := &userdata.UserUpsert{ExternalID: "same", Attributes: userdata.Attributes{fmt.Sprintf("k%d", i): float64(i), "shared": "v"}}
			_, c, err := s.UpsertUser(t.Context(), tn, in)
			errs <- err
			created <- c
		})
	}
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent upsert: %v", err)
		}
	}
	nCreated := 0
	for c := range created {
		if c {
			nCreated++
		}
	}
	if nCreated != 1 {
		t.Errorf("%d upserts report created, want 1", nCreated)
	}
	got := decode(t, getUser(t, s, tn, "same", 0).Attributes)
	for i := range n {
		if got[fmt.Sprintf("k%d", i)] != float64(i) {
			t.Errorf("attribute k%d lost: %v", i, got)
		}
	}
	l, err := s.ListUsers(t.Context(), tn, userdata.UserFilter{PageRequest: page(10, "")})
	if err != nil || len(l.Items) != 1 {
		t.Errorf("ListUsers = %d users, %v; want exactly one", len(l.Items), err)
	}
	defs := defsByKey(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{Scope: userdata.ScopeUser}))
	if defs["user/k7"] != "number K7" || defs["user/shared"] != "string Shared" {
		t.Errorf("definitions after concurrent upserts: %v", defs)
	}
}

// testConcurrentMemberships upserts many users into one new company at
// once, with membership attributes, and checks every link and value.
func testConcurrentMemberships(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		for j := range 2 { // each user twice, with different membership keys
			wg.Go(func() {
				in := &userdata.UserUpsert{ExternalID: fmt.Sprintf("u%d", i), Memberships: []userdata.MembershipUpsert{{
					Company:    userdata.CompanyUpsert{ExternalID: "acme", Attributes: userdata.Attributes{fmt.Sprintf("c%d_%d", i, j): true}},
					Attributes: userdata.Attributes{fmt.Sprintf("m%d", j): float64(i)}}}}
				_, _, err := s.UpsertUser(t.Context(), tn, in)
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent membership upsert: %v", err)
		}
	}
	c := getCompany(t, s, tn, "acme", userdata.ExpandMemberships|userdata.ExpandMembershipUser)
	if len(c.Memberships) != n {
		t.Fatalf("company has %d memberships, want %d", len(c.Memberships), n)
	}
	ca := decode(t, c.Attributes)
	for _, m := range c.Memberships {
		var i int
		fmt.Sscanf(m.User.ExternalID, "u%d", &i)
		a := decode(t, m.Attributes)
		if a["m0"] != float64(i) || a["m1"] != float64(i) {
			t.Errorf("membership of %s: attributes %v, want m0 and m1 = %d", m.User.ExternalID, a, i)
		}
		if ca[fmt.Sprintf("c%d_0", i)] != true || ca[fmt.Sprintf("c%d_1", i)] != true {
			t.Errorf("company attributes lost a write from %s", m.User.ExternalID)
		}
	}
}
