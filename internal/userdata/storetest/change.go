package storetest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tourd/internal/userdata"
)

// changes reads the whole log of tn's environment after after, in pages
// of limit, and returns its changes and the last Next.
func changes(t *testing.T, s userdata.Store, tn userdata.Tenant, after string, limit int, types userdata.TypeFilter) ([]*userdata.Change, string) {
	t.Helper()
	var all []*userdata.Change
	for {
		p, err := s.Changes(t.Context(), tn.EnvironmentID, userdata.ChangeQuery{After: after, Limit: limit, Types: types})
		if err != nil {
			t.Fatalf("Changes(after %q): %v", after, err)
		}
		if len(p.Changes) == 0 {
			if p.Next != after && after != "" && after != userdata.CursorNow {
				t.Fatalf("Changes(after %q) read nothing and gave Next %q", after, p.Next)
			}
			return all, p.Next
		}
		if len(p.Changes) > limit {
			t.Fatalf("Changes(limit %d) gave %d", limit, len(p.Changes))
		}
		all, after = append(all, p.Changes...), p.Next
	}
}

var changeID = regexp.MustCompile(`^whmsg_[0-9a-f]{32}$`)

// describe renders a change for comparison: its type, its object's id and
// attributes (without the seeded first_seen_at and last_seen_at), and
// its previous attributes.
func describe(t *testing.T, c *userdata.Change) string {
	t.Helper()
	if !changeID.MatchString(c.ID) {
		t.Errorf("change id %q", c.ID)
	}
	var id string
	var attrs json.RawMessage
	objects := 0
	if u := c.User; u != nil {
		objects++
		id, attrs = u.ExternalID, u.Attributes
	}
	if co := c.Company; co != nil {
		objects++
		id, attrs = co.ExternalID, co.Attributes
	}
	if m := c.Membership; m != nil {
		objects++
		id, attrs = "m", m.Attributes
		if m.ID == "" || m.UserID == "" || m.CompanyID == "" {
			t.Errorf("%s: membership %+v", c.Type, m)
		}
	}
	if e := c.Event; e != nil {
		objects++
		id, attrs = e.UserID+"/"+e.CompanyID, e.Attributes
		if e.ID == "" || e.DefinitionID == "" || c.Type != userdata.ChangeEventTracked+e.Name {
			t.Errorf("%s: event %+v", c.Type, e)
		}
	}
	if objects != 1 {
		t.Fatalf("%s: %d objects", c.Type, objects)
	}
	m := decode(t, attrs)
	delete(m, "first_seen_at")
	delete(m, "last_seen_at")
	out, _ := json.Marshal(m)
	s := c.Type + " " + id + " " + string(out)
	if c.Previous != nil {
		s += " was " + string(c.Previous)
	}
	return s
}

func describeAll(t *testing.T, cs []*userdata.Change) []string {
	t.Helper()
	out := []string{}
	for _, c := range cs {
		out = append(out, describe(t, c))
	}
	return out
}

