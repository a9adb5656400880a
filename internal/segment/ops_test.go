package segment_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// opNow is the now of the operator tables.
var opNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// An opTable pins the operators of one data type (segments.md §3.1): one
// user per value, "unset" without the attribute, and the users each
// condition on the attribute selects.
type opTable struct {
	typ    userdata.DataType
	values map[string]any
	cases  []opCase
}

type opCase struct {
	cond string // the members of the leaf after its type, scope and attribute
	want []string
}

var opTables = []opTable{{
	typ: userdata.DataTypeString,
	values: map[string]any{"empty": "", "pro": "pro", "Pro": "Pro", "proplan": "pro plan", "uni": "日本語", "num": 5.0,
		"list": []any{"pro"}, "bool": true, "obj": map[string]any{"pro": "pro"}},
	cases: []opCase{
		{`"op":"is","value":"pro"`, []string{"pro"}},
		{`"op":"not","value":"pro"`, []string{"unset", "empty", "Pro", "proplan", "uni", "num", "list", "bool", "obj"}},
		{`"op":"contains","value":"pro"`, []string{"pro", "proplan"}},
		{`"op":"contains","value":"本"`, []string{"uni"}},
		{`"op":"not_contains","value":"pro"`, []string{"unset", "empty", "Pro", "uni", "num", "list", "bool", "obj"}},
		{`"op":"starts_with","value":"pro"`, []string{"pro", "proplan"}},
		{`"op":"starts_with","value":"日本"`, []string{"uni"}},
		{`"op":"ends_with","value":"plan"`, []string{"proplan"}},
		{`"op":"ends_with","value":"語"`, []string{"uni"}},
		{`"op":"ends_with","value":"o"`, []string{"pro", "Pro"}},
		{`"op":"is","value":"5"`, nil}, // a number is not a string
		{`"op":"any"`, []string{"pro", "Pro", "proplan", "uni", "num", "list", "bool", "obj"}},
		{`"op":"empty"`, []string{"unset", "empty"}},
	},
}, {
	typ: userdata.DataTypeNumber,
	values: map[string]any{"zero": 0.0, "negzero": math.Copysign(0, -1), "five": 5.0, "fivehalf": 5.5, "neg": -1.0,
		"big": 1e21, "sum": sum(0.1, 0.2), "str": "5", "empty": "", "bool": true, "list": []any{5.0}},
	cases: []opCase{
		{`"op":"is","value":"5"`, []string{"five"}},
		{`"op":"is","value":"5.0"`, []string{"five"}},
		{`"op":"is","value":"-0"`, []string{"zero", "negzero"}},
		{`"op":"is","value":"1E21"`, []string{"big"}},
		{`"op":"is","value":"0.3"`, nil},
		{`"op":"is","value":"0.30000000000000004"`, []string{"sum"}},
		{`"op":"not","value":"5"`, []string{"unset", "zero", "negzero", "fivehalf", "neg", "big", "sum", "str", "empty", "bool", "list"}},
		{`"op":"lt","value":"5"`, []string{"zero", "negzero", "neg", "sum"}},
		{`"op":"lte","value":"5"`, []string{"zero", "negzero", "five", "neg", "sum"}},
		{`"op":"gt","value":"5"`, []string{"fivehalf", "big"}},
		{`"op":"gte","value":"5"`, []string{"five", "fivehalf", "big"}},
		{`"op":"between","value":"0","value2":"5"`, []string{"zero", "negzero", "five", "sum"}},
		{`"op":"between","value":"5","value2":"0"`, nil},
		{`"op":"any"`, []string{"zero", "negzero", "five", "fivehalf", "neg", "big", "sum", "str", "empty", "bool", "list"}},
		{`"op":"empty"`, []string{"unset"}},
	},
}, {
	typ:    userdata.DataTypeBoolean,
	values: map[string]any{"t": true, "f": false, "str": "true", "num": 1.0, "empty": ""},
	cases: []opCase{
		{`"op":"true"`, []string{"t"}},
		{`"op":"false"`, []string{"f"}},
		{`"op":"any"`, []string{"t", "f", "str", "num", "empty"}},
		{`"op":"empty"`, []string{"unset"}},
	},
}, {
	typ: userdata.DataTypeList,
	values: map[string]any{"empty": []any{}, "ab": []any{"a", "b"}, "a": []any{"a"}, "mixed": []any{"a", 1.0, true, nil},
		"nested": []any{[]any{"a"}}, "num": []any{1.0}, "str": "a", "emptystr": "", "obj": map[string]any{"a": "a"}},
	cases: []opCase{
		{`"op":"includes_any","values":["a"]`, []string{"ab", "a", "mixed"}},
		{`"op":"includes_any","values":["b","c"]`, []string{"ab"}},
		{`"op":"includes_any","values":["1"]`, nil}, // the number 1 is not "1"
		{`"op":"includes_all","values":["a","b"]`, []string{"ab"}},
		{`"op":"includes_all","values":["a","a"]`, []string{"ab", "a", "mixed"}},
		// not_includes_any is "not every one": the negation of includes_all.
		{`"op":"not_includes_any","values":["a","b"]`, []string{"unset", "empty", "a", "mixed", "nested", "num", "str", "emptystr", "obj"}},
		// not_includes_all is "none": the negation of includes_any.
		{`"op":"not_includes_all","values":["a","b"]`, []string{"unset", "empty", "nested", "num", "str", "emptystr", "obj"}},
		{`"op":"any"`, []string{"ab", "a", "mixed", "nested", "num", "str", "emptystr", "obj"}},
		{`"op":"empty"`, []string{"unset", "empty"}},
	},
}, {
	typ: userdata.DataTypeDatetime,
	values: map[string]any{
		"d14":      "2026-03-14T12:00:00.000Z",
		"d14frac":  "2026-03-14T12:00:00.0000001Z", // after d14 by 100 ns
		"d14zeros": "2026-03-14T12:00:00.000000000000Z",
		"d15":      "2026-03-15T00:00:00.000Z",
		"d15end":   "2026-03-15T23:59:59.999Z",
		"d16":      "2026-03-16T00:00:00Z",
		"offset":   "2026-03-15T01:00:00+02:00", // 2026-03-14T23:00:00Z
		"future":   "2027-01-01T00:00:00.000Z",
		"feb30":    "2026-02-30T00:00:00Z",
		"h24":      "2026-03-14T24:00:00.000Z", // in the stored form's shape, but no time
		"nozone":   "2026-03-15T00:00:00",
		"date":     "2026-03-15",
		"str":      "soon",
		"num":      5.0,
	},
	cases: []opCase{
		{`"op":"before","value":"2026-03-15"`, []string{"d14", "d14frac", "d14zeros", "d15", "offset"}},
		{`"op":"before","value":"2026-03-14T12:00:00Z"`, []string{"d14", "d14zeros"}},
		{`"op":"after","value":"2026-03-15T00:00:00Z"`, []string{"d15", "d15end", "d16", "future"}},
		{`"op":"after","value":"2026-03-15T01:00:00+01:00"`, []string{"d15", "d15end", "d16", "future"}},
		{`"op":"after","value":"2026-03-15T01:00:00.0001+01:00"`, []string{"d15end", "d16", "future"}},
		{`"op":"on","value":"2026-03-15"`, []string{"d15", "d15end"}},
		{`"op":"on","value":"2026-03-15T23:00:00-02:00"`, []string{"d16"}}, // the UTC day of the instant
		{`"op":"on","value":"2026-03-14"`, []string{"d14", "d14frac", "d14zeros", "offset"}},
		// less_than 1: at or after now - 1 day, the future included.
		{`"op":"less_than","value":"1"`, []string{"d14", "d14frac", "d14zeros", "d15", "d15end", "d16", "offset", "future"}},
		// more_than 1: at or before now - 1 day.
		{`"op":"more_than","value":"1"`, []string{"d14", "d14zeros"}},
		{`"op":"exactly","value":"1"`, []string{"d14", "d14frac", "d14zeros", "offset"}},
		{`"op":"exactly","value":"0"`, []string{"d15", "d15end"}},
		{`"op":"exactly","value":"-1"`, []string{"d16"}},
		{`"op":"less_than","value":"-1"`, []string{"future"}},
		{`"op":"any"`, []string{"d14", "d14frac", "d14zeros", "d15", "d15end", "d16", "offset", "future", "feb30", "h24", "nozone", "date", "str", "num"}},
		{`"op":"empty"`, []string{"unset"}},
	},
}}

