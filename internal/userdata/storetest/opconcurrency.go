package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// storePicker chooses the store that sends the i-th of concurrent writes:
// always the same, or in turn each of several sharing one database.
type storePicker func(i int) userdata.Store

// parallel runs fn(0) to fn(n-1) in goroutines released together, and
// fails t for each error.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs <- fn(i)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent write: %v", err)
		}
	}
}

func testConcurrentOperations(t *testing.T, s userdata.Store) {
	concurrentOperations(t, func(int) userdata.Store { return s })
}

// concurrentOperations checks that concurrent operations on one entity
// never lose an update (operations.md §4), whichever store of pick each
// is sent to.
func concurrentOperations(t *testing.T, pick storePicker) {
	tn := Tenant(t, pick(0), "p", "e")
	t.Run("Add", func(t *testing.T) { concurrentAdds(t, pick, tn) })
	t.Run("Union", func(t *testing.T) { concurrentUnions(t, pick, tn) })
	t.Run("CompanyOfManyUsers", func(t *testing.T) { concurrentCompanyOperations(t, pick, tn) })
	t.Run("Membership", func(t *testing.T) { concurrentMembershipOperations(t, pick, tn) })
}

// 50 concurrent adds of 1 leave the counter 50 higher, on an existing user
// and on one they create; each answer is the counter right after its own
// add, so the answers are 50 distinct values. Upserts that fail among
// them (an add to a seeded timestamp) change nothing and take no other
// write down with them.
func concurrentAdds(t *testing.T, pick storePicker, tn userdata.Tenant) {
	const n, bad = 50, 10
	user(t, pick(0), tn, "counter", `{"n":7}`)
	for _, tt := range []struct {
		id      string
		start   float64
		created int
	}{{"counter", 7, 0}, {"fresh", 0, 1}} {
		raw := make([][]byte, n)
		created := make([]bool, n)
		ins := make([]*userdata.UserUpsert, n+bad)
		for i := range ins {
			js := `{"n":{"add":1}}`
			if i >= n {
				js = `{"n":{"add":1},"last_seen_at":{"add":1}}`
			}
			ins[i] = &userdata.UserUpsert{ExternalID: tt.id, Attributes: ops(t, "attributes", js)}
		}
		parallel(t, n+bad, func(i int) error {
			u, c, err := pick(i).UpsertUser(t.Context(), tn, ins[i])
			switch {
			case i >= n && userdata.ErrorCode(err) == userdata.CodeInvalid:
				return nil
			case i >= n:
				return fmt.Errorf("an add to a seeded timestamp: %v (%v), want CodeInvalid", err, u)
			case err == nil:
				raw[i], created[i] = u.Attributes, c
			}
			return err
		})
		answers := make([]float64, n)
		for i, r := range raw {
			answers[i], _ = decode(t, r)["n"].(float64)
		}
		if got := decode(t, getUser(t, pick(1), tn, tt.id, 0).Attributes)["n"]; got != tt.start+n {
			t.Errorf("%s: n = %v after %d concurrent adds from %v, want %v", tt.id, got, n, tt.start, tt.start+n)
		}
		slices.Sort(answers)
		for i, a := range answers {
			if a != tt.start+float64(i+1) {
				t.Errorf("%s: the answers of the adds are %v, want each value from %v to %v once", tt.id, answers, tt.start+1, tt.start+n)
				break
			}
		}
		nCreated := 0
		for _, c := range created {
			if c {
				nCreated++
			}
		}
		if nCreated != tt.created {
			t.Errorf("%s: %d upserts report created, want %d", tt.id, nCreated, tt.created)
		}
	}
}

