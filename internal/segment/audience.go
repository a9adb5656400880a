package segment

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"tourd/internal/userdata"
)

// TypesFunc looks up the data types of a project's attribute definitions
// of one scope, as userdata.Store.AttributeTypes does: the keys without a
// definition are absent from its answer.
type TypesFunc func(ctx context.Context, projectID string, scope userdata.Scope, keys []string) (map[string]userdata.DataType, error)

// conditionScopes are the scopes a condition may name.
var conditionScopes = []userdata.Scope{userdata.ScopeUser, userdata.ScopeCompany, userdata.ScopeMembership}

// LookUp returns the live definitions, in the project, of the attributes
// that the trees name, with at most one call of types per scope: what
// Validate, ReadBack, Match and Compile need of them.
func LookUp(ctx context.Context, types TypesFunc, projectID string, trees ...[]Condition) (DefinitionMap, error) {
	keys := map[userdata.Scope][]string{}
	for _, conds := range trees {
		attributes(conds, keys)
	}
	defs := DefinitionMap{}
	for _, scope := range conditionScopes {
		names := keys[scope]
		if len(names) == 0 {
			continue
		}
		slices.Sort(names)
		found, err := types(ctx, projectID, scope, slices.Compact(names))
		if err != nil {
			return nil, err
		}
		for name, t := range found {
			defs[DefinitionKey{scope, name}] = t
		}
	}
	return defs, nil
}

// attributes adds the codeNames of the leaves of conds to keys, by scope.
func attributes(conds []Condition, keys map[userdata.Scope][]string) {
	for _, c := range conds {
		switch c.Kind {
		case KindAttribute:
			if slices.Contains(conditionScopes, c.Scope) {
				keys[c.Scope] = append(keys[c.Scope], c.Attribute)
			}
		case KindGroup:
			attributes(c.Conditions, keys)
		}
	}
}

// Stored returns the tree of a condition segment from its stored form, the
// output of Encode for a tree that Validate accepted. Conditions that do
// not parse, as a segment stored before conditions were checked may hold,
// are one unsupported condition: it reads back saying so, and matches
// nobody.
func Stored(raw json.RawMessage) []Condition {
	conds, err := Parse(raw)
	if err != nil {
		return []Condition{{Kind: KindUnsupported, Note: "stored conditions that cannot be read as segment conditions — " +
			"the segment matches nobody; write its conditions again"}}
	}
	return conds
}

// Where returns the WHERE fragment, as Compile returns it for dialect d,
// that keeps the rows of the table of t that the condition trees of a
// match at now: those of its segment if it is a condition segment, and
// its ad-hoc conditions, ANDed, with the project's definitions that types
// gives. It returns "" when a has no tree, and a CodeInvalid error when
// its ad-hoc conditions do not parse. Parameters are numbered from
// t.ArgStart, as Compile numbers them.
func Where(ctx context.Context, d Dialect, types TypesFunc, projectID string, a *userdata.Audience, t Target, now time.Time) (string, []any, error) {
	var trees [][]Condition
	if a.Segment != nil && a.Segment.Kind == userdata.SegmentCondition {
		trees = append(trees, Stored(a.Segment.Conditions))
	}
	if a.Conditions != nil {
		conds, err := Parse(a.Conditions)
		if err != nil {
			return "", nil, err
		}
		trees = append(trees, conds)
	}
	if len(trees) == 0 {
		return "", nil, nil
	}
	defs, err := LookUp(ctx, types, projectID, trees...)
	if err != nil {
		return "", nil, err
	}
	var parts []string
	var args []any
	start := t.ArgStart
	for _, conds := range trees {
		t.ArgStart = start + len(args)
		where, more := Compile(d, conds, defs, t, now)
		parts, args = append(parts, "("+where+")"), append(args, more...)
	}
	return strings.Join(parts, " AND "), args, nil
}
