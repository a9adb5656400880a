package userdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
	"unicode"
	"unicode/utf8"
)

// Scope says what an attribute definition describes. The values are the
// storage codes of the contract (§6.5).
type Scope int

// The attribute scopes.
const (
	ScopeUser       Scope = 1
	ScopeCompany    Scope = 2
	ScopeMembership Scope = 3
	ScopeEvent      Scope = 4
)

var scopeNames = map[Scope]string{
	ScopeUser:       "user",
	ScopeCompany:    "company",
	ScopeMembership: "companyMembership",
	ScopeEvent:      "eventDefinition",
}

// String returns the scope's wire name.
func (s Scope) String() string { return scopeNames[s] }

// ParseScope maps a wire name to a scope. It returns false for unknown names.
func ParseScope(name string) (Scope, bool) {
	for s, n := range scopeNames {
		if n == name {
			return s, true
		}
	}
	return 0, false
}

// DataType is an attribute definition's type. The values are the storage
// codes of the contract (§6.5); DataTypeObject is the internal "nil" type
// created for object values.
type DataType int

// The data types.
const (
	DataTypeObject       DataType = 0
	DataTypeNumber       DataType = 1
	DataTypeString       DataType = 2
	DataTypeBoolean      DataType = 3
	DataTypeList         DataType = 4
	DataTypeDatetime     DataType = 5
	DataTypeRandomAB     DataType = 6
	DataTypeRandomNumber DataType = 7
)

var dataTypeNames = [...]string{"string", "number", "string", "boolean", "list", "datetime", "random_ab", "random_number"}

// String returns the wire name; the internal object type reads as "string".
func (d DataType) String() string {
	if d < 0 || int(d) >= len(dataTypeNames) {
		return "string"
	}
	return dataTypeNames[d]
}

// ParseDataType maps a wire name to a data type.
func ParseDataType(name string) (DataType, bool) {
	for i, n := range dataTypeNames {
		if i > 0 && n == name {
			return DataType(i), true
		}
	}
	return 0, false
}

// InferDataType returns the type a new definition gets from its first value
// (§8.3). v is a value as decoded by encoding/json; nil has no type and must
// not be passed.
func InferDataType(v any) DataType {
	switch v := v.(type) {
	case float64, json.Number:
		return DataTypeNumber
	case bool:
		return DataTypeBoolean
	case []any:
		return DataTypeList
	case string:
		if IsDatetime(v) {
			return DataTypeDatetime
		}
		return DataTypeString
	}
	return DataTypeObject
}

// IsDatetime reports whether s is a strict ISO-8601 UTC instant of the form
// 2006-01-02T15:04:05Z or 2006-01-02T15:04:05.000Z that names a real
// calendar instant.
func IsDatetime(s string) bool {
	var layout string
	switch len(s) {
	case len("2006-01-02T15:04:05Z"):
		layout = "2006-01-02T15:04:05Z"
	case len("2006-01-02T15:04:05.000Z"):
		if s[19] != '.' {
			return false
		}
		layout = "2006-01-02T15:04:05.000Z"
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		c, l := s[i], layout[i]
		if l >= '0' && l <= '9' {
			if c < '0' || c > '9' {
				return false
			}
		} else if c != l {
			return false
		}
	}
	t, err := time.Parse(layout, s)
	return err == nil && t.Format(layout) == s
}

// MaxCachedDefinitions bounds how many known definitions a store
// remembers (to skip inserting them again); past it, it forgets them all
// and relearns. Tests lower it.
var MaxCachedDefinitions = 100000

// DisplayName is the display name of an auto-created attribute definition
// of scope: event attributes are title-cased word by word (§15.4), the
// others get DefaultDisplayName (§8.2).
func DisplayName(scope Scope, codeName string) string {
	if scope == ScopeEvent {
		return EventDisplayName(codeName)
	}
	return DefaultDisplayName(codeName)
}

// DefaultDisplayName is the display name of an auto-created user, company
// or membership attribute: the codeName with its first character uppercased.
func DefaultDisplayName(codeName string) string {
	r, n := utf8.DecodeRuneInString(codeName)
	if n == 0 {
		return codeName
	}
	return string(unicode.ToUpper(r)) + codeName[n:]
}

// Attributes is an attribute map as sent by a client: values as decoded by
// encoding/json, where nil means "delete this key".
type Attributes map[string]any

