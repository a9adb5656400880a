package userdata

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
)

// OpKind is what an attribute operation does to the stored value of its key
// (operations.md §2).
type OpKind uint8

// The operations. A literal value and {"set": v} without a data_type are
// not operations once parsed: they are the value itself.
const (
	OpSet     OpKind = iota + 1 // store Value (an Op only to carry DataType)
	OpSetOnce                   // store Value if the key is absent
	OpAdd                       // add Value (a float64) to a number; a missing key is 0
	OpUnion                     // append the elements of Value not yet present; a missing key is []
	OpRemove                    // remove every element equal to one of Value
)

var opNames = [...]string{OpSet: "set", OpSetOnce: "set_once", OpAdd: "add", OpUnion: "union", OpRemove: "remove"}

// String returns the operation's wire name.
func (k OpKind) String() string { return opNames[k] }

// Op is an attribute value that says how the stored value changes, as an
// Attributes value. ParseOperations makes them from operation objects.
type Op struct {
	Kind OpKind
	// Value is the operand: the value to set (never nil) for OpSet and
	// OpSetOnce, a finite float64 for OpAdd, a list of distinct scalars
	// (strings, float64s, bools) for OpUnion and OpRemove.
	Value any
	// DataType, if HasType, is the type of a definition this write creates
	// (OpSet and OpSetOnce only).
	DataType DataType
	HasType  bool
	// Field names the attribute in error messages, e.g. attributes.plan.
	Field string
}

// opKeys is the operation vocabulary: an object made only of these keys is
// an operation. The aliases map to the operation they stand for.
var opKeys = map[string]OpKind{
	"set": OpSet, "set_once": OpSetOnce, "add": OpAdd, "union": OpUnion, "remove": OpRemove,
	"subtract": OpAdd, "append": OpUnion, "prepend": OpUnion, "data_type": 0,
}

// isOperation reports whether m, a JSON object value, is an operation: not
// empty, and made only of vocabulary keys. Any other object is a literal
// (on v1, operations.md §1).
func isOperation(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		if _, ok := opKeys[k]; !ok {
			return false
		}
	}
	return true
}

// ParseOperations turns the operation objects among a's values into *Op
// values, checking that each is well formed (operations.md §1); field
// names the map in messages (attributes, companies.0.attributes). A
// {"set": v} without data_type becomes the value v itself, and {"set":
// null} becomes null. Other objects stay literal values. With eventsOnly,
// only set is allowed (event attributes).
func ParseOperations(field string, a Attributes, eventsOnly bool) error {
	for _, k := range sortedKeys(a) {
		m, ok := a[k].(map[string]any)
		if !ok || !isOperation(m) {
			continue
		}
		op, err := parseOp(m)
		if err == nil && eventsOnly && op.Kind != OpSet {
			err = fmt.Errorf("events take only literal values and set, not %s", op.Kind)
		}
		if err != nil {
			return Errorf(CodeInvalid, "%s.%s: %v", field, k, err)
		}
		op.Field = field + "." + k
		switch {
		case op.Kind == OpSet && op.Value == nil:
			a[k] = nil
		case op.Kind == OpSet && !op.HasType:
			a[k] = op.Value
		default:
			a[k] = op
		}
	}
	return nil
}

// sortedKeys returns a's keys in order, so that the first problem reported
// does not depend on map order.
func sortedKeys(a Attributes) []string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseOp checks one operation object, made of vocabulary keys only. Its
// keys are read in order, so that an object with more than two operation
// keys is always reported with the same two.
func parseOp(m map[string]any) (*Op, error) {
	var op *Op
	var name string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kind := opKeys[k]
		if kind == 0 { // data_type
			continue
		}
		if op != nil {
			return nil, fmt.Errorf("an operation has exactly one of set, set_once, add, union, remove, subtract, append, prepend, not both %s and %s", name, k)
		}
		op, name = &Op{Kind: kind, Value: m[k]}, k
	}
	if op == nil {
		return nil, fmt.Errorf("data_type goes beside set or set_once")
	}
	if t, ok := m["data_type"]; ok {
		if op.Kind != OpSet && op.Kind != OpSetOnce {
			return nil, fmt.Errorf("data_type goes beside set or set_once, not %s", name)
		}
		s, _ := t.(string)
		dt, ok := ParseDataType(s)
		if !ok || dt == DataTypeRandomAB || dt == DataTypeRandomNumber {
			return nil, fmt.Errorf("data_type must be one of string, number, boolean, datetime, list")
		}
		op.DataType, op.HasType = dt, true
	}
	switch op.Kind {
	case OpSetOnce:
		if op.Value == nil {
			return nil, fmt.Errorf("set_once needs a value (send null to remove the attribute)")
		}
	case OpAdd:
		n, ok := op.Value.(float64)
		if !ok || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, fmt.Errorf("%s must be a finite number", name)
		}
		if name == "subtract" {
			op.Value = -n
		}
	case OpUnion, OpRemove:
		list, err := scalars(name, op.Value)
		if err != nil {
			return nil, err
		}
		op.Value = list
	}
	return op, nil
}

