package userdata

import (
	"encoding/json"
	"slices"
	"time"
)

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
// always followed by the internal id, which makes the order total:
// ascending on v1 (§5.3), in the direction of the last sort with
// IDFollowsSort (v2.md §6).
type PageRequest struct {
	Limit         int
	Cursor        string // internal row id; "" for the first page
	Sort          []Sort
	IDFollowsSort bool
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
	// RequireCompany makes a CompanyID that names no company of the
	// environment a CodeNotFound error for ResourceCompany (v2) instead of
	// an empty list (v1).
	RequireCompany bool
	// CreatedAfter and CreatedBefore keep the users created at or after,
	// and at or before, the given instants (see ParseCreatedBound); nil
	// for no bound.
	CreatedAfter, CreatedBefore *time.Time
	Audience
	Expand Expand
}

// CompanyFilter selects a page of companies.
type CompanyFilter struct {
	PageRequest
	// CreatedAfter and CreatedBefore bound the companies' creation times
	// as UserFilter's bound the users'.
	CreatedAfter, CreatedBefore *time.Time
	Audience
	Expand Expand
}

// Audience is what a list of users (companies) keeps of segments
// (segments.md §4, §6): the rows of a segment, and those that ad-hoc
// conditions match. Its filters AND with each other and with the list's
// others.
type Audience struct {
	// Segment keeps the rows of the environment that the segment selects:
	// every row for a segment of kind all, its members in the environment
	// for a manual segment, the rows its conditions match for a condition
	// segment; nil for no filter. The caller finds it in the tenant's
	// project; it must be of the list's bizType (Check).
	Segment *Segment
	// Conditions keep the rows that a tree of segment conditions matches,
	// as a condition segment's would: a JSON array that the caller has
	// parsed and validated; nil for no filter.
	Conditions json.RawMessage
	// Now is the instant relative datetime conditions count days from:
	// the zero time for the store's clock, read once per list.
	Now time.Time
}

// Check returns a CodeInvalid error when the audience's segment is not of
// bizType biz (ScopeUser for a list of users, ScopeCompany for
// companies).
func (a *Audience) Check(biz Scope) error {
	if a.Segment != nil && a.Segment.BizType != biz {
		return Errorf(CodeInvalid, "segment %s is a %s segment, not a %s segment", a.Segment.ID, a.Segment.BizType, biz)
	}
	return nil
}

// ParseCreatedBound parses the value of a v2 createdAfter (before false)
// or createdBefore (before true) query parameter (v2.md §6) into the bound
// of a CreatedRange: a date, YYYY-MM-DD, stands for its first instant in
// UTC, or for its last with before, so that a createdBefore date includes
// the whole day; a date-time must be RFC 3339 with Z or an offset. Bounds
// are rounded inwards to the microsecond the stores keep. A date-time
// without a time zone, or anything else, is a CodeInvalid error.
func ParseCreatedBound(value string, before bool) (time.Time, error) {
	name := "createdAfter"
	if before {
		name = "createdBefore"
	}
	if day, err := time.Parse(time.DateOnly, value); err == nil {
		if before {
			return day.AddDate(0, 0, 1).Add(-time.Microsecond), nil
		}
		return day, nil
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		if _, local := time.Parse("2006-01-02T15:04:05.999999999", value); local == nil {
			return time.Time{}, Errorf(CodeInvalid, "%s must give a time zone (Z or an offset such as +02:00): %q", name, value)
		}
		return time.Time{}, Errorf(CodeInvalid, "%s must be a date (YYYY-MM-DD) or a date-time with a time zone (such as 2024-01-31T09:00:00Z): %q", name, value)
	}
	t = t.UTC()
	floor := t.Truncate(time.Microsecond)
	if !before && floor.Before(t) {
		return floor.Add(time.Microsecond), nil
	}
	return floor, nil
}

// EnvironmentFilter selects a page of a project's live environments.
type EnvironmentFilter struct {
	PageRequest
	// Name keeps the environments whose name contains it, ignoring the
	// case of ASCII letters (others match exactly, on both backends); ""
	// for no filter.
	Name string
}

// AttributeDefinitionFilter selects a page of attribute definitions.
type AttributeDefinitionFilter struct {
	PageRequest
	Scope      Scope    // 0 for all scopes
	EventNames []string // keep definitions linked to any of these events
	// Name keeps the definitions whose codeName or displayName contains it,
	// ignoring the case of ASCII letters (A-Z match a-z; other characters
	// match only themselves, as SQLite's lower() and PostgreSQL's under the
	// C collation fold case); "" for no filter (v2.md §6).
	Name string
}

// EventDefinitionFilter selects a page of event definitions.
type EventDefinitionFilter struct {
	PageRequest
	Name string // as AttributeDefinitionFilter.Name
}
