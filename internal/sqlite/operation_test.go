package sqlite

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// opAttrs parses attributes with operations as the HTTP layer does.
func opAttrs(t *testing.T, field, js string) userdata.Attributes {
	t.Helper()
	a, err := userdata.DecodeAttributes([]byte(js))
	if err == nil {
		err = userdata.ParseOperations(field, a, false)
	}
	if err != nil {
		t.Fatalf("bad test attributes %s: %v", js, err)
	}
	return a
}

// The group-commit writer composes the operations of the writes of one
// batch in their order of arrival: adds, unions and removes to one row,
// committed in one transaction, give what applying them one after the
// other gives, and each write answers the row as it left it.
func TestOperationsInOneBatch(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	u, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: opAttrs(t, "attributes", `{"n":1,"t":["a"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{}, 64) // the writer ran a write
	s.Now = func() time.Time {
		ran <- struct{}{}
		return time.Now()
	}
	entered, release := blockSync(t, nil)
	first := make(chan error, 1)
	go func() {
		_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "other"})
		first <- err
	}()
	<-ran
	<-entered
	// While that commit's fsync is held, the writes run one by one, in
	// the order sent, in the next transaction, which cannot commit yet.
	const n = 12
	patches := make([]string, n)
	answers := make([]chan json.RawMessage, n)
	for i := range n {
		if i%2 == 0 {
			patches[i] = fmt.Sprintf(`{"n":{"add":%d},"t":{"union":["e%d","a"]},"first":{"set_once":%d}}`, i+1, i, i)
		} else {
			patches[i] = fmt.Sprintf(`{"n":{"subtract":0.5},"t":{"remove":"e%d"},"odd":{"append":%d}}`, i-1, i)
		}
		in := &userdata.UserUpsert{ExternalID: "u", Attributes: opAttrs(t, "attributes", patches[i]),
			Companies: []userdata.CompanyUpsert{{ExternalID: "acme", Attributes: opAttrs(t, "companies.0.attributes", `{"n":{"add":1}}`)}}}
		answers[i] = make(chan json.RawMessage, 1)
		go func() {
			u, _, err := s.UpsertUser(ctx, tn, in)
			if err != nil {
				t.Errorf("write %d: %v", i, err)
				answers[i] <- nil
				return
			}
			answers[i] <- u.Attributes
		}()
		<-ran
	}
	select {
	case <-entered:
		t.Fatal("a second commit began while the first one's fsync was held")
	default:
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// Each answer is the row right after its own write, as applying the
	// patches one after the other in memory gives it.
	want := unseeded(t, u.Attributes)
	for i := range n {
		if want, _, err = opAttrs(t, "attributes", patches[i]).Merge(want); err != nil {
			t.Fatalf("reference merge of %s: %v", patches[i], err)
		}
		if got := unseeded(t, <-answers[i]); string(got) != string(want) {
			t.Errorf("answer to write %d (%s) = %s, want %s", i, patches[i], got, want)
		}
	}
	if got := unseeded(t, getUser(t, s, tn, "u").Attributes); string(got) != string(want) ||
		string(want) != `{"first":0,"n":34,"odd":[1,3,5,7,9,11],"t":["a"]}` {
		t.Errorf("stored %s, want %s", got, want)
	}
	var acme struct{ N float64 }
	c, err := s.GetCompany(ctx, tn, "acme", 0)
	if err != nil || json.Unmarshal(c.Attributes, &acme) != nil || acme.N != n {
		t.Errorf("company after %d adds in one batch: %v, %v", n, c, err)
	}
	// All of them committed together: one more fsync, not one each.
	if got := len(entered); got != 1 {
		t.Errorf("%d fsyncs for the batch, want 1", got)
	}
}

// getUser reads a user or fails the test.
func getUser(t *testing.T, s *Store, tn userdata.Tenant, id string) *userdata.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), tn, id, 0)
	if err != nil {
		t.Fatalf("GetUser(%q): %v", id, err)
	}
	return u
}

// unseeded drops the seeded timestamps, the same in every answer.
func unseeded(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	out, _, err := userdata.Attributes{"first_seen_at": nil, "last_seen_at": nil}.Merge(raw)
	if err != nil {
		t.Fatalf("attributes %s: %v", raw, err)
	}
	return out
}

// An upsert whose operations leave every row as it is writes nothing, not
// even an update to the same value (operations.md §4), for users,
// companies and memberships, alone or in an import.
func TestNoOpUpsertWritesNothing(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	in := func(user, company, membership string) *userdata.UserUpsert {
		return &userdata.UserUpsert{ExternalID: "u", Attributes: opAttrs(t, "attributes", user), Memberships: []userdata.MembershipUpsert{{
			Company:    userdata.CompanyUpsert{ExternalID: "c", Attributes: opAttrs(t, "memberships.0.company.attributes", company)},
			Attributes: opAttrs(t, "memberships.0.attributes", membership)}}}
	}
	if _, _, err := s.UpsertUser(ctx, tn, in(`{"plan":"a","n":1,"t":["x"]}`, `{"k":1}`, `{"m":1}`)); err != nil {
		t.Fatal(err)
	}
	// total_changes counts the rows the writer's connection inserted,
	// updated or deleted, even an update to the same value.
	changes := func() int64 {
		t.Helper()
		var n int64
		if err := s.write(ctx, func(w *wtx) error {
			return w.q.QueryRowContext(w.ctx, "SELECT total_changes()").Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := changes()
	noop := in(`{"plan":{"set_once":"b"},"n":{"add":0},"t":{"union":"x"},"gone":{"remove":"q"},"none":null,"p2":{"set":null}}`,
		`{"k":{"set_once":2},"t":{"remove":"x"}}`, `{"m":{"add":-0},"t":{"remove":[]}}`)
	if _, _, err := s.UpsertUser(ctx, tn, noop); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "c", Attributes: opAttrs(t, "attributes", `{"k":{"add":0}}`)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.ImportUsers(ctx, tn, []*userdata.UserUpsert{noop, noop}) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if after := changes(); after != before {
		t.Errorf("no-op upserts wrote %d rows", after-before)
	}
	if _, _, err := s.UpsertUser(ctx, tn, in(`{"n":{"add":1}}`, `{}`, `{}`)); err != nil {
		t.Fatal(err)
	}
	if changes() == before {
		t.Error("total_changes did not change after a real write: the probe proves nothing")
	}
}
