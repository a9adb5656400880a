package userdata

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The types of changes (webhooks.md §1). An event's type is
// ChangeEventTracked followed by its codeName.
const (
	ChangeUserCreated       = "user.created"
	ChangeUserUpdated       = "user.updated"
	ChangeUserDeleted       = "user.deleted"
	ChangeCompanyCreated    = "company.created"
	ChangeCompanyUpdated    = "company.updated"
	ChangeCompanyDeleted    = "company.deleted"
	ChangeMembershipCreated = "membership.created"
	ChangeMembershipUpdated = "membership.updated"
	ChangeMembershipDeleted = "membership.deleted"
	ChangeEventTracked      = "event.tracked."
)

// ChangeKind is what a change did to its object.
type ChangeKind int

// The kinds of changes.
const (
	ChangeCreated ChangeKind = iota
	ChangeUpdated
	ChangeDeleted
)

// A Change is one committed change of an environment's data, as the change
// log keeps it: what the feed serves and webhooks deliver. It holds the
// object as of the change, never re-read.
type Change struct {
	ID            string // "whmsg_" and 32 hex digits
	Type          string
	EnvironmentID string
	CreatedAt     time.Time
	// The object changed: one of these, as the type says. A membership's
	// UserID and CompanyID are internal ids, as everywhere; an event's are
	// external.
	User       *User
	Company    *Company
	Membership *Membership
	Event      *Event
	// Previous, of an updated change, is a JSON object of the value before
	// the change of each key that the change set to another value or
	// removed (PreviousAttributes); nil for other changes.
	Previous json.RawMessage
}

// SetObject sets the object of c, of the kind its Type says, from what a
// change log keeps of it: its id (a user's or company's external id, a
// membership's or an event's id), creation time and attributes; a
// membership's (internal) user and company ids, or an event's (external)
// ones and its definition's id.
func (c *Change) SetObject(id string, createdAt time.Time, attrs json.RawMessage, userID, companyID, definitionID string) {
	switch {
	case strings.HasPrefix(c.Type, "user."):
		c.User = &User{ExternalID: id, Attributes: attrs, CreatedAt: createdAt}
	case strings.HasPrefix(c.Type, "company."):
		c.Company = &Company{ExternalID: id, Attributes: attrs, CreatedAt: createdAt}
	case strings.HasPrefix(c.Type, "membership."):
		c.Membership = &Membership{ID: id, UserID: userID, CompanyID: companyID, Attributes: attrs, CreatedAt: createdAt}
	default:
		c.Event = &Event{ID: id, Name: strings.TrimPrefix(c.Type, ChangeEventTracked), UserID: userID, CompanyID: companyID,
			DefinitionID: definitionID, Attributes: attrs, CreatedAt: createdAt}
	}
}

// NewChangeID returns a new change id: "whmsg_" and 32 random hex digits.
func NewChangeID() string {
	var b [16]byte
	rand.Read(b[:])
	return "whmsg_" + hex.EncodeToString(b[:])
}

// PreviousAttributes returns the attributes of before that after does not
// hold with the same value (changed or removed), as one JSON object in key
// order: the previousAttributes of an updated change. Keys that after adds
// are not in it. Both must be JSON objects.
func PreviousAttributes(before, after json.RawMessage) (json.RawMessage, error) {
	old, err := splitObject(before)
	if err != nil {
		return nil, err
	}
	now, err := splitObject(after)
	if err != nil {
		return nil, err
	}
	find := fieldFinder(now)
	prev := old[:0:0]
	for _, f := range old {
		if i := find(f.key); i < 0 || !bytes.Equal(now[i].value, f.value) {
			prev = append(prev, f)
		}
	}
	return appendObject(make([]byte, 0, len(before)), prev), nil
}

// CursorNow is the feed's cursor for the end of the log: the changes after
// it are those committed later.
const CursorNow = "now"

// PageViewed is the type of page_viewed events, which only an exact type
// selects (webhooks.md §2).
const PageViewed = ChangeEventTracked + "page_viewed"

// A TypeFilter selects changes by type: those of Exact, and those whose
// type begins with one of Prefixes, but for PageViewed. The zero filter
// selects nothing; AllChanges selects every change but PageViewed.
type TypeFilter struct {
	Exact    []string
	Prefixes []string
}

// AllChanges is the filter of "*".
var AllChanges = TypeFilter{Prefixes: []string{""}}

// Match reports whether f selects changes of type t.
func (f TypeFilter) Match(t string) bool {
	if slices.Contains(f.Exact, t) {
		return true
	}
	return t != PageViewed && slices.ContainsFunc(f.Prefixes, func(p string) bool { return strings.HasPrefix(t, p) })
}

