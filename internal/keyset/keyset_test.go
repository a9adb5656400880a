package keyset_test

import (
	"testing"

	"tourd/internal/keyset"
	"tourd/internal/userdata"
)

func TestOrder(t *testing.T) {
	o := keyset.NewOrder([]userdata.Sort{{Field: userdata.SortDisplayName}, {Field: userdata.SortCreatedAt, Desc: true}})
	if got, want := o.By(false), "display_name, created_at DESC, id"; got != want {
		t.Errorf("By(false) = %q, want %q", got, want)
	}
	if got, want := o.By(true), "display_name DESC, created_at, id DESC"; got != want {
		t.Errorf("By(true) = %q, want %q", got, want)
	}
	if got, want := keyset.NewOrder(nil).By(false), "id"; got != want {
		t.Errorf("no sorts: By(false) = %q, want %q", got, want)
	}
}
