package segment_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

var validateDefs = segment.DefinitionMap{
	{Scope: userdata.ScopeUser, CodeName: "plan"}:      userdata.DataTypeString,
	{Scope: userdata.ScopeUser, CodeName: "seats"}:     userdata.DataTypeNumber,
	{Scope: userdata.ScopeUser, CodeName: "active"}:    userdata.DataTypeBoolean,
	{Scope: userdata.ScopeUser, CodeName: "tags"}:      userdata.DataTypeList,
	{Scope: userdata.ScopeUser, CodeName: "signed_up"}: userdata.DataTypeDatetime,
	{Scope: userdata.ScopeUser, CodeName: "blob"}:      userdata.DataTypeObject,
	{Scope: userdata.ScopeUser, CodeName: "ab"}:        userdata.DataTypeRandomAB,
	{Scope: userdata.ScopeCompany, CodeName: "plan"}:   userdata.DataTypeString,
}

// leafJSON returns a user leaf on attr with the members ops.
func leafJSON(attr, ops string) string {
	return `{"type":"attribute","scope":"user","attribute":"` + attr + `",` + ops + `}`
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		tree string
		want string // "" when valid
	}{
		{`[]`, ""},
		{`[` + leafJSON("plan", `"op":"contains","value":"pro"`) + `]`, ""},
		{`[` + leafJSON("blob", `"op":"is","value":"x"`) + `]`, ""}, // the object type reads as a string
		{`[` + leafJSON("seats", `"op":"between","value":"1e3","value2":"-2.5"`) + `]`, ""},
		{`[` + leafJSON("seats", `"op":"is","value":"007"`) + `]`, ""},
		{`[` + leafJSON("signed_up", `"op":"less_than","value":"-7"`) + `]`, ""},
		{`[` + leafJSON("signed_up", `"op":"on","value":"2024-01-31"`) + `]`, ""},
		{`[` + leafJSON("signed_up", `"op":"after","value":"2024-01-31T10:30:00.5+01:00"`) + `]`, ""},
		{`[` + leafJSON("tags", `"op":"any"`) + `]`, ""},
		{`[` + leafJSON("active", `"op":"true","value":"ignored"`) + `]`, ""},
		{`[{"type":"group","match":"all","conditions":[]}]`,
			`conditions[0]: A condition group must contain at least one condition — an EMPTY group never matches`},
		{`[{"type":"unsupported","note":"references a deleted attribute"}]`,
			`conditions[0]: "unsupported" is a read-side placeholder for a stored condition that can no longer be evaluated — it cannot be written back.`},
		{`[{"type":"attribute","scope":"company","attribute":"seats","op":"is","value":"1"}]`,
			`conditions[0]: references an unknown attribute: the project has no company attribute "seats"`},
		{`[` + leafJSON("seats", `"op":"contains","value":"1"`) + `]`,
			`conditions[0]: operator "contains" is not valid for the user attribute "seats" of type number; use one of: is, not, lt, lte, gt, gte, between, any, empty`},
		{`[` + leafJSON("ab", `"op":"is","value":"a"`) + `]`,
			`conditions[0]: the user attribute "ab" is of type random_ab, which segment conditions do not support`},
		{`[` + leafJSON("seats", `"op":"between","value":"1"`) + `]`,
			`conditions[0]: missing a required value: "between" needs a non-blank value and value2`},
		{`[` + leafJSON("tags", `"op":"includes_all","values":[]`) + `]`,
			`conditions[0]: missing a required value: "includes_all" needs a non-empty values array`},
		{`[` + leafJSON("plan", `"op":"is","value":" \t"`) + `]`,
			`conditions[0]: missing a required value: "is" needs a non-blank value`},
		{`[` + leafJSON("signed_up", `"op":"before"`) + `]`,
			`conditions[0]: missing a required value: "before" needs a non-blank value`},
		{`[` + leafJSON("seats", `"op":"gt","value":"NaN"`) + `]`, `conditions[0]: value must be a finite number, such as "5" or "-2.5"`},
		{`[` + leafJSON("seats", `"op":"gt","value":"1e400"`) + `]`, `conditions[0]: value must be a finite number`},
		{`[` + leafJSON("seats", `"op":"gt","value":"0x10"`) + `]`, `conditions[0]: value must be a finite number`},
		{`[` + leafJSON("seats", `"op":"gt","value":" 5"`) + `]`, `conditions[0]: value must be a finite number`},
		{`[` + leafJSON("seats", `"op":"between","value":"1","value2":"two"`) + `]`, `conditions[0]: value2 must be a finite number`},
		{`[` + leafJSON("signed_up", `"op":"exactly","value":"1.5"`) + `]`,
			`conditions[0]: value must be a whole number of days between -3650000 and 3650000, such as "7" or "-7"`},
		{`[` + leafJSON("signed_up", `"op":"more_than","value":"3650001"`) + `]`, `conditions[0]: value must be a whole number of days`},
		{`[` + leafJSON("signed_up", `"op":"on","value":"2024-02-30"`) + `]`,
			`conditions[0]: value must be a date such as "2024-01-31" (midnight UTC) or a date-time with a time zone`},
		{`[` + leafJSON("signed_up", `"op":"before","value":"2024-01-31T09:30:00"`) + `]`, `conditions[0]: value must be a date such as`},
		{`[` + leafJSON("plan", `"op":"is","value":"`+strings.Repeat("é", 513)+`"`) + `]`,
			`conditions[0].value: must be at most 1024 bytes`},
		{`[` + leafJSON("tags", `"op":"includes_any","values":["a","`+strings.Repeat("x", 1025)+`"]`) + `]`,
			`conditions[0].values[1]: must be at most 1024 bytes`},
		// Every problem, in order.
		{`[` + leafJSON("nope", `"op":"is","value":"x"`) + `,{"type":"group","match":"any","conditions":[` +
			leafJSON("plan", `"op":"lt","value":"x"`) + `,{"type":"group","match":"all","conditions":[]}]}]`,
			`Invalid segment conditions: conditions[0]: references an unknown attribute: the project has no user attribute "nope"; ` +
				`conditions[1].conditions[0]: operator "lt" is not valid for the user attribute "plan" of type string; ` +
				`use one of: is, not, contains, not_contains, starts_with, ends_with, any, empty; ` +
				`conditions[1].conditions[1]: A condition group must contain at least one condition`},
		{nested(5), ""},
		{nested(6), `conditions[0].conditions[0].conditions[0].conditions[0].conditions[0].conditions[0]: groups may be nested at most 5 deep`},
		{leaves(100), ""},
		{leaves(101), `Invalid segment conditions: conditions: a segment may hold at most 100 attribute conditions, not 101`},
		{`[` + leafJSON("plan", `"op":"is","value":"`+strings.Repeat("x", 1024)+`"`) + `]`, ""},
	} {
		conds, err := segment.Parse(json.RawMessage(tt.tree))
		if err != nil {
			t.Fatalf("Parse(%.80s): %v", tt.tree, err)
		}
		err = segment.Validate(conds, validateDefs)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%.200s): %v", tt.tree, err)
		case tt.want != "" && (userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.Contains(errorMessage(err), tt.want)):
			t.Errorf("Validate(%.200s):\n got %v\nwant …%s…", tt.tree, err, tt.want)
		}
	}
}

