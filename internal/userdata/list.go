package userdata

import "slices"

// SortField is a column a list can be ordered by.
type SortField string

// The sortable fields.
const (
	SortCreatedAt   SortField = "createdAt"
	SortCodeName    SortField = "codeName"
	SortDisplayName SortField = "displayName"
)

// Sort is one entry of an orderBy list.
type Sort struct {
	Field SortField
	Desc  bool
}

// UniqueSorts drops every entry whose field came before: a repeated field
// cannot change the order, and dropping it keeps queries small whatever
// the request repeats.
func UniqueSorts(sorts []Sort) []Sort {
	out := sorts[:0:0]
	for _, s := range sorts {
		if !slices.ContainsFunc(out, func(o Sort) bool { return o.Field == s.Field }) {
			out = append(out, s)
		}
	}
	return out
}

// DefaultLimit is the page size when the request names none; MaxLimit is
// the largest allowed.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// PageRequest selects a page of a list (§5.3). Sort is applied in order and
// always followed by the internal id ascending.
type PageRequest struct {
	Limit  int
	Cursor string // internal row id; "" for the first page
	Sort   []Sort
}

// PrevKind says what kind of previous link a page has.
type PrevKind int

// The kinds of previous link.
const (
	PrevNone      PrevKind = iota // no previous link
	PrevFirstPage                 // a link to the first page, without a cursor
	PrevCursor                    // a link with List.PrevCursor
)

// List is one page of a list, with what the links need.
type List[T any] struct {
	Items      []T
	NextCursor string // "" when there is no next page
	Prev       PrevKind
	PrevCursor string // for PrevCursor
}

// Trim keeps the first limit items of a page read with limit+1, whose
// items have the ids ids, and sets the next cursor when there were more.
func (l *List[T]) Trim(ids []string, limit int) {
	if len(l.Items) > limit {
		l.Items, l.NextCursor = l.Items[:limit], ids[limit-1]
	}
}

// SetPrevious sets the previous link of a page read after a cursor from
// the ids of the up to limit+1 rows before the page, nearest first (§5.3
// step 4): none, the first page, or a cursor.
func (l *List[T]) SetPrevious(before []string, limit int) {
	switch {
	case len(before) == 0:
		l.Prev = PrevNone
	case len(before) <= limit:
		l.Prev = PrevFirstPage
	default:
		l.Prev, l.PrevCursor = PrevCursor, before[limit]
	}
}

// Expand is a set of expansions asked for on a user or company read.
type Expand uint8

// The expansions.
const (
	ExpandCompanies         Expand = 1 << iota // user: companies
	ExpandMemberships                          // user or company: memberships
	ExpandMembershipCompany                    // user: memberships.company
	ExpandUsers                                // company: users
	ExpandMembershipUser                       // company: memberships.user
)

// Has reports whether e includes every expansion of x.
func (e Expand) Has(x Expand) bool { return e&x == x }

// UserFilter selects a page of users.
type UserFilter struct {
	PageRequest
	Email     string // "" for no filter
	CompanyID string // external company id; "" for no filter
	Expand    Expand
}

// CompanyFilter selects a page of companies.
type CompanyFilter struct {
	PageRequest
	Expand Expand
}

// AttributeDefinitionFilter selects a page of attribute definitions.
type AttributeDefinitionFilter struct {
	PageRequest
	Scope      Scope    // 0 for all scopes
	EventNames []string // keep definitions linked to any of these events
}

// EventDefinitionFilter selects a page of event definitions.
type EventDefinitionFilter struct {
	PageRequest
}
