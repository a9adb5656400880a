package userdata_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// parse decodes an attribute map as the HTTP layer does and parses its
// operations.
func parse(t *testing.T, field, js string, eventsOnly bool) (userdata.Attributes, error) {
	t.Helper()
	a, err := userdata.DecodeAttributes([]byte(js))
	if err != nil {
		t.Fatalf("bad test attributes %s: %v", js, err)
	}
	return a, userdata.ParseOperations(field, a, eventsOnly)
}

// mustParse is parse for attributes that must be well formed.
func mustParse(t *testing.T, js string) userdata.Attributes {
	t.Helper()
	a, err := parse(t, "attributes", js, false)
	if err != nil {
		t.Fatalf("ParseOperations(%s): %v", js, err)
	}
	return a
}

// op is the *Op ParseOperations makes for attributes.<key>.
func op(key string, kind userdata.OpKind, v any) *userdata.Op {
	return &userdata.Op{Kind: kind, Value: v, Field: "attributes." + key}
}

// typed is op with a data_type.
func typed(key string, kind userdata.OpKind, v any, dt userdata.DataType) *userdata.Op {
	o := op(key, kind, v)
	o.DataType, o.HasType = dt, true
	return o
}

// Well-formed operation objects become *Op values (or, for a set without
// data_type, the value itself); every other value, and every object that is
// empty or has a key outside the vocabulary, stays a literal.
func TestParseOperations(t *testing.T) {
	for _, tt := range []struct {
		js   string
		want userdata.Attributes
	}{
		{`{"k":1}`, userdata.Attributes{"k": 1.0}},
		{`{"k":null}`, userdata.Attributes{"k": nil}},
		{`{"k":[{"add":1}]}`, userdata.Attributes{"k": []any{map[string]any{"add": 1.0}}}},
		// The v1 literal rule.
		{`{"k":{}}`, userdata.Attributes{"k": map[string]any{}}},
		{`{"k":{"add":1,"x":2}}`, userdata.Attributes{"k": map[string]any{"add": 1.0, "x": 2.0}}},
		{`{"k":{"set":1,"data_type":"number","note":"x"}}`, userdata.Attributes{"k": map[string]any{"set": 1.0, "data_type": "number", "note": "x"}}},
		{`{"k":{"Add":1}}`, userdata.Attributes{"k": map[string]any{"Add": 1.0}}},
		{`{"k":{"add ":1}}`, userdata.Attributes{"k": map[string]any{"add ": 1.0}}},
		{`{"k":{"x":{"add":1}}}`, userdata.Attributes{"k": map[string]any{"x": map[string]any{"add": 1.0}}}},
		// set: the value itself, null removes, an object operand is a literal.
		{`{"k":{"set":"v"}}`, userdata.Attributes{"k": "v"}},
		{`{"k":{"set":null}}`, userdata.Attributes{"k": nil}},
		{`{"k":{"set":null,"data_type":"string"}}`, userdata.Attributes{"k": nil}},
		{`{"k":{"set":{"add":1}}}`, userdata.Attributes{"k": map[string]any{"add": 1.0}}},
		{`{"k":{"set":[1,"a"]}}`, userdata.Attributes{"k": []any{1.0, "a"}}},
		{`{"k":{"set":"1","data_type":"number"}}`, userdata.Attributes{"k": typed("k", userdata.OpSet, "1", userdata.DataTypeNumber)}},
		{`{"k":{"data_type":"datetime","set":"x"}}`, userdata.Attributes{"k": typed("k", userdata.OpSet, "x", userdata.DataTypeDatetime)}},
		// set_once.
		{`{"k":{"set_once":false}}`, userdata.Attributes{"k": op("k", userdata.OpSetOnce, false)}},
		{`{"k":{"set_once":{"a":1}}}`, userdata.Attributes{"k": op("k", userdata.OpSetOnce, map[string]any{"a": 1.0})}},
		{`{"k":{"set_once":1,"data_type":"list"}}`, userdata.Attributes{"k": typed("k", userdata.OpSetOnce, 1.0, userdata.DataTypeList)}},
		{`{"k":{"set_once":true,"data_type":"boolean"}}`, userdata.Attributes{"k": typed("k", userdata.OpSetOnce, true, userdata.DataTypeBoolean)}},
		{`{"k":{"set_once":"s","data_type":"string"}}`, userdata.Attributes{"k": typed("k", userdata.OpSetOnce, "s", userdata.DataTypeString)}},
		// add and its alias subtract.
		{`{"k":{"add":2.5}}`, userdata.Attributes{"k": op("k", userdata.OpAdd, 2.5)}},
		{`{"k":{"add":-3}}`, userdata.Attributes{"k": op("k", userdata.OpAdd, -3.0)}},
		{`{"k":{"add":1e308}}`, userdata.Attributes{"k": op("k", userdata.OpAdd, 1e308)}},
		{`{"k":{"subtract":2}}`, userdata.Attributes{"k": op("k", userdata.OpAdd, -2.0)}},
		{`{"k":{"subtract":-0.5}}`, userdata.Attributes{"k": op("k", userdata.OpAdd, 0.5)}},
		// union, remove and the aliases append and prepend: a list of
		// distinct scalars, in operand order.
		{`{"k":{"union":"a"}}`, userdata.Attributes{"k": op("k", userdata.OpUnion, []any{"a"})}},
		{`{"k":{"union":[]}}`, userdata.Attributes{"k": op("k", userdata.OpUnion, []any{})}},
		{`{"k":{"union":["b",1,"1",true,1.0,"b",false]}}`, userdata.Attributes{"k": op("k", userdata.OpUnion, []any{"b", 1.0, "1", true, false})}},
		{`{"k":{"append":2}}`, userdata.Attributes{"k": op("k", userdata.OpUnion, []any{2.0})}},
		{`{"k":{"prepend":["z","a"]}}`, userdata.Attributes{"k": op("k", userdata.OpUnion, []any{"z", "a"})}},
		{`{"k":{"remove":false}}`, userdata.Attributes{"k": op("k", userdata.OpRemove, []any{false})}},
		{`{"k":{"remove":["x","x"]}}`, userdata.Attributes{"k": op("k", userdata.OpRemove, []any{"x"})}},
		{`{"k":{"remove":[]}}`, userdata.Attributes{"k": op("k", userdata.OpRemove, []any{})}},
		// Several keys at once.
		{`{"a":{"add":1},"b":"x","c":{"union":"u"},"d":null}`, userdata.Attributes{
			"a": op("a", userdata.OpAdd, 1.0), "b": "x", "c": op("c", userdata.OpUnion, []any{"u"}), "d": nil}},
	} {
		got := mustParse(t, tt.js)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseOperations(%s) (-want +got):\n%s", tt.js, diff)
		}
	}
}