// sum adds doubles at run time (constants add exactly).
func sum(a, b float64) float64 { return a + b }

// TestOperators pins every operator of segments.md §3.1, with its rule for
// unset and wrong-typed values, on the evaluator and both backends.
func TestOperators(t *testing.T) {
	for _, tab := range opTables {
		t.Run(tab.typ.String(), func(t *testing.T) {
			w := &world{users: []entity{{"unset", userdata.Attributes{}}}}
			for name, v := range tab.values {
				w.users = append(w.users, entity{name, userdata.Attributes{"k": v}})
			}
			defs := segment.DefinitionMap{{Scope: userdata.ScopeUser, CodeName: "k"}: tab.typ}
			var cases []segCase
			for _, c := range tab.cases {
				tree := fmt.Sprintf(`[{"type":"attribute","scope":"user","attribute":"k",%s}]`, c.cond)
				if err := checkValid(tree, defs); err != nil {
					t.Fatalf("%s: %v", tree, err)
				}
				cases = append(cases, segCase{name: c.cond, biz: userdata.ScopeUser, conds: tree, want: c.want})
			}
			runCases(t, w, defs, opNow, cases)
		})
	}
}

// checkValid parses and validates a tree.
func checkValid(tree string, defs segment.Definitions) error {
	conds, err := segment.Parse([]byte(tree))
	if err != nil {
		return err
	}
	return segment.Validate(conds, defs)
}

// TestOperatorsCoverAllowedOps checks that the tables above exercise every
// operator of every type.
func TestOperatorsCoverAllowedOps(t *testing.T) {
	for _, tab := range opTables {
		for _, op := range segment.AllowedOps(tab.typ) {
			if !slices.ContainsFunc(tab.cases, func(c opCase) bool { return strings.HasPrefix(c.cond, `"op":"`+string(op)+`"`) }) {
				t.Errorf("%s: no case of %s", tab.typ, op)
			}
		}
	}
}
