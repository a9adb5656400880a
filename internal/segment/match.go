package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"tourd/internal/userdata"
)

// Entity is what the evaluator reads of one user or company: its stored
// attributes and its memberships.
type Entity struct {
	Attributes  json.RawMessage // a JSON object
	Memberships []Membership
}

// Membership is one membership of an Entity: its own attributes, and those
// of the entity on its other side (the company of a user's membership, the
// user of a company's).
type Membership struct {
	Attributes json.RawMessage
	Other      json.RawMessage
}

// Match reports whether the entity e, a user or a company as biz says
// (ScopeUser or ScopeCompany), is a member of the condition segment whose
// tree is conds, with the project's live definitions defs, at now. It is
// the reference for the compilers: segments.md §3 in code.
//
// Conditions: no conditions match everyone. Top-level conditions are
// ANDed; a group matches all or any of its conditions. A leaf that cannot
// be evaluated (leafProblem: no definition, an operator or an operand that
// does not fit its type) is absent from its list, and a group left empty
// is absent too; when nothing is left, nobody matches (§3.3).
//
// Leaves (§3.1): unset is an absent key (or a JSON null). Positive
// operators never match an unset value, nor one of another JSON type than
// the definition's (wrong-typed); not, not_contains, the list negations
// and empty are their negations, so they match both. any is "set", and not
// "" for strings nor [] for lists; empty is its negation. Strings compare
// by bytes, case-sensitively. Numbers compare as doubles. A list operand
// matches an element that is a JSON string equal to it; not_includes_any
// is the negation of includes_all, not_includes_all of includes_any.
// Datetime values are strings parseInstant reads; they compare as
// instants, exactly (fractions of any length), whatever their offset.
// Calendar days are UTC days; before and after include their bound;
// less_than N is at or after now - N days, more_than N at or before.
//
// Cross-entity leaves (§3.2): a leaf of the biz scope reads e; the others
// read a membership and its other side. e matches when, for some one
// membership, the whole tree holds with that membership, or when the tree
// holds with every leaf of another scope taken as false.
func Match(conds []Condition, defs Definitions, biz userdata.Scope, e Entity, now time.Time) bool {
	return newPlan(conds, defs, biz, now).match(e)
}

// match evaluates the plan for e.
func (p *plan) match(e Entity) bool {
	switch {
	case p.everyone:
		return true
	case p.nobody:
		return false
	}
	v := bound{self: decodeObject(e.Attributes)}
	if !p.cross() {
		return p.all(p.root, &v)
	}
	for _, m := range e.Memberships {
		v.membership, v.other = decodeObject(m.Attributes), decodeObject(m.Other)
		if p.all(p.root, &v) {
			return true
		}
	}
	v = bound{self: v.self, alone: true}
	return p.all(p.root, &v)
}

// bound holds the attributes a tree reads: those of the entity, and of a
// membership and its other side, or none of these when alone (the
// reading where their leaves are false).
type bound struct {
	self, membership, other map[string]json.RawMessage
	alone                   bool
}

func decodeObject(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func (p *plan) all(nodes []node, v *bound) bool {
	for _, n := range nodes {
		if !p.node(n, v) {
			return false
		}
	}
	return true
}

func (p *plan) node(n node, v *bound) bool {
	switch {
	case n.leaf != nil:
		return p.leaf(n.leaf, v)
	case n.any:
		for _, k := range n.kids {
			if p.node(k, v) {
				return true
			}
		}
		return false
	}
	return p.all(n.kids, v)
}

func (p *plan) leaf(l *leaf, v *bound) bool {
	attrs := v.self
	switch {
	case l.scope == p.biz:
	case v.alone:
		return false
	case l.scope == userdata.ScopeMembership:
		attrs = v.membership
	default:
		attrs = v.other
	}
	raw := attrs[l.key]
	if len(raw) == 0 || string(raw) == "null" {
		raw = nil
	}
	return l.holds(raw) != l.neg
}

// holds reports whether the positive predicate of l holds for raw, a JSON
// value or nil when unset.
func (l *leaf) holds(raw json.RawMessage) bool {
	if raw == nil {
		return false
	}
	switch l.pred {
	case predPresent:
		switch l.typ {
		case userdata.DataTypeString:
			return string(raw) != `""`
		case userdata.DataTypeList:
			return !isEmptyArray(raw)
		}
		return true
	case predStrEq, predStrContain, predStrPrefix, predStrSuffix:
		s, ok := stringValue(raw)
		return ok && l.holdsString(s)
	case predNumEq, predNumLt, predNumLte, predNumGt, predNumGte, predNumBetween:
		f, ok := numberValue(raw)
		return ok && l.holdsNumber(f)
	case predTrue:
		return string(raw) == "true"
	case predFalse:
		return string(raw) == "false"
	case predListAny, predListAll:
		return l.holdsList(raw)
	case predTime:
		s, ok := stringValue(raw)
		if !ok {
			return false
		}
		a, ok := parseInstant(s)
		return ok && l.holdsTime(a)
	}
	return false
}

func (l *leaf) holdsString(s string) bool {
	switch l.pred {
	case predStrEq:
		return s == l.s
	case predStrContain:
		return strings.Contains(s, l.s)
	case predStrPrefix:
		return strings.HasPrefix(s, l.s)
	}
	return strings.HasSuffix(s, l.s)
}

func (l *leaf) holdsNumber(f float64) bool {
	switch l.pred {
	case predNumEq:
		return f == l.n1
	case predNumLt:
		return f < l.n1
	case predNumLte:
		return f <= l.n1
	case predNumGt:
		return f > l.n1
	case predNumGte:
		return f >= l.n1
	}
	return f >= l.n1 && f <= l.n2
}

func (l *leaf) holdsList(raw json.RawMessage) bool {
	var elems []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return false
	}
	found := 0
	for _, s := range l.list {
		if slices.ContainsFunc(elems, func(e json.RawMessage) bool {
			es, ok := stringValue(e)
			return ok && es == s
		}) {
			found++
		}
	}
	if l.pred == predListAny {
		return found > 0
	}
	return found == len(l.list)
}

func (l *leaf) holdsTime(a instant) bool {
	if l.lo != nil && a.cmp(*l.lo) < 0 {
		return false
	}
	if l.hi != nil {
		c := a.cmp(*l.hi)
		return c < 0 || c == 0 && !l.hiStrict
	}
	return true
}

// stringValue returns the string raw holds, if it is a JSON string.
func stringValue(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// numberValue returns the number raw holds, if it is a JSON number, as the
// nearest double (an infinity beyond them, as the databases read it).
func numberValue(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

func isEmptyArray(raw json.RawMessage) bool {
	return len(raw) >= 2 && raw[0] == '[' && len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}