// Each malformed operation is CodeInvalid, with a message naming the
// attribute by its field.
func TestParseOperationsErrors(t *testing.T) {
	const (
		one     = "an operation has exactly one of set, set_once, add, union, remove, subtract, append, prepend, not both "
		beside  = "data_type goes beside set or set_once"
		dtype   = "data_type must be one of string, number, boolean, datetime, list"
		scalars = " takes a string, number or boolean, or an array of them"
	)
	for _, tt := range []struct {
		js, want string
	}{
		{`{"k":{"set":1,"add":2}}`, one + "add and set"},
		{`{"k":{"union":1,"remove":2}}`, one + "remove and union"},
		{`{"k":{"append":1,"prepend":2}}`, one + "append and prepend"},
		{`{"k":{"add":1,"subtract":2}}`, one + "add and subtract"},
		{`{"k":{"set":1,"set_once":2,"data_type":"number"}}`, one + "set and set_once"},
		{`{"k":{"data_type":"number"}}`, beside},
		{`{"k":{"data_type":null}}`, beside},
		{`{"k":{"add":1,"data_type":"number"}}`, beside + ", not add"},
		{`{"k":{"subtract":1,"data_type":"number"}}`, beside + ", not subtract"},
		{`{"k":{"union":"a","data_type":"list"}}`, beside + ", not union"},
		{`{"k":{"append":"a","data_type":"list"}}`, beside + ", not append"},
		{`{"k":{"remove":"a","data_type":"list"}}`, beside + ", not remove"},
		{`{"k":{"set":1,"data_type":"integer"}}`, dtype},
		{`{"k":{"set":1,"data_type":"Number"}}`, dtype},
		{`{"k":{"set":1,"data_type":""}}`, dtype},
		{`{"k":{"set":1,"data_type":1}}`, dtype},
		{`{"k":{"set":1,"data_type":null}}`, dtype},
		{`{"k":{"set":1,"data_type":"random_ab"}}`, dtype},
		{`{"k":{"set_once":1,"data_type":"random_number"}}`, dtype},
		{`{"k":{"set_once":null}}`, "set_once needs a value (send null to remove the attribute)"},
		{`{"k":{"set_once":null,"data_type":"string"}}`, "set_once needs a value (send null to remove the attribute)"},
		{`{"k":{"add":"1"}}`, "add must be a finite number"},
		{`{"k":{"add":null}}`, "add must be a finite number"},
		{`{"k":{"add":true}}`, "add must be a finite number"},
		{`{"k":{"add":[1]}}`, "add must be a finite number"},
		{`{"k":{"add":{"n":1}}}`, "add must be a finite number"},
		{`{"k":{"subtract":"x"}}`, "subtract must be a finite number"},
		{`{"k":{"union":null}}`, "union" + scalars},
		{`{"k":{"union":{"a":1}}}`, "union" + scalars},
		{`{"k":{"union":[null]}}`, "union" + scalars},
		{`{"k":{"union":["a",[1]]}}`, "union" + scalars},
		{`{"k":{"union":[{"a":1}]}}`, "union" + scalars},
		{`{"k":{"append":[null]}}`, "append" + scalars},
		{`{"k":{"prepend":{}}}`, "prepend" + scalars},
		{`{"k":{"remove":null}}`, "remove" + scalars},
		{`{"k":{"remove":[["a"]]}}`, "remove" + scalars},
	} {
		_, err := parse(t, "attributes", tt.js, false)
		wantInvalid(t, "ParseOperations("+tt.js+")", err, "attributes.k: "+tt.want)
	}
}

