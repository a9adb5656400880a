package userdata

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// field is one member of a JSON object: its key and its value as raw JSON.
type field struct {
	key   string
	value []byte
}

// Member is one member of a JSON object, as SplitObject returns it.
type Member = field

// Key returns the member's key.
func (f field) Key() string { return f.key }

// Value returns the member's value as raw JSON.
func (f field) Value() []byte { return f.value }

// SplitObject returns the members of the JSON object raw, in order, with
// values as subslices of raw. raw must be valid JSON (json.Valid); what is
// not an object is an error.
func SplitObject(raw []byte) ([]Member, error) { return splitObject(raw) }

// AppendString appends s as a JSON string, as encoding/json writes it
// without HTML escaping.
func AppendString(buf []byte, s string) []byte { return appendString(buf, s) }

// DecodeAttributes decodes a JSON object (valid JSON, per json.Valid) into
// Attributes, with the values encoding/json would give, faster.
func DecodeAttributes(raw []byte) (Attributes, error) {
	fields, err := splitObject(raw)
	if err != nil {
		return nil, err
	}
	a := make(Attributes, len(fields))
	for _, f := range fields {
		if a[f.key], err = decodeValue(f.value); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// decodeValue decodes one JSON value as encoding/json does into an any,
// with fast paths for plain strings and scalars.
func decodeValue(raw []byte) (any, error) {
	switch c := raw[0]; {
	case c == '"':
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner), nil
		}
	case c == 't' || c == 'f':
		return c == 't', nil
	case c == 'n':
		return nil, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return strconv.ParseFloat(string(raw), 64)
	}
	var v any
	err := json.Unmarshal(raw, &v)
	return v, err
}

var errNotObject = errors.New("attributes are not a JSON object")

// splitObject returns the members of a JSON object in order, with values
// as subslices of raw. It is the hot path of every merge, so it scans the
// text instead of decoding it; keys with escapes go through
// encoding/json.
func splitObject(raw []byte) ([]field, error) {
	p := skipSpace(raw, 0)
	if p >= len(raw) || raw[p] != '{' {
		return nil, errNotObject
	}
	fields := make([]field, 0, 8)
	p = skipSpace(raw, p+1)
	if p < len(raw) && raw[p] == '}' {
		return fields, nil
	}
	for {
		if p >= len(raw) || raw[p] != '"' {
			return nil, errNotObject
		}
		end, err := stringEnd(raw, p)
		if err != nil {
			return nil, err
		}
		key, err := decodeKey(raw[p:end])
		if err != nil {
			return nil, err
		}
		p = skipSpace(raw, end)
		if p >= len(raw) || raw[p] != ':' {
			return nil, errNotObject
		}
		start := skipSpace(raw, p+1)
		if end, err = valueEnd(raw, start); err != nil {
			return nil, err
		}
		fields = append(fields, field{key, raw[start:end]})
		p = skipSpace(raw, end)
		if p < len(raw) && raw[p] == ',' {
			p = skipSpace(raw, p+1)
			continue
		}
		if p < len(raw) && raw[p] == '}' {
			return fields, nil
		}
		return nil, errNotObject
	}
}

func skipSpace(b []byte, p int) int {
	for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
		p++
	}
	return p
}

// stringEnd returns the index just past the string that starts at p.
func stringEnd(b []byte, p int) (int, error) {
	for i := p + 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errNotObject
}

// valueEnd returns the index just past the value that starts at p.
func valueEnd(b []byte, p int) (int, error) {
	if p >= len(b) {
		return 0, errNotObject
	}
	switch b[p] {
	case '"':
		return stringEnd(b, p)
	case '{', '[':
		depth := 0
		for i := p; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, err := stringEnd(b, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errNotObject
	}
	i := p
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	if i == p {
		return 0, errNotObject
	}
	return i, nil
}

// decodeKey unquotes a JSON string.
func decodeKey(quoted []byte) (string, error) {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(quoted, &s)
	return s, err
}

// appendObject writes fields as a compact JSON object, keys sorted.
func appendObject(buf []byte, fields []field) []byte {
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.key, b.key) })
	buf = append(buf, '{')
	for i, f := range fields {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, f.key)
		buf = append(buf, ':')
		buf = append(buf, f.value...)
	}
	return append(buf, '}')
}

// appendString writes s as a JSON string, as encoding/json would without
// HTML escaping.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b, _ := marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendValue writes an attribute value as stored: numbers as doubles,
// formatted as JavaScript's JSON.stringify does (so -0 is 0), strings as
// sent, object keys sorted.
func appendValue(buf []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case string:
		return appendString(buf, v), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case nil:
		return append(buf, "null"...), nil
	case float64:
		if abs := math.Abs(v); v == math.Trunc(v) && abs < 1e21 {
			return strconv.AppendFloat(buf, v+0, 'f', -1, 64), nil // v+0: -0 is 0
		}
	case map[string]any:
		buf = append(buf, '{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(appendString(buf, k), ':')
			if buf, err = appendValue(buf, v[k]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case []any:
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = appendValue(buf, e); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	b, err := marshal(v)
	return append(buf, b...), err
}

// StringAttribute returns the value of key in a stored attribute object
// when it is a JSON string.
func StringAttribute(attrs json.RawMessage, key string) (string, bool) {
	fields, err := splitObject(attrs)
	if err != nil {
		return "", false
	}
	for _, f := range fields {
		if f.key == key && len(f.value) > 0 && f.value[0] == '"' {
			var s string
			if json.Unmarshal(f.value, &s) == nil {
				return s, true
			}
		}
	}
	return "", false
}
