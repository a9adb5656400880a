package keyset_test

import (
	"testing"

	"tourd/internal/keyset"
	"tourd/internal/userdata"
)

func TestOrder(t *testing.T) {
	o := keyset.NewOrder(userdata.PageRequest{Sort: []userdata.Sort{{Field: userdata.SortDisplayName}, {Field: userdata.SortCreatedAt, Desc: true}}})
	if got, want := o.By(false), "display_name, created_at DESC, id"; got != want {
		t.Errorf("By(false) = %q, want %q", got, want)
	}
	if got, want := o.By(true), "display_name DESC, created_at, id DESC"; got != want {
		t.Errorf("By(true) = %q, want %q", got, want)
	}
	if got, want := keyset.NewOrder(userdata.PageRequest{}).By(false), "id"; got != want {
		t.Errorf("no sorts: By(false) = %q, want %q", got, want)
	}
}

// With IDFollowsSort, the id takes the direction of the last sort (v2);
// without, it ascends whatever the sorts (v1).
func TestOrderIDFollowsSort(t *testing.T) {
	for _, tt := range []struct {
		p    userdata.PageRequest
		want string
	}{
		{userdata.PageRequest{Sort: []userdata.Sort{{Field: userdata.SortCodeName, Desc: true}}}, "code_name DESC, id"},
		{userdata.PageRequest{Sort: []userdata.Sort{{Field: userdata.SortCodeName, Desc: true}}, IDFollowsSort: true}, "code_name DESC, id DESC"},
		{userdata.PageRequest{Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}, {Field: userdata.SortCodeName}}, IDFollowsSort: true}, "created_at DESC, code_name, id"},
		{userdata.PageRequest{IDFollowsSort: true}, "id"},
	} {
		if got := keyset.NewOrder(tt.p).By(false); got != tt.want {
			t.Errorf("NewOrder(%+v).By(false) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
