package userdata

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Coerce converts v, an attribute value as DecodeAttributes and
// ParseOperations make it (string, float64 or json.Number, bool, []any,
// map[string]any, *Op, or nil), to data type t where no information is
// lost, as v2 does with the values it writes (operations.md §3):
//   - string: a number becomes the string JavaScript's String(n) prints
//     (1, 1.5, 1e+21; -0 is "0"), a boolean "true" or "false";
//   - number: a string that reads as a number and prints back identically
//     (String(Number(s)) === s in JavaScript: "42" and "1.5", not "042",
//     "1.50", " 1", "1e3", "-0", "NaN" nor "Infinity") becomes that number;
//   - boolean: the string "true" or "false" becomes the boolean;
//   - datetime: a string holding an RFC 3339 date-time, the ISO-8601 profile
//     with seconds and Z or an offset (2024-01-31T10:30:00+01:00,
//     2024-01-31T09:30:00.123456Z), becomes the instant in the one stored
//     form, UTC with milliseconds (2024-01-31T09:30:00.000Z, FormatTime:
//     digits past the millisecond are dropped); a date alone, a date-time
//     without a time zone, a number (of seconds or milliseconds) and any
//     other string are refused;
//   - list: a string, number or boolean becomes a one-element list.
//
// A value of the type itself is kept as it is (a list whatever its
// elements), except a datetime string, which takes the stored form.
// Objects and lists convert to no other type. Any value is kept for the
// object type of a definition an object created, the random types and
// unknown types. nil (a removal) is kept, and so are operations, except
// set and set_once, whose operand is converted (in a copy of the *Op); a
// set or set_once with a data_type other than t is kept too, for
// CheckDefinitionType to refuse.
//
// A value that cannot be converted is a CodeInvalid error whose message
// begins "Attribute value type mismatch: " and names field (such as
// attributes.plan), the type and the value when it is short.
func Coerce(field string, v any, t DataType) (any, error) {
	out, ok := coerce(v, t)
	if !ok {
		return nil, mismatch(field, v, t)
	}
	return out, nil
}

// Coerce converts in place, as Coerce does, the value of every key of a
// that types gives a data type (the types of the keys' definitions);
// field names a in messages (attributes). It returns the error of the
// first key, in byte order, whose value cannot be converted; a may then
// be partly converted, and must not be written.
func (a Attributes) Coerce(field string, types map[string]DataType) error {
	if len(types) == 0 {
		return nil
	}
	var failedKey string
	failed := false
	for k, v := range a {
		t, ok := types[k]
		if !ok {
			continue
		}
		out, ok := coerce(v, t)
		if !ok {
			if !failed || k < failedKey {
				failed, failedKey = true, k
			}
			continue
		}
		a[k] = out
	}
	if failed {
		return mismatch(field+"."+failedKey, a[failedKey], types[failedKey])
	}
	return nil
}

// coerce converts v to t, or reports that it cannot.
func coerce(v any, t DataType) (any, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case *Op:
		return coerceOp(v, t)
	}
	switch t {
	case DataTypeString:
		switch v := v.(type) {
		case string:
			return v, true
		case bool:
			return strconv.FormatBool(v), true
		case float64:
			return formatNumber(v)
		case json.Number:
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				return formatNumber(f)
			}
		}
	case DataTypeNumber:
		switch v := v.(type) {
		case float64:
			return v, finite(v)
		case json.Number:
			return v, true
		case string:
			return parseNumber(v)
		}
	case DataTypeBoolean:
		switch v := v.(type) {
		case bool:
			return v, true
		case string:
			if v == "true" || v == "false" {
				return v == "true", true
			}
		}
	case DataTypeDatetime:
		if s, ok := v.(string); ok {
			if at, ok := parseInstant(s); ok {
				return FormatTime(at), true
			}
		}
	case DataTypeList:
		switch v := v.(type) {
		case []any:
			return v, true
		case string, bool, json.Number:
			return []any{v}, true
		case float64:
			return []any{v}, finite(v)
		}
	default: // object, random and unknown types take anything
		return v, true
	}
	return nil, false
}

