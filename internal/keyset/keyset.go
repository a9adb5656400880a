// Package keyset holds what the SQL backends share of keyset pagination
// (§5): a listing's sort order as columns, and its ORDER BY list. Each
// backend writes its own cursor conditions in its own dialect.
package keyset

import (
	"strings"

	"tourd/internal/userdata"
)

// columns are the columns of the sortable fields, the same in every table
// and backend.
var columns = map[userdata.SortField]string{
	userdata.SortCreatedAt:   "created_at",
	userdata.SortCodeName:    "code_name",
	userdata.SortDisplayName: "display_name",
}

// Order is a sort order made of columns, always ending in id, so that it
// is total.
type Order struct {
	Cols []string
	Desc []bool
}

// NewOrder returns the order of a page request's sorts, then id: ascending,
// or in the direction of the last sort with IDFollowsSort.
func NewOrder(p userdata.PageRequest) Order {
	var o Order
	for _, s := range p.Sort {
		o.Cols = append(o.Cols, columns[s.Field])
		o.Desc = append(o.Desc, s.Desc)
	}
	idDesc := p.IDFollowsSort && len(p.Sort) > 0 && p.Sort[len(p.Sort)-1].Desc
	o.Cols = append(o.Cols, "id")
	o.Desc = append(o.Desc, idDesc)
	return o
}

// By renders the ORDER BY list, reversed for reading backwards.
func (o Order) By(reverse bool) string {
	parts := make([]string, len(o.Cols))
	for i, c := range o.Cols {
		if o.Desc[i] != reverse {
			c += " DESC"
		}
		parts[i] = c
	}
	return strings.Join(parts, ", ")
}

// Uniform reports whether every column goes the same way: then an index on
// them, read forwards or backwards, gives the order.
func (o Order) Uniform() bool {
	for _, d := range o.Desc {
		if d != o.Desc[0] {
			return false
		}
	}
	return true
}
