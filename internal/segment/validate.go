package segment

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"tourd/internal/userdata"
)

// The limits of a condition tree (segments.md §3, a DEVIATION: Usertour
// has none).
const (
	MaxDepth      = 5    // groups nested inside one another
	MaxLeaves     = 100  // attribute conditions in a tree
	MaxValueBytes = 1024 // of value, value2 and each element of values
)

// The messages of the write-time rules that the contract quotes.
const (
	msgEmptyGroup = "A condition group must contain at least one condition — an EMPTY group never matches, " +
		"so next to an AND it would make the whole segment match nobody; add a condition to it or remove it"
	msgUnsupported = `"unsupported" is a read-side placeholder for a stored condition that can no longer be evaluated ` +
		"— it cannot be written back. Remove it from the write (which deletes that stored condition), " +
		"or replace it with a condition on a live attribute"
)

// Validate checks a tree, as Parse returns it, against the live attribute
// definitions of its project (segments.md §3): no empty group and no
// unsupported placeholder; every leaf names a definition of its scope,
// uses an operator of the definition's type (AllowedOps) and carries the
// operands it needs, well formed (a finite number, a whole number of days,
// a date); at most MaxDepth nested groups, MaxLeaves leaves and
// MaxValueBytes per operand. It returns nil or one CodeInvalid error
// naming every problem: "Invalid segment conditions: <path>: <message>;
// …", paths such as conditions[1].conditions[0].
func Validate(conds []Condition, defs Definitions) error {
	var ps problems
	leaves := validateList(conds, "conditions", 0, defs, &ps)
	if leaves > MaxLeaves {
		ps.add("conditions", "a segment may hold at most %d attribute conditions, not %d", MaxLeaves, leaves)
	}
	return ps.err()
}

// validateList checks conds at depth (the number of groups around them)
// and returns how many leaves they hold.
func validateList(conds []Condition, path string, depth int, defs Definitions, ps *problems) int {
	leaves := 0
	for i, c := range conds {
		at := fmt.Sprintf("%s[%d]", path, i)
		switch c.Kind {
		case KindGroup:
			switch {
			case depth+1 > MaxDepth:
				ps.add(at, "groups may be nested at most %d deep", MaxDepth)
				leaves += countLeaves(c.Conditions)
				continue
			case c.Match != MatchAll && c.Match != MatchAny:
				ps.add(at+".match", `must be "all" or "any"`)
			case len(c.Conditions) == 0:
				ps.add(at, "%s", msgEmptyGroup)
			}
			leaves += validateList(c.Conditions, at+".conditions", depth+1, defs, ps)
		case KindAttribute:
			leaves++
			validateLeaf(c, at, defs, ps)
		case KindUnsupported:
			ps.add(at, "%s", msgUnsupported)
		default:
			ps.add(at+".type", `must be "attribute" or "group"`)
		}
	}
	return leaves
}

func countLeaves(conds []Condition) int {
	n := 0
	for _, c := range conds {
		switch c.Kind {
		case KindAttribute:
			n++
		case KindGroup:
			n += countLeaves(c.Conditions)
		}
	}
	return n
}

func validateLeaf(c Condition, path string, defs Definitions, ps *problems) {
	long := false
	for _, f := range []struct {
		name string
		v    *string
	}{{"value", c.Value}, {"value2", c.Value2}} {
		if f.v != nil && len(*f.v) > MaxValueBytes {
			ps.add(path+"."+f.name, "must be at most %d bytes", MaxValueBytes)
			long = true
		}
	}
	for i, v := range c.Values {
		if len(v) > MaxValueBytes {
			ps.add(fmt.Sprintf("%s.values[%d]", path, i), "must be at most %d bytes", MaxValueBytes)
			long = true
		}
	}
	if long {
		return
	}
	if msg, _ := leafProblem(c, defs); msg != "" {
		ps.add(path, "%s", msg)
	}
}