// wantInvalid fails unless err is CodeInvalid with the message want.
func wantInvalid(t *testing.T, what string, err error, want string) {
	t.Helper()
	var e *userdata.Error
	if !errors.As(err, &e) || e.Code != userdata.CodeInvalid {
		t.Errorf("%s: error %v, want CodeInvalid", what, err)
		return
	}
	if e.Message != want {
		t.Errorf("%s: message %q, want %q", what, e.Message, want)
	}
}

// The field names the map in messages; with several malformed operations
// the first key in order is reported, whatever the map's order, and with
// more than two operation keys, always the same pair.
func TestParseOperationsMessages(t *testing.T) {
	_, err := parse(t, "companies.0.attributes", `{"tags":{"union":[null]}}`, false)
	wantInvalid(t, "companies field", err, "companies.0.attributes.tags: union takes a string, number or boolean, or an array of them")
	_, err = parse(t, "memberships.2.company.attributes", `{"n":{"add":"x"}}`, false)
	wantInvalid(t, "membership company field", err, "memberships.2.company.attributes.n: add must be a finite number")
	for range 20 {
		_, err = parse(t, "attributes", `{"d":{"add":"x"},"b":{"union":null},"c":{"set_once":null},"a":1}`, false)
		wantInvalid(t, "several malformed", err, "attributes.b: union takes a string, number or boolean, or an array of them")
		_, err = parse(t, "attributes", `{"k":{"union":1,"add":2,"set":3,"remove":4}}`, false)
		wantInvalid(t, "four operation keys", err, "attributes.k: an operation has exactly one of set, set_once, add, union, remove, subtract, append, prepend, not both add and remove")
	}
	a := mustParse(t, `{"k":{"add":1}}`)
	if op := a["k"].(*userdata.Op); op.Field != "attributes.k" {
		t.Errorf("Field = %q, want attributes.k", op.Field)
	}
}

// Event attributes take literals, null and set (with or without
// data_type) only.
func TestParseOperationsEvents(t *testing.T) {
	a, err := parse(t, "attributes", `{"a":1,"b":{"set":"x"},"c":{"set":"2","data_type":"number"},"d":{"set":null},"e":null,"f":{"add":1,"x":1},"g":{}}`, true)
	if err != nil {
		t.Fatalf("event attributes: %v", err)
	}
	want := userdata.Attributes{"a": 1.0, "b": "x", "c": typed("c", userdata.OpSet, "2", userdata.DataTypeNumber), "d": nil, "e": nil,
		"f": map[string]any{"add": 1.0, "x": 1.0}, "g": map[string]any{}}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("event attributes (-want +got):\n%s", diff)
	}
	for js, want := range map[string]string{
		`{"k":{"add":1}}`:                           "attributes.k: events take only literal values and set, not add",
		`{"k":{"subtract":1}}`:                      "attributes.k: events take only literal values and set, not add",
		`{"k":{"set_once":1}}`:                      "attributes.k: events take only literal values and set, not set_once",
		`{"k":{"set_once":1,"data_type":"number"}}`: "attributes.k: events take only literal values and set, not set_once",
		`{"k":{"union":1}}`:                         "attributes.k: events take only literal values and set, not union",
		`{"k":{"append":1}}`:                        "attributes.k: events take only literal values and set, not union",
		`{"k":{"remove":1}}`:                        "attributes.k: events take only literal values and set, not remove",
		`{"k":{"set":1,"data_type":"x"}}`:           "attributes.k: data_type must be one of string, number, boolean, datetime, list",
		`{"k":{"add":"x"}}`:                         "attributes.k: add must be a finite number",
	} {
		_, err := parse(t, "attributes", js, true)
		wantInvalid(t, "event attributes "+js, err, want)
	}
}