// Keys returns the keys that need a definition (NeedsDefinition), sorted.
func (a Attributes) Keys() []string {
	keys := make([]string, 0, len(a))
	for k, v := range a {
		if NeedsDefinition(v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Merge returns stored overlaid with a (§8.1): keys in a with a null value
// are removed, operations (*Op) apply to the stored value of their key,
// other keys replace the stored value, keys not in a are kept. It reports
// whether anything changed; an operation that cannot apply to the stored
// value is a CodeInvalid error.
func (a Attributes) Merge(stored json.RawMessage) (json.RawMessage, bool, error) {
	return a.overlay(stored, true, nil)
}

// MergeChange is Merge that also returns, when something changed, the
// previous attributes of the change (PreviousAttributes of stored and the
// merge), found on the way.
func (a Attributes) MergeChange(stored json.RawMessage) (merged, previous json.RawMessage, changed bool, err error) {
	var prev []field
	merged, changed, err = a.overlay(stored, true, &prev)
	if changed {
		previous = appendObject(make([]byte, 0, 64), prev)
	}
	return merged, previous, changed, err
}

// Create returns the attributes of a new entity: seed (nil for none)
// overlaid with the non-null values of a, operations applying as to
// missing keys (or to the seeded ones). A null never deletes a seeded key.
func (a Attributes) Create(seed json.RawMessage) (json.RawMessage, error) {
	out, _, err := a.overlay(seed, false, nil)
	if len(out) == 0 {
		out = json.RawMessage("{}")
	}
	return out, err
}

// fieldFinder returns a function that finds a key among the stored fields
// (-1 when absent): a scan for the usual handful of attributes, a map for
// large objects, so that merging n keys into m costs O(n+m), not O(n·m).
// Only the stored fields are searched: the keys of an Attributes map are
// distinct, so a field the merge appends is never looked up again.
func fieldFinder(stored []field) func(string) int {
	if len(stored) <= 16 {
		return func(k string) int {
			return slices.IndexFunc(stored, func(f field) bool { return f.key == k })
		}
	}
	index := make(map[string]int, len(stored))
	for i, f := range stored {
		index[f.key] = i
	}
	return func(k string) int {
		if i, ok := index[k]; ok {
			return i
		}
		return -1
	}
}

// overlay is Merge (deleteNulls) or Create. With prev, it appends to
// *prev the stored fields it changes or removes, with their stored
// values.
func (a Attributes) overlay(stored json.RawMessage, deleteNulls bool, prev *[]field) (json.RawMessage, bool, error) {
	fields := []field{}
	if len(stored) > 0 {
		var err error
		if fields, err = splitObject(stored); err != nil {
			return nil, false, fmt.Errorf("decode stored attributes: %w", err)
		}
	}
	changed := false
	var vbuf []byte
	// failed is the error of the first key, in order, whose operation
	// cannot apply: the one reported, whatever the map's order.
	var failed error
	var failedKey string
	find := fieldFinder(slices.Clip(fields))
	for k, v := range a {
		i := find(k)
		if v == nil {
			if i >= 0 && deleteNulls {
				if prev != nil {
					*prev = append(*prev, fields[i])
				}
				fields[i].value = nil // removed below
				changed = true
			}
			continue
		}
		start := len(vbuf)
		var err error
		if op, ok := v.(*Op); ok {
			var stored []byte
			if i >= 0 {
				stored = fields[i].value
			}
			var out []byte
			if out, err = op.apply(vbuf, stored); err != nil {
				if failed == nil || k < failedKey {
					failed, failedKey = err, k
				}
				continue
			}
			if vbuf = out; len(vbuf) == start { // remove of a missing key
				continue
			}
		} else if vbuf, err = appendValue(vbuf, v); err != nil {
			return nil, false, err
		}
		b := vbuf[start:len(vbuf):len(vbuf)]
		switch {
		case i < 0:
			fields = append(fields, field{k, b})
			changed = true
		case !bytes.Equal(fields[i].value, b):
			if prev != nil {
				*prev = append(*prev, fields[i])
			}
			fields[i].value = b
			changed = true
		}
	}
	if failed != nil {
		return nil, false, failed
	}
	fields = slices.DeleteFunc(fields, func(f field) bool { return f.value == nil })
	if !changed && len(stored) > 0 {
		return stored, false, nil
	}
	return appendObject(make([]byte, 0, len(stored)+len(vbuf)+16), fields), changed, nil
}

// Split returns the non-null values as one JSON object and the keys to
// delete, for backends that merge in SQL.
//
// set holds the literal values and sets; the other operations are left to
// OpsJSON.
func (a Attributes) Split() (set json.RawMessage, del []string, err error) {
	for k, v := range a {
		if v == nil {
			del = append(del, k)
		}
	}
	sort.Strings(del)
	lit := a
	if a.HasOps() {
		lit = make(Attributes, len(a))
		for k, v := range a {
			if op, ok := v.(*Op); !ok || op.Kind == OpSet {
				lit[k] = v
			}
		}
	}
	set, err = lit.Create(nil)
	return set, del, err
}

func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode attributes: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// SeedAttributes returns the attributes every new user and company starts
// with (§8.5): first_seen_at and last_seen_at set to now.
func SeedAttributes(now time.Time) json.RawMessage {
	ts := FormatTime(now)
	return json.RawMessage(`{"first_seen_at":"` + ts + `","last_seen_at":"` + ts + `"}`)
}

// FormatTime formats t the one way the contract allows: UTC, milliseconds
// truncated, Z suffix.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// FormatOptionalTime formats an optional time as FormatTime does: nil
// (null on the wire) stays nil.
func FormatOptionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatTime(*t)
	return &s
}