// wantChanges checks that the log of tn's environment after *after holds
// want, and moves *after past them.
func wantChanges(t *testing.T, s userdata.Store, tn userdata.Tenant, after *string, what string, want ...string) {
	t.Helper()
	cs, next := changes(t, s, tn, *after, 100, userdata.AllChanges)
	if want == nil {
		want = []string{}
	}
	if got := describeAll(t, cs); !slices.Equal(got, want) {
		t.Errorf("%s: changes\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	*after = next
}

// Every write records its changes, as webhooks.md §1 says, and only
// those.
func testChangeLog(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	after := userdata.CursorNow
	wantChanges(t, s, tn, &after, "empty log")

	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"plan":"pro","x":1}`),
		Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "acme", Attributes: ops(t, "attributes", `{"size":5}`)}, Attributes: ops(t, "attributes", `{"role":"admin"}`)}}})
	wantChanges(t, s, tn, &after, "a user upsert creating a company and a membership",
		`user.created u {"plan":"pro","x":1}`, `company.created acme {"size":5}`, `membership.created m {"role":"admin"}`)

	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"plan":"pro","x":1}`),
		Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "acme", Attributes: ops(t, "attributes", `{"size":5}`)}, Attributes: ops(t, "attributes", `{"role":"admin"}`)}}})
	if _, err := opUser(t, s, tn, "u", `{"x":{"add":0},"gone":null}`); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, s, tn, &after, "writes that store nothing new")

	if _, err := opUser(t, s, tn, "u", `{"plan":"team","x":null,"y":[1,"a"]}`); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, s, tn, &after, "an update", `user.updated u {"plan":"team","y":[1,"a"]} was {"plan":"pro","x":1}`)

	if _, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "acme", Attributes: ops(t, "attributes", `{"size":{"add":2}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertMembership(ctx, tn, "acme", "u", ops(t, "attributes", `{"role":"owner","seat":true}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertMembership(ctx, tn, "acme", "u", ops(t, "attributes", `{"role":"owner"}`)); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, s, tn, &after, "company and membership updates",
		`company.updated acme {"size":7} was {"size":5}`, `membership.updated m {"role":"owner","seat":true} was {"role":"admin"}`)

	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: ops(t, "attributes", `{"plan":{"add":1}}`)}); err == nil {
		t.Fatal("adding to a string succeeded")
	}
	wantChanges(t, s, tn, &after, "a failed write")

	user(t, s, tn, "v", `{}`)
	if _, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u", CompanyID: "acme", Name: "checkout", Attributes: ops(t, "attributes", `{"total":3}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "v", Name: "page_viewed"}); err != nil {
		t.Fatal(err)
	}
	cs, _ := changes(t, s, tn, after, 100, userdata.TypeFilter{Exact: []string{userdata.PageViewed}, Prefixes: []string{"user."}})
	if got := describeAll(t, cs); !slices.Equal(got, []string{`user.created v {}`, `event.tracked.page_viewed v/ {}`}) {
		t.Errorf("user.* and page_viewed: %q", got)
	}
	wantChanges(t, s, tn, &after, "events (page_viewed only by name)", `user.created v {}`, `event.tracked.checkout u/acme {"total":3}`)

	if _, err := s.DeleteMembership(ctx, tn, "u", "acme"); err != nil {
		t.Fatal(err)
	}
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "v", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	if err := s.DeleteUser(ctx, tn, "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCompany(ctx, tn, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, tn, "nobody"); !userdata.IsNotFound(err, userdata.ResourceUser) {
		t.Fatalf("DeleteUser(nobody) = %v", err)
	}
	wantChanges(t, s, tn, &after, "deletions, without their cascades",
		`membership.deleted m {"role":"owner","seat":true}`, `membership.created m {}`, `user.deleted v {}`, `company.deleted acme {"size":7}`)

	res := s.ImportUsers(ctx, tn, []*userdata.UserUpsert{
		{ExternalID: "w", Attributes: ops(t, "attributes", `{"n":1}`)},
		{ExternalID: "w", Attributes: ops(t, "attributes", `{"n":{"union":"x"}}`)},
		{ExternalID: "w", Attributes: ops(t, "attributes", `{"n":2}`)},
		{ExternalID: "w", Attributes: ops(t, "attributes", `{"n":2}`)},
	})
	if res[0].Err != nil || res[1].Err == nil || res[2].Err != nil || res[3].Err != nil {
		t.Fatalf("ImportUsers = %+v", res)
	}
	wantChanges(t, s, tn, &after, "import lines, each as if alone", `user.created w {"n":1}`, `user.updated w {"n":2} was {"n":1}`)

	if cs, _ := changes(t, s, other, "", 10, userdata.AllChanges); len(cs) != 0 {
		t.Errorf("another environment reads %d changes", len(cs))
	}
	all, _ := changes(t, s, tn, "", 3, userdata.AllChanges)
	ids := map[string]bool{}
	for _, c := range all {
		if ids[c.ID] || c.EnvironmentID != tn.EnvironmentID || c.CreatedAt.IsZero() {
			t.Errorf("change %+v: repeated id, or wrong environment or time", c)
		}
		ids[c.ID] = true
	}
	if len(all) != 14 {
		t.Errorf("the log holds %d changes, want 14", len(all))
	}
}