// mergeCase is a merge of a patch into stored attributes: the result, or
// the error message.
type mergeCase struct {
	stored, patch string
	want          string // the merged object; "" when unchanged
	err           string
}

func runMerges(t *testing.T, cases []mergeCase) {
	t.Helper()
	for _, tt := range cases {
		a := mustParse(t, tt.patch)
		got, changed, err := a.Merge(json.RawMessage(tt.stored))
		what := "Merge(" + tt.patch + " into " + tt.stored + ")"
		switch {
		case tt.err != "":
			wantInvalid(t, what, err, tt.err)
			if got != nil || changed {
				t.Errorf("%s failed but returned %s, changed %t", what, got, changed)
			}
		case err != nil:
			t.Errorf("%s: %v", what, err)
		case tt.want == "":
			if changed || string(got) != tt.stored {
				t.Errorf("%s = %s, changed %t; want it unchanged", what, got, changed)
			}
		case !changed || string(got) != tt.want:
			t.Errorf("%s = %s, changed %t; want %s, changed", what, got, changed, tt.want)
		}
	}
}

func TestMergeSet(t *testing.T) {
	runMerges(t, []mergeCase{
		{stored: `{"a":1}`, patch: `{"a":{"set":2}}`, want: `{"a":2}`},
		{stored: `{"a":1}`, patch: `{"a":{"set":1}}`},
		{stored: `{"a":1}`, patch: `{"a":{"set":null}}`, want: `{}`},
		{stored: `{"a":1}`, patch: `{"b":{"set":null}}`},
		{stored: `{"a":1}`, patch: `{"a":{"set":"x","data_type":"string"}}`, want: `{"a":"x"}`},
		// v1 stores the value as sent, whatever the data_type.
		{stored: `{"a":1}`, patch: `{"a":{"set":1,"data_type":"string"}}`},
		{stored: `{}`, patch: `{"a":{"set":"2","data_type":"number"}}`, want: `{"a":"2"}`},
		{stored: `{}`, patch: `{"a":{"set":{"add":1}}}`, want: `{"a":{"add":1}}`},
		{stored: `{"a":1}`, patch: `{"a":null}`, want: `{}`},
		{stored: `{"a":1}`, patch: `{"b":null}`},
		// Literal objects replace the stored value, as today.
		{stored: `{"a":{"add":1}}`, patch: `{"a":{"add":1,"x":1}}`, want: `{"a":{"add":1,"x":1}}`},
		{stored: `{"a":1}`, patch: `{"a":{}}`, want: `{"a":{}}`},
	})
}

func TestMergeSetOnce(t *testing.T) {
	runMerges(t, []mergeCase{
		{stored: `{}`, patch: `{"a":{"set_once":2}}`, want: `{"a":2}`},
		{stored: `{"a":1}`, patch: `{"a":{"set_once":2}}`},
		{stored: `{"a":"x"}`, patch: `{"a":{"set_once":2}}`},
		{stored: `{"a":[]}`, patch: `{"a":{"set_once":[1]}}`},
		{stored: `{"a":{"b":1}}`, patch: `{"a":{"set_once":{"b":2}}}`},
		{stored: `{"b":1}`, patch: `{"a":{"set_once":"x","data_type":"string"}}`, want: `{"a":"x","b":1}`},
		{stored: `{}`, patch: `{"a":{"set_once":{"z":1,"y":[1,"<&>"]}}}`, want: `{"a":{"y":[1,"<&>"],"z":1}}`},
	})
	// Removed and never set are one state: set_once works again.
	stored := json.RawMessage(`{"a":1}`)
	for _, step := range []struct{ patch, want string }{
		{`{"a":null}`, `{}`},
		{`{"a":{"set_once":2}}`, `{"a":2}`},
		{`{"a":{"set_once":3}}`, `{"a":2}`},
		{`{"a":{"set":null}}`, `{}`},
		{`{"a":{"set_once":4}}`, `{"a":4}`},
	} {
		merged, _, err := mustParse(t, step.patch).Merge(stored)
		if err != nil || string(merged) != step.want {
			t.Fatalf("Merge(%s into %s) = %s, %v; want %s", step.patch, stored, merged, err, step.want)
		}
		stored = merged
	}
}

