package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"tourd/internal/userdata"
)

// An import that takes a table past statMinRows rows gets it analyzed:
// then a condition's count over an environment holding all of the table
// scans the table rather than reading it through the listing index, and
// the first page of the same condition still walks the listing index in
// order.
func TestImportAnalyzes(t *testing.T) {
	s, tn := openTenant(t)
	ctx := t.Context()
	ins := make([]*userdata.UserUpsert, statMinRows)
	for i := range ins {
		ins[i] = &userdata.UserUpsert{ExternalID: fmt.Sprint(i), Attributes: userdata.Attributes{"n": float64(i % 10)}}
	}
	for _, r := range s.ImportUsers(ctx, tn, ins) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	var rows int64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := s.rdb.QueryRowContext(ctx, "SELECT CAST(substr(stat, 1, instr(stat, ' ') - 1) AS INTEGER) FROM sqlite_stat1 WHERE tbl = 'users' LIMIT 1").Scan(&rows)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if rows != statMinRows {
		t.Fatalf("sqlite_stat1 gives users %d rows, want %d", rows, statMinRows)
	}
	f := userdata.UserFilter{Audience: userdata.Audience{Conditions: json.RawMessage(`[{"type":"attribute","scope":"user","attribute":"n","op":"is","value":"3"}]`)}}
	l, err := s.usersListing(ctx, tn, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{querier: s.r}
	if n, err := count(ctx, rec, l); err != nil || n != statMinRows/10 {
		t.Fatalf("count = %d, %v; want %d", n, err, statMinRows/10)
	}
	if got := plan(t, s.rdb, rec.queries[0].query, rec.queries[0].args); got != "SCAN users" {
		t.Errorf("the count's plan is\n%s\nwant SCAN users", got)
	}
	pr := userdata.PageRequest{Limit: 20, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt}}, IDFollowsSort: true}
	o := newOrder(pr)
	if l, err = s.usersListing(ctx, tn, f, &o); err != nil {
		t.Fatal(err)
	}
	rec = &recorder{querier: s.r}
	if _, err := list(ctx, rec, l, pr, entityColumns, scanUser); err != nil {
		t.Fatal(err)
	}
	if got := plan(t, s.rdb, rec.queries[0].query, rec.queries[0].args); !strings.HasPrefix(got, "SEARCH users USING INDEX users_list ") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("the page's plan is\n%s\nwant a walk of users_list", got)
	}
}