// leafProblem returns why the leaf c cannot be evaluated with defs, or ""
// when it can; deleted reports that its attribute has no definition. At
// write time that is a problem of the request; on read, it makes the leaf
// unevaluable (segments.md §3.3).
func leafProblem(c Condition, defs Definitions) (msg string, deleted bool) {
	t, ok := defs.DataType(c.Scope, c.Attribute)
	if !ok || c.Scope == userdata.ScopeEvent {
		return fmt.Sprintf("references an unknown attribute: the project has no %s attribute %q", c.Scope, c.Attribute), true
	}
	allowed := allowedOps[evalType(t)]
	if len(allowed) == 0 {
		return fmt.Sprintf("the %s attribute %q is of type %s, which segment conditions do not support", c.Scope, c.Attribute, t), false
	}
	if !slices.Contains(allowed, c.Op) {
		return fmt.Sprintf("operator %q is not valid for the %s attribute %q of type %s; use one of: %s",
			c.Op, c.Scope, c.Attribute, t, joinOps(allowed)), false
	}
	if msg := missingValue(c); msg != "" {
		return "missing a required value: " + msg, false
	}
	return badOperand(c, evalType(t)), false
}

func joinOps(ops []Op) string {
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

// missingValue says which operand an operator lacks, or "".
func missingValue(c Condition) string {
	switch c.Op {
	case OpAny, OpEmpty, OpTrue, OpFalse:
		return ""
	case OpIncludesAny, OpIncludesAll, OpNotIncludesAny, OpNotIncludesAll:
		if len(c.Values) == 0 {
			return fmt.Sprintf("%q needs a non-empty values array", c.Op)
		}
		return ""
	case OpBetween:
		if blank(c.Value) || blank(c.Value2) {
			return fmt.Sprintf("%q needs a non-blank value and value2", c.Op)
		}
		return ""
	}
	if blank(c.Value) {
		return fmt.Sprintf("%q needs a non-blank value", c.Op)
	}
	return ""
}

// blank reports whether s is absent or holds only what JavaScript's trim
// removes.
func blank(s *string) bool {
	return s == nil || strings.TrimFunc(*s, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }) == ""
}

// badOperand says which operand of c, of a leaf on an attribute of type t
// with every operand it needs, is malformed, or "".
func badOperand(c Condition, t userdata.DataType) string {
	switch t {
	case userdata.DataTypeNumber:
		if c.Op == OpAny || c.Op == OpEmpty {
			return ""
		}
		if _, ok := parseNumber(*c.Value); !ok {
			return `value must be a finite number, such as "5" or "-2.5"`
		}
		if _, ok := parseNumber(deref(c.Value2)); c.Op == OpBetween && !ok {
			return `value2 must be a finite number, such as "5" or "-2.5"`
		}
	case userdata.DataTypeDatetime:
		switch c.Op {
		case OpLessThan, OpMoreThan, OpExactly:
			if _, ok := parseDays(*c.Value); !ok {
				return fmt.Sprintf(`value must be a whole number of days between %d and %d, such as "7" or "-7"`, -MaxDays, MaxDays)
			}
		case OpBefore, OpOn, OpAfter:
			if _, ok := parseDate(*c.Value); !ok {
				return `value must be a date such as "2024-01-31" (midnight UTC) or a date-time with a time zone ` +
					`such as "2024-01-31T09:30:00Z" or "2024-01-31T10:30:00+01:00"`
			}
		}
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ReadBack returns conds as a segment reads them back (segments.md §3):
// as written, except that a leaf that can no longer be evaluated, because
// its definition was deleted or a retype left an operator or operand that
// does not fit, becomes {"type":"unsupported","note":"…"} saying why. It
// does not change conds.
func ReadBack(conds []Condition, defs Definitions) []Condition {
	out := make([]Condition, len(conds))
	for i, c := range conds {
		switch c.Kind {
		case KindGroup:
			c.Conditions = ReadBack(c.Conditions, defs)
		case KindAttribute:
			msg, deleted := leafProblem(c, defs)
			switch {
			case deleted:
				c = Condition{Kind: KindUnsupported, Note: fmt.Sprintf(
					"references a deleted attribute (%s %q) — this condition is ignored when the segment is evaluated; "+
						"remove it, or recreate the attribute", c.Scope, c.Attribute)}
			case msg != "":
				c = Condition{Kind: KindUnsupported, Note: fmt.Sprintf(
					"no longer fits its attribute (%s %q, op %q): %s — this condition is ignored when the segment is evaluated; "+
						"remove or rewrite it", c.Scope, c.Attribute, c.Op, msg)}
			}
		}
		out[i] = c
	}
	return out
}