// The feed's positions: Next, "now", types, bad cursors, the signal, and
// pruning.
func testChangeFeed(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	start, err := s.Changes(ctx, tn.EnvironmentID, userdata.ChangeQuery{Limit: 10, Types: userdata.AllChanges})
	if err != nil || len(start.Changes) != 0 || start.Next == "" {
		t.Fatalf("Changes(empty log) = %+v, %v", start, err)
	}
	for _, cursor := range []string{"x", "-1", "1.5", "01", " 1"} {
		_, err := s.Changes(ctx, tn.EnvironmentID, userdata.ChangeQuery{After: cursor, Limit: 10, Types: userdata.AllChanges})
		wantCode(t, "Changes(after "+cursor+")", err, userdata.CodeInvalidCursor, "")
	}
	signal := s.ChangeSignal()
	user(t, s, tn, "a", `{}`)
	select {
	case <-signal:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal 5 s after a change")
	}
	company(t, s, tn, "b", `{}`)
	now, err := s.Changes(ctx, tn.EnvironmentID, userdata.ChangeQuery{After: userdata.CursorNow, Limit: 10, Types: userdata.AllChanges})
	if err != nil || len(now.Changes) != 0 {
		t.Fatalf("Changes(now) = %+v, %v", now, err)
	}
	user(t, s, tn, "c", `{}`)
	cs, _ := changes(t, s, tn, now.Next, 10, userdata.AllChanges)
	if got := describeAll(t, cs); !slices.Equal(got, []string{`user.created c {}`}) {
		t.Errorf("after now: %q", got)
	}
	cs, _ = changes(t, s, tn, start.Next, 1, userdata.TypeFilter{Prefixes: []string{"company."}})
	if got := describeAll(t, cs); !slices.Equal(got, []string{`company.created b {}`}) {
		t.Errorf("company.*: %q", got)
	}
	if cs, _ := changes(t, s, tn, start.Next, 10, userdata.TypeFilter{}); len(cs) != 0 {
		t.Errorf("the empty filter selects %d", len(cs))
	}

	// Pruning: a cursor before pruned changes has expired; reading from
	// the start begins after them.
	if n, err := s.PruneChanges(ctx, time.Now().Add(time.Hour), 2); err != nil || n != 2 {
		t.Fatalf("PruneChanges = %d, %v", n, err)
	}
	_, err = s.Changes(ctx, tn.EnvironmentID, userdata.ChangeQuery{After: start.Next, Limit: 10, Types: userdata.AllChanges})
	wantCode(t, "Changes(after a pruned change)", err, userdata.CodeCursorExpired, "")
	cs, _ = changes(t, s, tn, "", 10, userdata.AllChanges)
	if got := describeAll(t, cs); !slices.Equal(got, []string{`user.created c {}`}) {
		t.Errorf("after pruning: %q", got)
	}
	if n, err := s.PruneChanges(ctx, time.Now().Add(-time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("PruneChanges(an hour ago) = %d, %v", n, err)
	}
}

// A reader following Next while writers commit sees every change once,
// in an order that keeps each writer's.
func testChangesConcurrent(t *testing.T, s userdata.Store) {
	tn := Tenant(t, s, "p", "e")
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				user(t, s, tn, fmt.Sprintf("w%d-%02d", w, i), `{}`)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []string
	after := ""
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		cs, next := changes(t, s, tn, after, 7, userdata.AllChanges)
		for _, c := range cs {
			seen = append(seen, c.User.ExternalID)
		}
		after = next
		if finished {
			cs, _ := changes(t, s, tn, after, 7, userdata.AllChanges)
			for _, c := range cs {
				seen = append(seen, c.User.ExternalID)
			}
			break
		}
	}
	if len(seen) != writers*each {
		t.Fatalf("the reader saw %d changes, want %d", len(seen), writers*each)
	}
	last := map[string]string{}
	for _, id := range seen {
		w := id[:strings.IndexByte(id, '-')]
		if id <= last[w] {
			t.Fatalf("the reader saw %s after %s", id, last[w])
		}
		last[w] = id
	}
}