func TestMergeAdd(t *testing.T) {
	runMerges(t, []mergeCase{
		{stored: `{}`, patch: `{"n":{"add":5}}`, want: `{"n":5}`},
		{stored: `{}`, patch: `{"n":{"add":0}}`, want: `{"n":0}`},
		{stored: `{}`, patch: `{"n":{"subtract":2}}`, want: `{"n":-2}`},
		{stored: `{"n":1}`, patch: `{"n":{"add":2}}`, want: `{"n":3}`},
		{stored: `{"n":1}`, patch: `{"n":{"add":-3}}`, want: `{"n":-2}`},
		{stored: `{"n":1}`, patch: `{"n":{"subtract":3}}`, want: `{"n":-2}`},
		{stored: `{"n":1.5}`, patch: `{"n":{"subtract":-1.5}}`, want: `{"n":3}`},
		{stored: `{"n":1}`, patch: `{"n":{"add":0}}`},
		{stored: `{"n":0.1}`, patch: `{"n":{"add":0.2}}`, want: `{"n":0.30000000000000004}`},
		{stored: `{"n":0.30000000000000004}`, patch: `{"n":{"add":-0.2}}`, want: `{"n":0.10000000000000003}`},
		// -0 is stored as 0, as everywhere.
		{stored: `{}`, patch: `{"n":{"add":-0}}`, want: `{"n":0}`},
		{stored: `{}`, patch: `{"n":{"subtract":0}}`, want: `{"n":0}`},
		{stored: `{"n":0}`, patch: `{"n":{"add":-0}}`},
		{stored: `{"n":-1}`, patch: `{"n":{"add":1}}`, want: `{"n":0}`},
		{stored: `{"n":-0.5}`, patch: `{"n":{"add":0.5}}`, want: `{"n":0}`},
		// Large numbers are doubles, printed as JavaScript does.
		{stored: `{"n":1e20}`, patch: `{"n":{"add":1e20}}`, want: `{"n":200000000000000000000}`},
		{stored: `{"n":6e20}`, patch: `{"n":{"add":6e20}}`, want: `{"n":1.2e+21}`},
		{stored: `{"n":1e+21}`, patch: `{"n":{"add":0}}`},
		{stored: `{"n":9007199254740992}`, patch: `{"n":{"add":1}}`},
		{stored: `{"n":9007199254740992}`, patch: `{"n":{"add":2}}`, want: `{"n":9007199254740994}`},
		{stored: `{"n":1e-7}`, patch: `{"n":{"add":1e-7}}`, want: `{"n":2e-7}`},
		{stored: `{"n":1e308}`, patch: `{"n":{"add":1e308}}`, err: "attributes.n: the sum is too large for a number"},
		{stored: `{"n":-1.7976931348623157e308}`, patch: `{"n":{"subtract":1e308}}`, err: "attributes.n: the sum is too large for a number"},
		{stored: `{"n":1.7976931348623157e308}`, patch: `{"n":{"add":-1e308}}`, want: `{"n":7.976931348623157e+307}`},
		// The stored value must be a number.
		{stored: `{"n":"1"}`, patch: `{"n":{"add":1}}`, err: "attributes.n: cannot add to a stored string"},
		{stored: `{"n":true}`, patch: `{"n":{"add":1}}`, err: "attributes.n: cannot add to a stored boolean"},
		{stored: `{"n":[1]}`, patch: `{"n":{"subtract":1}}`, err: "attributes.n: cannot add to a stored list"},
		{stored: `{"n":{"v":1}}`, patch: `{"n":{"add":1}}`, err: "attributes.n: cannot add to a stored object"},
	})
}

