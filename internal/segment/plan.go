package segment

import (
	"slices"
	"time"

	"tourd/internal/userdata"
)

// A plan is a tree made ready to evaluate, the same for the evaluator and
// both compilers: unevaluable leaves dropped (segments.md §3.3), operands
// parsed, every operator turned into a positive predicate, perhaps negated,
// and relative dates into instants from one now.
type plan struct {
	biz      userdata.Scope
	everyone bool   // no conditions: everyone matches
	nobody   bool   // conditions, none of them evaluable: nobody matches
	root     []node // ANDed
	// membership and other report leaves of the membership scope and of
	// the other entity's (company for a user segment, user for a company
	// segment).
	membership, other bool
}

// cross reports whether the plan reads memberships (segments.md §3.2).
func (p *plan) cross() bool { return p.membership || p.other }

// A node is a leaf or a group.
type node struct {
	leaf *leaf
	any  bool // a group matching any of kids, else all
	kids []node
}

// pred is the positive predicate of a leaf.
type pred int

const (
	predPresent    pred = iota // set; for strings not "", for lists not []
	predStrEq                  // a string equal to s
	predStrContain             // a string holding s
	predStrPrefix              // a string beginning with s
	predStrSuffix              // a string ending with s
	predNumEq                  // a number equal to n1
	predNumLt                  // a number < n1
	predNumLte                 // a number <= n1
	predNumGt                  // a number > n1
	predNumGte                 // a number >= n1
	predNumBetween             // a number in [n1, n2]
	predTrue                   // true
	predFalse                  // false
	predListAny                // a list with a string element in list
	predListAll                // a list with every string of list as an element
	predTime                   // a datetime in [lo, hi] or [lo, hi), lo and hi optional
)

// A leaf is an evaluable attribute condition.
type leaf struct {
	scope    userdata.Scope
	key      string
	typ      userdata.DataType // as evaluated: never the object type
	pred     pred
	neg      bool // the condition is the negation of pred
	s        string
	n1, n2   float64
	list     []string // sorted, without repeats
	lo, hi   *instant
	hiStrict bool
}

// newPlan makes the plan of conds, a tree of a segment of bizType biz
// (ScopeUser or ScopeCompany), with defs and now.
func newPlan(conds []Condition, defs Definitions, biz userdata.Scope, now time.Time) *plan {
	if biz != userdata.ScopeUser && biz != userdata.ScopeCompany {
		panic("segment: the bizType of a segment is ScopeUser or ScopeCompany, not " + biz.String())
	}
	p := &plan{biz: biz}
	if len(conds) == 0 {
		p.everyone = true
		return p
	}
	p.root = p.nodes(conds, defs, instantOf(now))
	p.nobody = len(p.root) == 0
	return p
}

// nodes returns the evaluable conditions of conds: a group none of whose
// conditions is evaluable is not.
func (p *plan) nodes(conds []Condition, defs Definitions, now instant) []node {
	var out []node
	for _, c := range conds {
		switch c.Kind {
		case KindGroup:
			if kids := p.nodes(c.Conditions, defs, now); len(kids) > 0 {
				out = append(out, node{any: c.Match == MatchAny, kids: kids})
			}
		case KindAttribute:
			if msg, _ := leafProblem(c, defs); msg != "" {
				continue
			}
			t, _ := defs.DataType(c.Scope, c.Attribute)
			l := newLeaf(c, evalType(t), now)
			switch l.scope {
			case p.biz:
			case userdata.ScopeMembership:
				p.membership = true
			default:
				p.other = true
			}
			out = append(out, node{leaf: l})
		}
	}
	return out
}

// newLeaf makes the leaf of c, which leafProblem accepts for type t.
func newLeaf(c Condition, t userdata.DataType, now instant) *leaf {
	l := &leaf{scope: c.Scope, key: c.Attribute, typ: t}
	switch c.Op {
	case OpAny:
		l.pred = predPresent
	case OpEmpty:
		l.pred, l.neg = predPresent, true
	case OpTrue:
		l.pred = predTrue
	case OpFalse:
		l.pred = predFalse
	case OpIncludesAny, OpNotIncludesAll:
		l.pred, l.neg, l.list = predListAny, c.Op == OpNotIncludesAll, distinct(c.Values)
	case OpIncludesAll, OpNotIncludesAny:
		l.pred, l.neg, l.list = predListAll, c.Op == OpNotIncludesAny, distinct(c.Values)
	default:
		switch t {
		case userdata.DataTypeString:
			l.stringLeaf(c)
		case userdata.DataTypeNumber:
			l.numberLeaf(c)
		case userdata.DataTypeDatetime:
			l.timeLeaf(c, now)
		}
	}
	return l
}

func distinct(values []string) []string {
	out := slices.Clone(values)
	slices.Sort(out)
	return slices.Compact(out)
}

func (l *leaf) stringLeaf(c Condition) {
	l.s = *c.Value
	switch c.Op {
	case OpIs, OpNot:
		l.pred, l.neg = predStrEq, c.Op == OpNot
	case OpContains, OpNotContains:
		l.pred, l.neg = predStrContain, c.Op == OpNotContains
	case OpStartsWith:
		l.pred = predStrPrefix
	case OpEndsWith:
		l.pred = predStrSuffix
	}
}

func (l *leaf) numberLeaf(c Condition) {
	l.n1, _ = parseNumber(*c.Value)
	switch c.Op {
	case OpIs, OpNot:
		l.pred, l.neg = predNumEq, c.Op == OpNot
	case OpLt:
		l.pred = predNumLt
	case OpLte:
		l.pred = predNumLte
	case OpGt:
		l.pred = predNumGt
	case OpGte:
		l.pred = predNumGte
	case OpBetween:
		l.pred = predNumBetween
		l.n2, _ = parseNumber(*c.Value2)
	}
}

// timeLeaf makes the range of a datetime condition: before and after are
// inclusive (as Usertour's lte and gte), on and exactly take a UTC
// calendar day, less_than and more_than are one-sided bounds at now - N
// days.
func (l *leaf) timeLeaf(c Condition, now instant) {
	l.pred = predTime
	switch c.Op {
	case OpBefore:
		d, _ := parseDate(*c.Value)
		l.hi = &d
	case OpAfter:
		d, _ := parseDate(*c.Value)
		l.lo = &d
	case OpOn:
		d, _ := parseDate(*c.Value)
		l.dayOf(d)
	case OpLessThan, OpMoreThan, OpExactly:
		n, _ := parseDays(*c.Value)
		b := now.addDays(-n)
		switch c.Op {
		case OpLessThan:
			l.lo = &b
		case OpMoreThan:
			l.hi = &b
		default:
			l.dayOf(b)
		}
	}
}

// dayOf makes the range of l the UTC calendar day of a.
func (l *leaf) dayOf(a instant) {
	lo := a.day()
	hi := lo.addDays(1)
	l.lo, l.hi, l.hiStrict = &lo, &hi, true
}