// nested returns a tree of n groups, one inside the other, around a leaf.
func nested(n int) string {
	tree := leafJSON("plan", `"op":"any"`)
	for range n {
		tree = `{"type":"group","match":"any","conditions":[` + tree + `]}`
	}
	return "[" + tree + "]"
}

// leaves returns a tree of n leaves, most of them in a group.
func leaves(n int) string {
	var xs []string
	for i := range n - 1 {
		xs = append(xs, leafJSON("plan", fmt.Sprintf(`"op":"is","value":"%d"`, i)))
	}
	return `[` + leafJSON("plan", `"op":"any"`) + `,{"type":"group","match":"any","conditions":[` + strings.Join(xs, ",") + `]}]`
}

func TestAllowedOps(t *testing.T) {
	for typ, want := range map[userdata.DataType]string{
		userdata.DataTypeString:   "is not contains not_contains starts_with ends_with any empty",
		userdata.DataTypeObject:   "is not contains not_contains starts_with ends_with any empty",
		userdata.DataTypeNumber:   "is not lt lte gt gte between any empty",
		userdata.DataTypeBoolean:  "true false any empty",
		userdata.DataTypeList:     "includes_any includes_all not_includes_any not_includes_all any empty",
		userdata.DataTypeDatetime: "less_than exactly more_than before on after any empty",
		userdata.DataTypeRandomAB: "",
	} {
		var got []string
		for _, op := range segment.AllowedOps(typ) {
			got = append(got, string(op))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("AllowedOps(%s) = %v, want %s", typ, got, want)
		}
	}
}

func TestReadBack(t *testing.T) {
	tree := `[` + leafJSON("plan", `"op":"is","value":"pro"`) + `,{"type":"group","match":"any","conditions":[` +
		leafJSON("gone", `"op":"is","value":"x"`) + `,` + leafJSON("seats", `"op":"contains","value":"1"`) + `]}]`
	conds, err := segment.Parse(json.RawMessage(tree))
	if err != nil {
		t.Fatal(err)
	}
	before := string(segment.Encode(conds))
	got := segment.ReadBack(conds, validateDefs)
	if string(segment.Encode(conds)) != before {
		t.Errorf("ReadBack changed its input")
	}
	want := `[` + leafJSON("plan", `"op":"is","value":"pro"`) + `,{"type":"group","match":"any","conditions":[` +
		`{"type":"unsupported","note":"references a deleted attribute (user \"gone\") — this condition is ignored when the segment is evaluated; remove it, or recreate the attribute"},` +
		`{"type":"unsupported","note":"no longer fits its attribute (user \"seats\", op \"contains\"): operator \"contains\" is not valid for the user attribute \"seats\" of type number; ` +
		`use one of: is, not, lt, lte, gt, gte, between, any, empty — this condition is ignored when the segment is evaluated; remove or rewrite it"}]}]`
	if diff := cmp.Diff(want, string(segment.Encode(got))); diff != "" {
		t.Errorf("ReadBack (-want +got):\n%s", diff)
	}
	// What ReadBack shows cannot be written back.
	if err := segment.Validate(got, validateDefs); userdata.ErrorCode(err) != userdata.CodeInvalid {
		t.Errorf("Validate(ReadBack(…)) = %v, want CodeInvalid", err)
	}
}