// coerceOp converts the operand of a set or set_once, in a copy of op.
func coerceOp(op *Op, t DataType) (any, bool) {
	if (op.Kind != OpSet && op.Kind != OpSetOnce) || (op.HasType && op.DataType.String() != t.String()) {
		return op, true
	}
	v, ok := coerce(op.Value, t)
	if !ok {
		return nil, false
	}
	c := *op
	c.Value = v
	return &c, true
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// formatNumber returns f as JavaScript's String(f) prints it, as
// appendValue stores numbers (JSON.stringify's form, the same for finite
// numbers); false for NaN and infinities, which JSON cannot hold.
func formatNumber(f float64) (any, bool) {
	if !finite(f) {
		return nil, false
	}
	b, err := appendValue(nil, f)
	return string(b), err == nil
}

// parseNumber returns the number s is exactly as JavaScript prints it:
// Number(s), if it is finite and String(Number(s)) === s. What Go's
// ParseFloat reads beyond JavaScript's syntax (hexadecimal, "inf") never
// prints back identically, and the two read every decimal string that
// does alike, both rounding to the nearest double.
func parseNumber(s string) (any, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(f) {
		return nil, false
	}
	if back, ok := formatNumber(f); !ok || back != s {
		return nil, false
	}
	return f, true
}

// parseInstant reads an RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, an
// optional fraction of a second, then Z or ±HH:MM, upper case, naming a
// real calendar instant whose UTC year has four digits (as the stored form
// needs). It is stricter than time.Parse, which also takes one-digit
// hours, a comma before the fraction or an offset of 24 hours, with
// RFC3339's layout.
func parseInstant(s string) (time.Time, bool) {
	const layout = "0000-00-00T00:00:00"
	if len(s) < len(layout)+1 {
		return time.Time{}, false
	}
	for i := 0; i < len(layout); i++ {
		if c, l := s[i], layout[i]; l == '0' && (c < '0' || c > '9') || l != '0' && c != l {
			return time.Time{}, false
		}
	}
	rest := s[len(layout):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		rest = rest[n:]
	}
	switch {
	case rest == "Z":
	case len(rest) == len("+00:00") && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		isDigits(rest[1:3]) && rest[1:3] <= "23" && isDigits(rest[4:]) && rest[4:] <= "59":
	default:
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	at = at.UTC()
	return at, at.Year() >= 0 && at.Year() <= 9999
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// maxQuoted bounds, in characters, the strings a mismatch error quotes.
// JSON quoting may not make them longer than 4 bytes a character.
const maxQuoted = 40

// mismatch is the error of a value v of field that cannot be converted to
// the data type t of its definition.
func mismatch(field string, v any, t DataType) error {
	return Errorf(CodeInvalid, "Attribute value type mismatch: %s must be a %s, the type of its definition, not %s (%s)",
		field, t, describeValue(v), coercionHint[t])
}

// describeValue names v for a mismatch error, quoting it when it is a
// short scalar.
func describeValue(v any) string {
	switch v := v.(type) {
	case *Op:
		return describeValue(v.Value)
	case string:
		// At most 4 bytes a character, as UTF-8 gives: not \u escapes.
		n := utf8.RuneCountInString(v)
		if q := appendString(nil, v); n <= maxQuoted && len(q) <= 2+4*maxQuoted {
			return "the string " + string(q)
		}
		return "a string of " + strconv.Itoa(n) + " characters"
	case bool:
		return "the boolean " + strconv.FormatBool(v)
	case float64:
		if s, ok := formatNumber(v); ok {
			return "the number " + s.(string)
		}
	case json.Number:
		if len(v) <= maxQuoted {
			return "the number " + string(v)
		}
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "a value of another type"
}

// coercionHint says, in a mismatch error, what converts to each type.
var coercionHint = map[DataType]string{
	DataTypeString:   "a number or a boolean converts to a string",
	DataTypeNumber:   `a string converts only if it is a number written as JavaScript prints it, such as "42" or "-1.5"`,
	DataTypeBoolean:  `a string converts only if it is "true" or "false"`,
	DataTypeDatetime: "a datetime is a string holding an ISO-8601 date and time with Z or an offset, such as 2024-01-31T09:30:00.000Z",
	DataTypeList:     "a string, number or boolean converts to a list of that one element",
}