// ChangeQuery asks for a page of an environment's change log.
type ChangeQuery struct {
	// After is a position from an earlier page's Next: the page holds the
	// changes committed after it; "" reads from the oldest change kept,
	// CursorNow from the latest.
	After string
	Limit int
	Types TypeFilter
}

// ChangePage is a page of the change log.
type ChangePage struct {
	Changes []*Change // oldest first, never nil
	// Next is the position after the last change read, or the query's
	// (the latest, for CursorNow) when there was none.
	Next string
}

// A Signal wakes those waiting for something that happens again and again,
// such as a commit that recorded changes. The zero Signal is ready to use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// C returns a channel that is closed at the next Notify.
func (s *Signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Notify wakes every waiter on a channel C returned.
func (s *Signal) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// The families of change types (webhooks.md §2): a type's family is what
// precedes its last dot, event.tracked for every event. content is a
// family of Usertour's that tourd accepts and never records.
var changeFamilies = []string{"user", "company", "membership", "event.tracked"}

// ChangeTypes are the types of the families but event.tracked, in the
// order of webhooks.md §1.
var ChangeTypes = []string{
	ChangeUserCreated, ChangeUserUpdated, ChangeUserDeleted,
	ChangeCompanyCreated, ChangeCompanyUpdated, ChangeCompanyDeleted,
	ChangeMembershipCreated, ChangeMembershipUpdated, ChangeMembershipDeleted,
}

// MaxTopics and MaxTopicLength (in characters) bound a list of topics
// (Usertour's CreateWebhookBodyDto).
const (
	MaxTopics      = 100
	MaxTopicLength = 200
)

// ParseTopics returns the filter of a list of topics (webhooks.md §2),
// the field named field: "*" (every type but PageViewed), a family (its
// types, those added to it later too, but PageViewed), a type, or
// event.tracked.<codeName> (that type alone); "content" and
// "content.published" are accepted and select nothing. It returns a
// CodeInvalid error, with Usertour's messages, for a list of no topics or
// more than MaxTopics, or a topic that is empty, longer than
// MaxTopicLength or none of those.
func ParseTopics(field string, topics []string) (TypeFilter, error) {
	var f TypeFilter
	switch {
	case len(topics) == 0:
		return f, Errorf(CodeInvalid, "At least one topic subscription is required.")
	case len(topics) > MaxTopics:
		return f, Errorf(CodeInvalid, "At most %d topic subscriptions per endpoint.", MaxTopics)
	}
	for i, t := range topics {
		switch n := utf8.RuneCountInString(t); {
		case n == 0 || n > MaxTopicLength:
			return f, Errorf(CodeInvalid, "%s[%d] must be 1 to %d characters long", field, i, MaxTopicLength)
		case t == "*":
			f.Prefixes = append(f.Prefixes, "")
		case slices.Contains(changeFamilies, t):
			f.Prefixes = append(f.Prefixes, t+".")
		case slices.Contains(ChangeTypes, t) || strings.HasPrefix(t, ChangeEventTracked) && n > len(ChangeEventTracked):
			f.Exact = append(f.Exact, t)
		case t == "content" || t == "content.published":
		default:
			return f, Errorf(CodeInvalid, `Invalid topic subscription %q — expected "*", a family name ("user", "company", "membership", "event.tracked", "content"), `+
				`"event.tracked.<codeName>", or an exact topic such as %q / %q.`, t, ChangeUserUpdated, ChangeMembershipDeleted)
		}
	}
	slices.Sort(f.Exact)
	slices.Sort(f.Prefixes)
	f.Exact, f.Prefixes = slices.Compact(f.Exact), slices.Compact(f.Prefixes)
	return f, nil
}

// Families returns the families whose types f may select, in the order
// of changeFamilies.
func (f TypeFilter) Families() []string {
	var out []string
	for _, fam := range changeFamilies {
		if slices.ContainsFunc(f.Exact, func(t string) bool { return ChangeFamily(t) == fam }) ||
			slices.ContainsFunc(f.Prefixes, func(p string) bool { return p == "" || p == fam+"." }) {
			out = append(out, fam)
		}
	}
	return out
}

// FamiliesFilter returns the filter of the families fams, as topics.
func FamiliesFilter(fams []string) TypeFilter {
	var f TypeFilter
	for _, fam := range fams {
		f.Prefixes = append(f.Prefixes, fam+".")
	}
	return f
}

// ChangeFamily returns the family of the change type t.
func ChangeFamily(t string) string {
	if strings.HasPrefix(t, ChangeEventTracked) {
		return "event.tracked"
	}
	fam, _, _ := strings.Cut(t, ".")
	return fam
}