func TestMergeUnion(t *testing.T) {
	runMerges(t, []mergeCase{
		{stored: `{}`, patch: `{"t":{"union":["a","b","a"]}}`, want: `{"t":["a","b"]}`},
		{stored: `{}`, patch: `{"t":{"union":"a"}}`, want: `{"t":["a"]}`},
		{stored: `{}`, patch: `{"t":{"union":[]}}`, want: `{"t":[]}`},
		{stored: `{"t":["a","b"]}`, patch: `{"t":{"union":["c","a","d"]}}`, want: `{"t":["a","b","c","d"]}`},
		{stored: `{"t":["b","a"]}`, patch: `{"t":{"union":["a","c"]}}`, want: `{"t":["b","a","c"]}`},
		{stored: `{"t":["a","a"]}`, patch: `{"t":{"union":"b"}}`, want: `{"t":["a","a","b"]}`},
		{stored: `{"t":["a","b"]}`, patch: `{"t":{"union":["b","a"]}}`},
		{stored: `{"t":["a"]}`, patch: `{"t":{"union":[]}}`},
		{stored: `{"t":[]}`, patch: `{"t":{"union":[]}}`},
		// JSON equality of scalars: "1" is not 1, 1 is 1.0, true is not "true".
		{stored: `{"t":[1,"1",true]}`, patch: `{"t":{"union":["1",1,1.0,"true",true,false]}}`, want: `{"t":[1,"1",true,"true",false]}`},
		{stored: `{"t":[1.5]}`, patch: `{"t":{"union":[1.50,15e-1]}}`},
		// A stored list may hold objects and lists; they equal no scalar.
		{stored: `{"t":[{"a":1},["a"]]}`, patch: `{"t":{"union":"a"}}`, want: `{"t":[{"a":1},["a"],"a"]}`},
		// append and prepend are union: prepend does not put elements first.
		{stored: `{"t":["a"]}`, patch: `{"t":{"prepend":["b","a"]}}`, want: `{"t":["a","b"]}`},
		{stored: `{"t":["a"]}`, patch: `{"t":{"append":"c"}}`, want: `{"t":["a","c"]}`},
		// The stored value must be a list.
		{stored: `{"t":"a"}`, patch: `{"t":{"union":"b"}}`, err: "attributes.t: cannot union with a stored string"},
		{stored: `{"t":1}`, patch: `{"t":{"append":"b"}}`, err: "attributes.t: cannot union with a stored number"},
		{stored: `{"t":false}`, patch: `{"t":{"union":[]}}`, err: "attributes.t: cannot union with a stored boolean"},
		{stored: `{"t":{}}`, patch: `{"t":{"prepend":"b"}}`, err: "attributes.t: cannot union with a stored object"},
	})
}

func TestMergeRemove(t *testing.T) {
	runMerges(t, []mergeCase{
		{stored: `{"t":["a","b","a","c"]}`, patch: `{"t":{"remove":["a","z"]}}`, want: `{"t":["b","c"]}`},
		{stored: `{"t":["a","b"]}`, patch: `{"t":{"remove":"b"}}`, want: `{"t":["a"]}`},
		{stored: `{"t":["a","a"]}`, patch: `{"t":{"remove":"a"}}`, want: `{"t":[]}`},
		{stored: `{"t":["a"]}`, patch: `{"t":{"remove":["z"]}}`},
		{stored: `{"t":["a"]}`, patch: `{"t":{"remove":[]}}`},
		{stored: `{"t":[]}`, patch: `{"t":{"remove":"a"}}`},
		// A missing key stays missing.
		{stored: `{"a":1}`, patch: `{"t":{"remove":"a"}}`},
		{stored: `{}`, patch: `{"t":{"remove":[]}}`},
		{stored: `{"a":1}`, patch: `{"t":{"remove":"a"},"a":2}`, want: `{"a":2}`},
		{stored: `{"t":[1,"1",true,"true"]}`, patch: `{"t":{"remove":["1",true]}}`, want: `{"t":[1,"true"]}`},
		{stored: `{"t":[1]}`, patch: `{"t":{"remove":1.0}}`, want: `{"t":[]}`},
		{stored: `{"t":[{"a":1},"a",["a"]]}`, patch: `{"t":{"remove":"a"}}`, want: `{"t":[{"a":1},["a"]]}`},
		{stored: `{"t":"a"}`, patch: `{"t":{"remove":"a"}}`, err: "attributes.t: cannot remove from a stored string"},
		{stored: `{"t":2}`, patch: `{"t":{"remove":[]}}`, err: "attributes.t: cannot remove from a stored number"},
		{stored: `{"t":{"a":1}}`, patch: `{"t":{"remove":"a"}}`, err: "attributes.t: cannot remove from a stored object"},
	})
}

// Several operations and literals in one patch apply together; one that
// cannot apply fails the whole merge, whatever the order of the keys.
func TestMergeMixed(t *testing.T) {
	runMerges(t, []mergeCase{
		{stored: `{"n":1,"t":["a"],"s":"x","o":1,"gone":true}`,
			patch: `{"n":{"add":1},"t":{"union":"b"},"s":{"set_once":"y"},"o":null,"new":{"set_once":1},"lit":"v","r":{"remove":"z"},"gone":{"set":null}}`,
			want:  `{"lit":"v","n":2,"new":1,"s":"x","t":["a","b"]}`},
		{stored: `{"n":1,"t":["a"],"s":"x"}`, patch: `{"n":{"add":0},"t":{"union":"a"},"s":{"set_once":"y"},"r":{"remove":"z"},"x":null}`},
		{stored: `{"a":"x","z":"x"}`, patch: `{"a":{"set":1},"b":{"add":1},"z":{"add":1}}`, err: "attributes.z: cannot add to a stored string"},
		{stored: `{"a":"x","z":"x"}`, patch: `{"a":{"add":1},"b":{"add":1},"z":1}`, err: "attributes.a: cannot add to a stored string"},
	})
	// Merge returns the stored bytes themselves when nothing changes, and
	// works on many keys as on a few.
	stored := json.RawMessage(`{"n":1,"t":["a"]}`)
	got, changed, err := mustParse(t, `{"n":{"add":0},"t":{"union":"a"}}`).Merge(stored)
	if err != nil || changed || &got[0] != &stored[0] {
		t.Errorf("unchanged merge: %s, changed %t, err %v; want the stored bytes", got, changed, err)
	}
	big := map[string]any{}
	patch := map[string]any{}
	for i := range 40 {
		k := string(rune('a'+i%26)) + string(rune('a'+i/26))
		big[k] = float64(i)
		patch[k] = map[string]any{"add": 1.0}
	}
	raw, _ := json.Marshal(big)
	pj, _ := json.Marshal(patch)
	merged, changed, err := mustParse(t, string(pj)).Merge(raw)
	var m map[string]float64
	if err != nil || !changed || json.Unmarshal(merged, &m) != nil || len(m) != 40 || m["ab"] != 27 {
		t.Errorf("merge of 40 adds into 40 keys = %s, changed %t, err %v", merged, changed, err)
	}
}