// 20 concurrent unions of distinct elements leave all 20, each once, after
// the elements stored before; each answer is a prefix of the final list
// (elements are appended in order of arrival, never reordered).
func concurrentUnions(t *testing.T, pick storePicker, tn userdata.Tenant) {
	const n = 20
	user(t, pick(0), tn, "tags", `{"t":["pre"]}`)
	ins := make([]*userdata.UserUpsert, n)
	for i := range ins {
		ins[i] = &userdata.UserUpsert{ExternalID: "tags", Attributes: ops(t, "attributes", fmt.Sprintf(`{"t":{"union":["e%d","pre"]}}`, i))}
	}
	raw := make([][]byte, n)
	parallel(t, n, func(i int) error {
		u, _, err := pick(i).UpsertUser(t.Context(), tn, ins[i])
		if err == nil {
			raw[i] = u.Attributes
		}
		return err
	})
	final := strings.Fields(listText(t, getUser(t, pick(1), tn, "tags", 0).Attributes))
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("e%d", i))
	}
	slices.Sort(want)
	want = append([]string{"pre"}, want...)
	got := slices.Clone(final)
	slices.Sort(got[min(1, len(got)):])
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list after concurrent unions %v (-want +got, sorted after pre):\n%s", final, diff)
	}
	for i, r := range raw {
		a := strings.Fields(listText(t, r))
		if len(a) < 2 || !slices.Equal(a, final[:min(len(a), len(final))]) {
			t.Errorf("answer to union %d is %v, not a prefix of the final %v", i, a, final)
		}
	}
}

// listText returns the string elements of the list attribute t in raw,
// space-separated.
func listText(t *testing.T, raw []byte) string {
	t.Helper()
	list, _ := decode(t, raw)["t"].([]any)
	var b strings.Builder
	for _, e := range list {
		fmt.Fprintf(&b, "%v ", e)
	}
	return b.String()
}

// One company reached through companies[] of 30 different users at once
// gets all 30 adds and unions.
func concurrentCompanyOperations(t *testing.T, pick storePicker, tn userdata.Tenant) {
	const n = 30
	ins := make([]*userdata.UserUpsert, n)
	for i := range ins {
		ins[i] = &userdata.UserUpsert{ExternalID: fmt.Sprintf("member%d", i), Companies: []userdata.CompanyUpsert{{ExternalID: "acme",
			Attributes: ops(t, "companies.0.attributes", fmt.Sprintf(`{"n":{"add":1},"who":{"union":"member%d"}}`, i))}}}
	}
	parallel(t, n, func(i int) error {
		_, _, err := pick(i).UpsertUser(t.Context(), tn, ins[i])
		return err
	})
	c := getCompany(t, pick(1), tn, "acme", userdata.ExpandUsers)
	a := decode(t, c.Attributes)
	who, _ := a["who"].([]any)
	seen := map[any]bool{}
	for _, w := range who {
		seen[w] = true
	}
	if a["n"] != float64(n) || len(who) != n || len(seen) != n || len(c.Users) != n {
		t.Errorf("company after %d concurrent upserts: n %v, who %v, %d members; want n %d, each member once", n, a["n"], who, len(c.Users), n)
	}
}

// Concurrent upserts of one membership compose its attribute operations,
// and those of its company.
func concurrentMembershipOperations(t *testing.T, pick storePicker, tn userdata.Tenant) {
	const n = 20
	ins := make([]*userdata.UserUpsert, n)
	for i := range ins {
		ins[i] = &userdata.UserUpsert{ExternalID: "joiner", Memberships: []userdata.MembershipUpsert{{
			Company:    userdata.CompanyUpsert{ExternalID: "club", Attributes: ops(t, "memberships.0.company.attributes", `{"joins":{"add":1}}`)},
			Attributes: ops(t, "memberships.0.attributes", fmt.Sprintf(`{"n":{"add":1},"who":{"union":"w%d"},"first":{"set_once":%d}}`, i, i))}}}
	}
	parallel(t, n, func(i int) error {
		_, _, err := pick(i).UpsertUser(t.Context(), tn, ins[i])
		return err
	})
	u := getUser(t, pick(1), tn, "joiner", userdata.ExpandMemberships|userdata.ExpandMembershipCompany)
	if len(u.Memberships) != 1 {
		t.Fatalf("memberships %+v, want one", u.Memberships)
	}
	m := decode(t, u.Memberships[0].Attributes)
	who, _ := m["who"].([]any)
	seen := map[any]bool{}
	for _, w := range who {
		seen[w] = true
	}
	first, _ := m["first"].(float64)
	if m["n"] != float64(n) || len(who) != n || len(seen) != n || first < 0 || first >= n || first != float64(int(first)) {
		t.Errorf("membership after %d concurrent upserts: %v; want n %d, each w once, first one of 0..%d", n, m, n, n-1)
	}
	if j := decode(t, u.Memberships[0].Company.Attributes)["joins"]; j != float64(n) {
		t.Errorf("company joins = %v, want %d", j, n)
	}
}
