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