// scalars returns the operand of union or remove as a list of distinct
// scalars: v itself if it is one, else the elements of the array v.
func scalars(name string, v any) ([]any, error) {
	elems, ok := v.([]any)
	if !ok {
		elems = []any{v}
	}
	out := make([]any, 0, len(elems))
	for _, e := range elems {
		switch e.(type) {
		case string, float64, bool:
		default:
			return nil, fmt.Errorf("%s takes a string, number or boolean, or an array of them", name)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// NeedsDefinition reports whether writing v creates a definition of its
// key when there is none (operations.md §3): not for null, nor remove.
func NeedsDefinition(v any) bool {
	op, isOp := v.(*Op)
	return v != nil && (!isOp || op.Kind != OpRemove)
}

// DefinitionType is the type of a definition created by writing v
// (NeedsDefinition): the data_type given, else number for add, list for
// union, else the type inferred from the value (§8.3).
func DefinitionType(v any) DataType {
	op, ok := v.(*Op)
	switch {
	case !ok:
		return InferDataType(v)
	case op.HasType:
		return op.DataType
	case op.Kind == OpAdd:
		return DataTypeNumber
	case op.Kind == OpUnion || op.Kind == OpRemove:
		return DataTypeList
	}
	return InferDataType(op.Value)
}

// TypedKeys returns the keys of a whose value gives a data_type, sorted:
// their existing definitions must have that type (CheckDefinitionType).
func (a Attributes) TypedKeys() []string {
	var keys []string
	for k, v := range a {
		if op, ok := v.(*Op); ok && op.HasType {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// CheckDefinitionType returns the error of a write whose data_type for key
// differs from the type of its existing definition: data_type never
// retypes (operations.md §3). Types compare as they read, so data_type
// string matches the object type of a definition an object value created.
func (a Attributes) CheckDefinitionType(key string, defined DataType) error {
	op, ok := a[key].(*Op)
	if !ok || !op.HasType || op.DataType.String() == defined.String() {
		return nil
	}
	return Errorf(CodeInvalid, "%s: data_type %s does not match the defined type %s", op.Field, op.DataType, defined)
}

// HasOps reports whether any value of a is an operation other than a set
// (whose value a merge can take as it is).
func (a Attributes) HasOps() bool {
	for _, v := range a {
		if op, ok := v.(*Op); ok && op.Kind != OpSet {
			return true
		}
	}
	return false
}

// apply appends to buf the stored value of op's key after op: stored is
// the current value as raw JSON (nil when the key is absent). It appends
// nothing when the key stays absent (remove of a missing key), and returns
// a CodeInvalid error when op cannot apply to what is stored.
func (op *Op) apply(buf []byte, stored []byte) ([]byte, error) {
	switch op.Kind {
	case OpSet:
		return appendValue(buf, op.Value)
	case OpSetOnce:
		if stored != nil {
			return append(buf, stored...), nil
		}
		return appendValue(buf, op.Value)
	case OpAdd:
		n := op.Value.(float64)
		if stored != nil {
			v, err := decodeValue(stored)
			f, ok := v.(float64)
			if err != nil || !ok {
				return nil, op.cannot("add to", stored)
			}
			if n += f; math.IsInf(n, 0) {
				return nil, Errorf(CodeInvalid, "%s: the sum is too large for a number", op.Field)
			}
		}
		return appendValue(buf, n)
	}
	// union, remove
	var list []any
	if stored != nil {
		if err := json.Unmarshal(stored, &list); err != nil || list == nil {
			verb := "union with"
			if op.Kind == OpRemove {
				verb = "remove from"
			}
			return nil, op.cannot(verb, stored)
		}
	} else if op.Kind == OpRemove {
		return buf, nil
	}
	elems := op.Value.([]any)
	if op.Kind == OpUnion {
		for _, e := range elems {
			if !containsScalar(list, e) {
				list = append(list, e)
			}
		}
	} else {
		list = slices.DeleteFunc(list, func(e any) bool { return containsScalar(elems, e) })
	}
	if list == nil {
		list = []any{}
	}
	return appendValue(buf, list)
}

// containsScalar reports whether list has an element equal to the scalar
// e: JSON equality, so "1" is not 1. Objects and arrays equal no scalar.
func containsScalar(list []any, e any) bool {
	for _, x := range list {
		switch x.(type) {
		case string, float64, bool:
			if x == e {
				return true
			}
		}
	}
	return false
}

// cannot is the error of an operation that cannot apply to the stored
// value.
func (op *Op) cannot(verb string, stored []byte) error {
	return Errorf(CodeInvalid, "%s: cannot %s a stored %s", op.Field, verb, jsonType(stored))
}

// jsonType names the type of a raw JSON value for messages.
func jsonType(raw []byte) string {
	switch c := raw[0]; {
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == '[':
		return "list"
	case c == '{':
		return "object"
	case c == 'n':
		return "null"
	}
	return "number"
}

// OpsJSON returns the operations of a other than set (HasOps) as one JSON
// object, for backends that apply them in SQL: each key maps to
// {"op": kind, "v": operand, "f": field}. It returns nil when there are
// none.
func (a Attributes) OpsJSON() (json.RawMessage, error) {
	keys := make([]string, 0, len(a))
	for k, v := range a {
		if op, ok := v.(*Op); ok && op.Kind != OpSet {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	sort.Strings(keys)
	buf := []byte{'{'}
	for i, k := range keys {
		op := a[k].(*Op)
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, k)
		buf = append(buf, `:{"op":`...)
		buf = appendString(buf, op.Kind.String())
		buf = append(buf, `,"v":`...)
		var err error
		if buf, err = appendValue(buf, op.Value); err != nil {
			return nil, err
		}
		buf = append(buf, `,"f":`...)
		buf = appendString(buf, op.Field)
		buf = append(buf, '}')
	}
	return append(buf, '}'), nil
}

// String describes an operation for logs and test failures.
func (op *Op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{%s: %v", op.Kind, op.Value)
	if op.HasType {
		fmt.Fprintf(&b, ", data_type: %s", op.DataType)
	}
	b.WriteString("}")
	return b.String()
}
