package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"tourd/internal/userdata"
)

// The members of a manual segment page as the users list does: in both
// orders of v2, after a cursor or not, the list's queries walk
// segment_members_list, find each user by its id, and sort nothing, and
// the count reads that index; in v1's newest first (created_at DESC, id
// ASC), which no index of segment_members gives, whether a user is a
// member is one probe of the primary key.
func TestSegmentMemberPlans(t *testing.T) {
	s, tn := openTenant(t)
	ctx := t.Context()
	in := userdata.SegmentInput{Name: "m", BizType: userdata.ScopeUser, Kind: userdata.SegmentManual}
	sg, err := s.CreateSegment(ctx, tn.ProjectID, &in)
	if err != nil {
		t.Fatal(err)
	}
	var cursors []string
	for i := range 3 {
		u, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddSegmentMember(ctx, tn, sg.ID, u.ExternalID); err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, u.ID)
	}
	for _, order := range []struct{ desc, v1 bool }{{false, false}, {true, false}, {true, true}} {
		for _, cursor := range []string{"", cursors[1]} {
			desc := order.desc
			p := userdata.PageRequest{Limit: 1, Cursor: cursor, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: desc}}, IDFollowsSort: !order.v1}
			f := userdata.UserFilter{Audience: userdata.Audience{Segment: sg}}
			o := newOrder(p)
			l, err := s.usersListing(ctx, tn, f, &o)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{querier: s.r}
			if _, err := list(ctx, rec, l, p, entityColumns, scanUser); err != nil {
				t.Fatal(err)
			}
			if l, err = s.usersListing(ctx, tn, f, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := count(ctx, rec, l); err != nil {
				t.Fatal(err)
			}
			for i, q := range rec.queries {
				want := "INDEX segment_members_list (segment_id=? AND environment_id=?"
				switch {
				case strings.HasPrefix(q.query, "SELECT created_at, id FROM users"): // the cursor row, by id
					want = "INDEX sqlite_autoindex_users_1 (id=?)"
				case order.v1 && i < len(rec.queries)-1: // not the count
					want = "INDEX sqlite_autoindex_segment_members_1 (segment_id=? AND entity_id=?)"
				}
				pl := plan(t, s.r, q.query, q.args)
				if !strings.Contains(pl, want) || strings.Contains(pl, "TEMP B-TREE") || !order.v1 && strings.Contains(pl, "SCAN") {
					t.Errorf("%+v, cursor %q:\n%s\nplan:\n%s\nwant a search of %s", order, cursor, q.query, pl, want)
				}
			}
		}
	}
}

// A page after a cursor, in an order of one direction, and its previous
// link read the listing index from the cursor on, whatever the filters: a
// condition segment's, too, whose tree is evaluated only on the rows read.
func TestCursorPlans(t *testing.T) {
	s, tn := openTenant(t)
	ctx := t.Context()
	in := userdata.SegmentInput{Name: "c", BizType: userdata.ScopeUser, Kind: userdata.SegmentCondition,
		Conditions: json.RawMessage(`[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"}]`)}
	sg, err := s.CreateSegment(ctx, tn.ProjectID, &in)
	if err != nil {
		t.Fatal(err)
	}
	var cursor string
	for i := range 3 {
		u, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: fmt.Sprint(i), Attributes: userdata.Attributes{"plan": "pro"}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			cursor = u.ID // pages after it, and before it, in either order
		}
	}
	for _, desc := range []bool{false, true} {
		for _, f := range []userdata.UserFilter{{}, {Audience: userdata.Audience{Segment: sg}}} {
			f.PageRequest = userdata.PageRequest{Limit: 1, Cursor: cursor, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: desc}}, IDFollowsSort: true}
			o := newOrder(f.PageRequest)
			l, err := s.usersListing(ctx, tn, f, &o)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{querier: s.rdb}
			if _, err := list(ctx, rec, l, f.PageRequest, entityColumns, scanUser); err != nil {
				t.Fatal(err)
			}
			if len(rec.queries) != 3 {
				t.Fatalf("%d queries, want the cursor row's, the page's and the previous link's", len(rec.queries))
			}
			for _, q := range rec.queries[1:] {
				if pl := plan(t, s.r, q.query, q.args); !strings.Contains(pl, "INDEX users_list (environment_id=? AND (created_at,id)") || strings.Contains(pl, "TEMP B-TREE") {
					t.Errorf("newest first %t, segment %t:\n%s\nplan:\n%s", desc, f.Segment != nil, q.query, pl)
				}
			}
		}
	}
}
