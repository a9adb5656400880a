package userdata_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// fail marks a value Coerce must refuse.
type fail struct{}

func TestCoerce(t *testing.T) {
	const (
		str  = userdata.DataTypeString
		num  = userdata.DataTypeNumber
		boo  = userdata.DataTypeBoolean
		dt   = userdata.DataTypeDatetime
		list = userdata.DataTypeList
	)
	obj := map[string]any{"a": 1.0}
	tenth, fifth := 0.1, 0.2 // variables: constants would add exactly
	for _, tt := range []struct {
		t    userdata.DataType
		v    any
		want any // fail{} for an error
	}{
		// string: numbers as JavaScript's String(n) prints them.
		{str, "abc", "abc"},
		{str, "", ""},
		{str, "héllo 🌍", "héllo 🌍"},
		{str, "42", "42"},
		{str, 1.0, "1"},
		{str, 1.5, "1.5"},
		{str, -7.0, "-7"},
		{str, math.Copysign(0, -1), "0"},
		{str, tenth + fifth, "0.30000000000000004"},
		{str, 1e20, "100000000000000000000"},
		{str, 123456789012345678901.0, "123456789012345680000"},
		{str, 1e21, "1e+21"},
		{str, 1.5e300, "1.5e+300"},
		{str, 0.000001, "0.000001"},
		{str, 1.5e-7, "1.5e-7"},
		{str, -1e-7, "-1e-7"},
		{str, math.MaxFloat64, "1.7976931348623157e+308"},
		{str, 5e-324, "5e-324"},
		{str, json.Number("1.50"), "1.5"},
		{str, json.Number("12"), "12"},
		{str, true, "true"},
		{str, false, "false"},
		{str, math.NaN(), fail{}},
		{str, math.Inf(1), fail{}},
		{str, []any{"a"}, fail{}},
		{str, []any{}, fail{}},
		{str, obj, fail{}},

		// number: a string that prints back identically.
		{num, 42.0, 42.0},
		{num, -1.5, -1.5},
		{num, json.Number("12"), json.Number("12")},
		{num, "42", 42.0},
		{num, "0", 0.0},
		{num, "-7", -7.0},
		{num, "1.5", 1.5},
		{num, "0.30000000000000004", tenth + fifth},
		{num, "1e+21", 1e21},
		{num, "1.5e-7", 1.5e-7},
		{num, "123456789012345680000", 123456789012345680000.0},
		{num, "1.7976931348623157e+308", math.MaxFloat64},
		{num, "042", fail{}},
		{num, "1.50", fail{}},
		{num, "1.", fail{}},
		{num, ".5", fail{}},
		{num, "+1", fail{}},
		{num, " 1", fail{}},
		{num, "1 ", fail{}},
		{num, "1e3", fail{}},
		{num, "1E+21", fail{}},
		{num, "1e21", fail{}},
		{num, "-0", fail{}},
		{num, "", fail{}},
		{num, "NaN", fail{}},
		{num, "Infinity", fail{}},
		{num, "-Infinity", fail{}},
		{num, "inf", fail{}},
		{num, "1e400", fail{}},
		{num, "0x10", fail{}},
		{num, "1_000", fail{}},
		{num, "12345678901234567890", fail{}}, // Number() rounds it to ...7000
		{num, "١٢", fail{}},                   // Arabic-Indic digits
		{num, "abc", fail{}},
		{num, math.NaN(), fail{}},
		{num, true, fail{}},
		{num, []any{1.0}, fail{}},
		{num, obj, fail{}},

		// boolean
		{boo, true, true},
		{boo, false, false},
		{boo, "true", true},
		{boo, "false", false},
		{boo, "True", fail{}},
		{boo, "TRUE", fail{}},
		{boo, " true", fail{}},
		{boo, "1", fail{}},
		{boo, "", fail{}},
		{boo, 1.0, fail{}},
		{boo, 0.0, fail{}},
		{boo, []any{true}, fail{}},
		{boo, obj, fail{}},

		// datetime: any RFC 3339 instant, stored in UTC with milliseconds.
		{dt, "2024-01-31T09:30:00.000Z", "2024-01-31T09:30:00.000Z"},
		{dt, "2024-01-31T09:30:00Z", "2024-01-31T09:30:00.000Z"},
		{dt, "2024-01-31T10:30:00+01:00", "2024-01-31T09:30:00.000Z"},
		{dt, "2024-02-29T23:30:00-05:00", "2024-03-01T04:30:00.000Z"},
		{dt, "2024-01-31T09:30:00-00:00", "2024-01-31T09:30:00.000Z"},
		{dt, "2024-01-31T09:30:00.5Z", "2024-01-31T09:30:00.500Z"},
		{dt, "2024-01-31T09:30:00.123456789+05:30", "2024-01-31T04:00:00.123Z"},
		{dt, "2024-01-31T09:30:00.9999999999Z", "2024-01-31T09:30:00.999Z"},
		{dt, "0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"},
		{dt, "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"},
		{dt, "2024-01-31", fail{}},
		{dt, "2024-01-31T09:30:00", fail{}},
		{dt, "2024-01-31T09:30Z", fail{}},
		{dt, "2024-01-31 09:30:00Z", fail{}},
		{dt, "2024-01-31t09:30:00z", fail{}},
		{dt, "2024-01-31T9:30:00Z", fail{}},
		{dt, "2024-01-31T09:30:00.Z", fail{}},
		{dt, "2024-01-31T09:30:00,5Z", fail{}},
		{dt, "2024-01-31T09:30:00+0100", fail{}},
		{dt, "2024-01-31T09:30:00+01", fail{}},
		{dt, "2024-01-31T09:30:00+24:00", fail{}},
		{dt, "2024-01-31T09:30:00+01:60", fail{}},
		{dt, "2024-01-31T09:30:00+23:59", "2024-01-30T09:31:00.000Z"},
		{dt, "2023-02-29T00:00:00Z", fail{}},
		{dt, "2024-01-31T24:00:00Z", fail{}},
		{dt, "2024-12-31T23:59:60Z", fail{}},
		{dt, "0000-01-01T00:00:00+01:00", fail{}}, // year -1 in UTC
		{dt, "9999-12-31T23:00:00-05:00", fail{}}, // year 10000 in UTC
		{dt, "+002024-01-31T09:30:00Z", fail{}},
		{dt, "2024-01-31T09:30:00Z ", fail{}},
		{dt, "", fail{}},
		{dt, 1706693400000.0, fail{}},
		{dt, true, fail{}},
		{dt, []any{"2024-01-31T09:30:00Z"}, fail{}},

		// list: a scalar becomes a one-element list; lists stay as they are.
		{list, "a", []any{"a"}},
		{list, "", []any{""}},
		{list, 1.0, []any{1.0}},
		{list, json.Number("1"), []any{json.Number("1")}},
		{list, false, []any{false}},
		{list, []any{}, []any{}},
		{list, []any{[]any{1.0}, obj, nil}, []any{[]any{1.0}, obj, nil}},
		{list, obj, fail{}},
		{list, math.Inf(-1), fail{}},

		// Types that take anything.
		{userdata.DataTypeObject, obj, obj},
		{userdata.DataTypeObject, "x", "x"},
		{userdata.DataTypeRandomAB, 1.0, 1.0},
		{userdata.DataTypeRandomNumber, []any{"x"}, []any{"x"}},
		{userdata.DataType(99), "x", "x"},
		{userdata.DataType(-1), true, true},
	} {
		name := fmt.Sprintf("Coerce(%#v, %s)", tt.v, tt.t)
		got, err := userdata.Coerce("attributes.k", tt.v, tt.t)
		if _, refused := tt.want.(fail); refused {
			if err == nil {
				t.Errorf("%s = %#v, want an error", name, got)
				continue
			}
			checkMismatch(t, name, err, "attributes.k", tt.t)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !cmp.Equal(got, tt.want) {
			t.Errorf("%s = %#v, want %#v", name, got, tt.want)
		}
		if f, ok := got.(float64); ok && math.Signbit(f) != math.Signbit(tt.want.(float64)) {
			t.Errorf("%s = %v, want %v", name, got, tt.want)
		}
	}
}

// checkMismatch fails unless err is the mismatch error of field and t.
func checkMismatch(t *testing.T, what string, err error, field string, dt userdata.DataType) {
	t.Helper()
	msg := message(err)
	want := "Attribute value type mismatch: " + field + " must be a " + dt.String() + ", the type of its definition, not "
	if userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.HasPrefix(msg, want) {
		t.Errorf("%s: error %v, want CodeInvalid beginning %q", what, err, want)
	}
}

// nil (a removal) and operations other than set and set_once are never
// converted; set and set_once convert their operand, in a copy, unless
// their data_type is another type.
func TestCoerceOperations(t *testing.T) {
	for _, dt := range []userdata.DataType{userdata.DataTypeString, userdata.DataTypeNumber, userdata.DataTypeBoolean,
		userdata.DataTypeDatetime, userdata.DataTypeList, userdata.DataTypeObject} {
		if got, err := userdata.Coerce("attributes.k", nil, dt); got != nil || err != nil {
			t.Errorf("Coerce(nil, %s) = %v, %v; want nil", dt, got, err)
		}
	}
	for _, tt := range []struct {
		in   *userdata.Op
		dt   userdata.DataType
		want *userdata.Op // nil for an error
	}{
		{op("k", userdata.OpSet, "42"), userdata.DataTypeNumber, op("k", userdata.OpSet, 42.0)},
		{op("k", userdata.OpSetOnce, 42.0), userdata.DataTypeString, op("k", userdata.OpSetOnce, "42")},
		{op("k", userdata.OpSetOnce, "x"), userdata.DataTypeList, op("k", userdata.OpSetOnce, []any{"x"})},
		{op("k", userdata.OpSetOnce, "x"), userdata.DataTypeNumber, nil},
		{op("k", userdata.OpSet, map[string]any{}), userdata.DataTypeBoolean, nil},
		// With the data_type of the definition, the operand converts too.
		{typed("k", userdata.OpSet, "42", userdata.DataTypeNumber), userdata.DataTypeNumber,
			typed("k", userdata.OpSet, 42.0, userdata.DataTypeNumber)},
		{typed("k", userdata.OpSetOnce, "x", userdata.DataTypeNumber), userdata.DataTypeNumber, nil},
		{typed("k", userdata.OpSet, map[string]any{}, userdata.DataTypeString), userdata.DataTypeObject,
			typed("k", userdata.OpSet, map[string]any{}, userdata.DataTypeString)},
		// With another, CheckDefinitionType refuses the write.
		{typed("k", userdata.OpSet, "x", userdata.DataTypeString), userdata.DataTypeNumber,
			typed("k", userdata.OpSet, "x", userdata.DataTypeString)},
		{typed("k", userdata.OpSet, 1.0, userdata.DataTypeNumber), userdata.DataTypeDatetime,
			typed("k", userdata.OpSet, 1.0, userdata.DataTypeNumber)},
		// Other operations apply to what is stored, as they are.
		{op("k", userdata.OpAdd, 1.0), userdata.DataTypeString, op("k", userdata.OpAdd, 1.0)},
		{op("k", userdata.OpUnion, []any{"a", 1.0}), userdata.DataTypeNumber, op("k", userdata.OpUnion, []any{"a", 1.0})},
		{op("k", userdata.OpRemove, []any{true}), userdata.DataTypeBoolean, op("k", userdata.OpRemove, []any{true})},
	} {
		before := *tt.in
		got, err := userdata.Coerce("attributes.k", tt.in, tt.dt)
		name := fmt.Sprintf("Coerce(%v, %s)", tt.in, tt.dt)
		switch {
		case tt.want == nil:
			if err == nil {
				t.Errorf("%s = %v, want an error", name, got)
			} else {
				checkMismatch(t, name, err, "attributes.k", tt.dt)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		default:
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		}
		if diff := cmp.Diff(&before, tt.in); diff != "" {
			t.Errorf("%s changed its operand (-before +after):\n%s", name, diff)
		}
	}
}

// The message names the field, the type and a short value, and quotes no
// long value.
func TestCoerceMessage(t *testing.T) {
	for _, tt := range []struct {
		v    any
		dt   userdata.DataType
		want string
	}{
		{"042", userdata.DataTypeNumber, `Attribute value type mismatch: attributes.plan must be a number, the type of its definition, not the string "042" (a string converts only if it is a number written as JavaScript prints it, such as "42" or "-1.5")`},
		{1.5, userdata.DataTypeBoolean, `Attribute value type mismatch: attributes.plan must be a boolean, the type of its definition, not the number 1.5 (a string converts only if it is "true" or "false")`},
		{"2024-01-31", userdata.DataTypeDatetime, `Attribute value type mismatch: attributes.plan must be a datetime, the type of its definition, not the string "2024-01-31" (a datetime is a string holding an ISO-8601 date and time with Z or an offset, such as 2024-01-31T09:30:00.000Z)`},
		{map[string]any{"a": 1.0}, userdata.DataTypeList, `Attribute value type mismatch: attributes.plan must be a list, the type of its definition, not an object (a string, number or boolean converts to a list of that one element)`},
		{[]any{"a"}, userdata.DataTypeString, `Attribute value type mismatch: attributes.plan must be a string, the type of its definition, not a list (a number or a boolean converts to a string)`},
		{true, userdata.DataTypeNumber, `Attribute value type mismatch: attributes.plan must be a number, the type of its definition, not the boolean true (a string converts only if it is a number written as JavaScript prints it, such as "42" or "-1.5")`},
		{"\"é\n" + strings.Repeat("x", 37), userdata.DataTypeBoolean, `Attribute value type mismatch: attributes.plan must be a boolean, the type of its definition, not the string "\"é\n` + strings.Repeat("x", 37) + `" (a string converts only if it is "true" or "false")`},
		{strings.Repeat("é", 41), userdata.DataTypeBoolean, `Attribute value type mismatch: attributes.plan must be a boolean, the type of its definition, not a string of 41 characters (a string converts only if it is "true" or "false")`},
		{op("plan", userdata.OpSetOnce, "x"), userdata.DataTypeNumber, `Attribute value type mismatch: attributes.plan must be a number, the type of its definition, not the string "x" (a string converts only if it is a number written as JavaScript prints it, such as "42" or "-1.5")`},
	} {
		_, err := userdata.Coerce("attributes.plan", tt.v, tt.dt)
		if got := message(err); got != tt.want || userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("Coerce(%#v, %s): error %v\nwant message %s", tt.v, tt.dt, err, tt.want)
		}
	}
	long := strings.Repeat("1", 10000)
	_, err := userdata.Coerce("attributes.plan", long, userdata.DataTypeNumber)
	if msg := message(err); strings.Contains(msg, "1111") || len(msg) > 300 {
		t.Errorf("the message quotes a long value: %s", msg)
	}
}

// Attributes.Coerce converts the keys with a type, in place, and reports
// the first key that cannot convert in byte order, whatever the map's.
func TestAttributesCoerce(t *testing.T) {
	a := userdata.Attributes{"plan": "42", "name": 7.0, "free": "x", "gone": nil, "tags": "a",
		"once": op("once", userdata.OpSetOnce, true), "n": op("n", userdata.OpAdd, 1.0)}
	types := map[string]userdata.DataType{"plan": userdata.DataTypeNumber, "name": userdata.DataTypeString,
		"gone": userdata.DataTypeNumber, "tags": userdata.DataTypeList, "once": userdata.DataTypeString,
		"n": userdata.DataTypeNumber, "undefined": userdata.DataTypeBoolean}
	if err := a.Coerce("attributes", types); err != nil {
		t.Fatal(err)
	}
	want := userdata.Attributes{"plan": 42.0, "name": "7", "free": "x", "gone": nil, "tags": []any{"a"},
		"once": op("once", userdata.OpSetOnce, "true"), "n": op("n", userdata.OpAdd, 1.0)}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("Coerce (-want +got):\n%s", diff)
	}
	if err := a.Coerce("attributes", nil); err != nil || !cmp.Equal(want, a) {
		t.Errorf("Coerce without types: %v, %v", a, err)
	}
	for range 20 {
		a := userdata.Attributes{"c": "z", "b": "1", "a": "y", "d": "w"}
		err := a.Coerce("companies[0].attributes", map[string]userdata.DataType{
			"a": userdata.DataTypeNumber, "b": userdata.DataTypeNumber, "c": userdata.DataTypeBoolean})
		checkMismatch(t, "Coerce", err, "companies[0].attributes.a", userdata.DataTypeNumber)
		if msg := message(err); !strings.Contains(msg, `"y"`) {
			t.Errorf("the error names another value: %s", msg)
		}
	}
}

// message is the client-facing message of err, or "" when it is not an
// *userdata.Error.
func message(err error) string {
	var e *userdata.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