// Create applies operations to the seed, as to a stored object; a null
// never deletes a seeded key.
func TestCreateOperations(t *testing.T) {
	seed := userdata.SeedAttributes(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	const ts = `"first_seen_at":"2025-01-02T03:04:05.000Z","last_seen_at":"2025-01-02T03:04:05.000Z"`
	for _, tt := range []struct {
		seed    json.RawMessage
		patch   string
		want    string
		wantErr string
	}{
		{seed, `{"n":{"add":3},"t":{"union":["a","b","a"]},"r":{"remove":"x"},"o":{"set_once":"v"},"s":{"set":1,"data_type":"string"}}`,
			`{` + ts + `,"n":3,"o":"v","s":1,"t":["a","b"]}`, ""},
		{seed, `{"first_seen_at":{"set_once":"2020-01-01T00:00:00Z"},"last_seen_at":null}`, `{` + ts + `}`, ""},
		{seed, `{"first_seen_at":{"set":"2020-01-01T00:00:00Z"}}`, `{"first_seen_at":"2020-01-01T00:00:00Z","last_seen_at":"2025-01-02T03:04:05.000Z"}`, ""},
		{seed, `{"last_seen_at":{"add":1}}`, "", "attributes.last_seen_at: cannot add to a stored string"},
		{seed, `{"first_seen_at":{"union":"x"}}`, "", "attributes.first_seen_at: cannot union with a stored string"},
		{nil, `{"r":{"remove":"x"},"d":null}`, `{}`, ""},
		{nil, `{"u":{"union":[]},"n":{"subtract":1}}`, `{"n":-1,"u":[]}`, ""},
	} {
		got, err := mustParse(t, tt.patch).Create(tt.seed)
		if tt.wantErr != "" {
			wantInvalid(t, "Create("+tt.patch+")", err, tt.wantErr)
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("Create(%s) on %s = %s, %v; want %s", tt.patch, tt.seed, got, err, tt.want)
		}
	}
}

// Split leaves the operations other than set to OpsJSON, which writes
// each with its operand and field.
func TestSplitAndOpsJSON(t *testing.T) {
	a := mustParse(t, `{"lit":1,"s":{"set":"2","data_type":"number"},"n":{"add":1},"m":{"subtract":2.5},"t":{"union":["a",1]},
		"p":{"prepend":"z"},"r":{"remove":"x"},"o":{"set_once":{"b":1,"a":"<&>"}},"d":null,"sn":{"set":null},"k\"é":{"add":1}}`)
	set, del, err := a.Split()
	if err != nil || string(set) != `{"lit":1,"s":"2"}` || !cmp.Equal(del, []string{"d", "sn"}) {
		t.Errorf("Split = %s, %v, %v; want {\"lit\":1,\"s\":\"2\"}, [d sn]", set, del, err)
	}
	ops, err := a.OpsJSON()
	want := `{"k\"é":{"op":"add","v":1,"f":"attributes.k\"é"},"m":{"op":"add","v":-2.5,"f":"attributes.m"},"n":{"op":"add","v":1,"f":"attributes.n"},` +
		`"o":{"op":"set_once","v":{"a":"<&>","b":1},"f":"attributes.o"},"p":{"op":"union","v":["z"],"f":"attributes.p"},` +
		`"r":{"op":"remove","v":["x"],"f":"attributes.r"},"t":{"op":"union","v":["a",1],"f":"attributes.t"}}`
	if err != nil || string(ops) != want {
		t.Errorf("OpsJSON =\n%s, %v; want\n%s", ops, err, want)
	}
	if !json.Valid(ops) {
		t.Errorf("OpsJSON is not JSON: %s", ops)
	}
	if !a.HasOps() {
		t.Error("HasOps = false with operations")
	}
	plain := mustParse(t, `{"a":1,"s":{"set":1,"data_type":"string"},"d":null}`)
	if plain.HasOps() {
		t.Error("HasOps = true for literals and a typed set")
	}
	if ops, err := plain.OpsJSON(); ops != nil || err != nil {
		t.Errorf("OpsJSON without operations = %s, %v; want nil", ops, err)
	}
	set, del, err = plain.Split()
	if err != nil || string(set) != `{"a":1,"s":1}` || !cmp.Equal(del, []string{"d"}) {
		t.Errorf("Split of literals = %s, %v, %v", set, del, err)
	}
}

// A write creates a definition for its key unless it is null or remove,
// typed by data_type, else by the operation, else by the value.
func TestDefinitionType(t *testing.T) {
	a := mustParse(t, `{"num":1,"str":"x","when":"2024-01-01T00:00:00Z","bool":true,"list":[1],"obj":{"a":1},"empty":{},
		"add":{"add":1},"sub":{"subtract":1},"union":{"union":"a"},"append":{"append":[]},"prepend":{"prepend":1},
		"once":{"set_once":"2024-01-01T00:00:00.000Z"},"oncen":{"set_once":2},"oncet":{"set_once":1,"data_type":"string"},
		"sett":{"set":"x","data_type":"list"},"setd":{"set":"x","data_type":"datetime"},"setb":{"set":1,"data_type":"boolean"},
		"null":null,"setnull":{"set":null},"remove":{"remove":"a"}}`)
	want := map[string]string{"num": "number", "str": "string", "when": "datetime", "bool": "boolean", "list": "list",
		"obj": "string", "empty": "string", "add": "number", "sub": "number", "union": "list", "append": "list", "prepend": "list",
		"once": "datetime", "oncen": "number", "oncet": "string", "sett": "list", "setd": "datetime", "setb": "boolean"}
	got := map[string]string{}
	for _, k := range a.Keys() {
		got[k] = userdata.DefinitionType(a[k]).String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("definitions created (-want +got):\n%s", diff)
	}
	for _, k := range []string{"null", "setnull", "remove"} {
		if userdata.NeedsDefinition(a[k]) {
			t.Errorf("NeedsDefinition(%s) = true", k)
		}
	}
	if got := userdata.DefinitionType(a["obj"]); got != userdata.DataTypeObject {
		t.Errorf("DefinitionType(object) = %d, want the object type", got)
	}
	if diff := cmp.Diff([]string{"oncet", "setb", "setd", "sett"}, a.TypedKeys()); diff != "" {
		t.Errorf("TypedKeys (-want +got):\n%s", diff)
	}
}

// data_type must agree with an existing definition, as the definition
// reads: the object type reads as string.
func TestCheckDefinitionType(t *testing.T) {
	a := mustParse(t, `{"s":{"set":1,"data_type":"string"},"n":{"set_once":1,"data_type":"number"},"plain":{"set":1},"add":{"add":1}}`)
	for _, tt := range []struct {
		key     string
		defined userdata.DataType
		want    string
	}{
		{"s", userdata.DataTypeString, ""},
		{"s", userdata.DataTypeObject, ""},
		{"s", userdata.DataTypeNumber, "attributes.s: data_type string does not match the defined type number"},
		{"n", userdata.DataTypeNumber, ""},
		{"n", userdata.DataTypeDatetime, "attributes.n: data_type number does not match the defined type datetime"},
		{"n", userdata.DataTypeRandomAB, "attributes.n: data_type number does not match the defined type random_ab"},
		{"plain", userdata.DataTypeString, ""},
		{"add", userdata.DataTypeString, ""},
		{"missing", userdata.DataTypeString, ""},
	} {
		err := a.CheckDefinitionType(tt.key, tt.defined)
		what := "CheckDefinitionType(" + tt.key + ", " + tt.defined.String() + ")"
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", what, err)
			}
			continue
		}
		wantInvalid(t, what, err, tt.want)
	}
}

// An Op describes itself for logs and failures.
func TestOpString(t *testing.T) {
	a := mustParse(t, `{"a":{"add":2},"s":{"set_once":"x","data_type":"string"}}`)
	for k, want := range map[string]string{"a": "{add: 2}", "s": "{set_once: x, data_type: string}"} {
		if got := a[k].(*userdata.Op).String(); got != want {
			t.Errorf("%s.String() = %q, want %q", k, got, want)
		}
	}
}
