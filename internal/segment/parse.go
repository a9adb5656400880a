package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"tourd/internal/userdata"
)

// problems collects the issues of one condition tree, each at the path of
// a value in the body (conditions[1].conditions[0].op).
type problems []userdata.Issue

// add adds a problem of the rules of segments.md §3.
func (ps *problems) add(path, format string, a ...any) {
	*ps = append(*ps, userdata.Issue{Rule: "conditions", Message: fmt.Sprintf(format, a...), Path: path})
}

// schema adds a problem of the shape of the tree, as v2's strict bodies
// name them (v2.md §5).
func (ps *problems) schema(path, format string, a ...any) {
	*ps = append(*ps, userdata.Issue{Rule: "schema", Message: fmt.Sprintf(format, a...), Path: path})
}

// err returns nil without problems, else the CodeInvalid error of the
// contract: "Invalid segment conditions: <path>: <message>; …".
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Path + ": " + p.Message
	}
	return &userdata.Error{
		Code:    userdata.CodeInvalid,
		Message: "Invalid segment conditions: " + strings.Join(msgs, "; "),
		Issues:  ps,
	}
}

// Parse decodes a conditions array, strictly: every element is an object
// whose type is "attribute", "group" or "unsupported" (which Validate then
// refuses); a leaf has only the keys type, scope, attribute, op, value,
// value2 and values, a group only type, match and conditions; value and
// value2 are strings (a JSON number is refused) and values an array of
// strings. Another type (event, segment, content, …) is a CodeInvalid
// error of its own, as Usertour words it, naming the first such element;
// other problems are collected into one CodeInvalid error, "Invalid
// segment conditions: <path>: <message>; …". Parse checks shapes only:
// Validate checks the tree against the project's definitions and limits.
func Parse(raw json.RawMessage) ([]Condition, error) {
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		return nil, userdata.Errorf(userdata.CodeInvalid, "conditions must be a JSON array")
	}
	elems, ok := array(raw)
	if !ok {
		return nil, userdata.Errorf(userdata.CodeInvalid, "conditions must be an array")
	}
	if err := checkTypes(elems, "conditions"); err != nil {
		return nil, err
	}
	var ps problems
	conds := parseList(elems, "conditions", &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return conds, nil
}

// array returns the elements of raw, valid JSON, if it is an array.
func array(raw []byte) ([]json.RawMessage, bool) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil, false
	}
	if elems == nil {
		elems = []json.RawMessage{}
	}
	return elems, true
}

// members returns the members of raw, valid JSON, if it is an object,
// reporting each repeated key.
func members(raw []byte, path string, ps *problems) (map[string]json.RawMessage, []string, bool) {
	ms, err := userdata.SplitObject(raw)
	if err != nil {
		return nil, nil, false
	}
	m := make(map[string]json.RawMessage, len(ms))
	keys := make([]string, 0, len(ms))
	for _, mb := range ms {
		k := mb.Key()
		if _, dup := m[k]; dup {
			ps.schema(path+"."+k, "duplicate key %s", strconv.Quote(k))
			continue
		}
		m[k] = mb.Value()
		keys = append(keys, k)
	}
	return m, keys, true
}

// checkTypes refuses the first element, depth first, whose type is not one
// of a segment's, with Usertour's message.
func checkTypes(elems []json.RawMessage, path string) error {
	for i, raw := range elems {
		at := fmt.Sprintf("%s[%d]", path, i)
		var ps problems
		m, _, _ := members(raw, at, &ps) // nil unless an object
		typ := "undefined"
		if t, ok := m["type"]; ok {
			typ = string(t)
			var s string
			if json.Unmarshal(t, &s) == nil {
				typ = s
			}
		}
		switch typ {
		case "attribute", "unsupported":
		case "group":
			if sub, ok := array(m["conditions"]); ok {
				if err := checkTypes(sub, at+".conditions"); err != nil {
					return err
				}
			}
		default:
			return userdata.Errorf(userdata.CodeInvalid,
				"Segment conditions support only attribute conditions (and groups of them); got %q at %s. "+
					"A segment's membership is computed from user, company and membership attributes — "+
					"event, page-url, element, flow and other content-targeting conditions are not evaluated for a segment. "+
					"Use attribute conditions here, or put that logic on the content's start rules instead.",
				typ, at)
		}
	}
	return nil
}

func parseList(elems []json.RawMessage, path string, ps *problems) []Condition {
	conds := make([]Condition, 0, len(elems))
	for i, raw := range elems {
		conds = append(conds, parseNode(raw, fmt.Sprintf("%s[%d]", path, i), ps))
	}
	return conds
}

// The keys each kind of condition may have.
var (
	leafKeys        = []string{"type", "scope", "attribute", "op", "value", "value2", "values"}
	groupKeys       = []string{"type", "match", "conditions"}
	unsupportedKeys = []string{"type", "note"}
)

// parseNode decodes one element, whose type checkTypes accepted.
func parseNode(raw json.RawMessage, path string, ps *problems) Condition {
	m, keys, _ := members(raw, path, ps)
	var c Condition
	_ = json.Unmarshal(m["type"], &c.Kind)
	allowed := leafKeys
	switch c.Kind {
	case KindGroup:
		allowed = groupKeys
		parseGroup(&c, m, path, ps)
	case KindUnsupported:
		allowed = unsupportedKeys
		if note, ok := m["note"]; ok && json.Unmarshal(note, &c.Note) != nil {
			ps.schema(path+".note", "must be a string")
		}
	default:
		parseLeaf(&c, m, path, ps)
	}
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			ps.schema(path+"."+k, "Unrecognized key: %s", strconv.Quote(k))
		}
	}
	return c
}

func parseGroup(c *Condition, m map[string]json.RawMessage, path string, ps *problems) {
	if json.Unmarshal(m["match"], &c.Match) != nil || c.Match != MatchAll && c.Match != MatchAny {
		ps.schema(path+".match", `must be "all" or "any"`)
	}
	elems, ok := array(m["conditions"])
	if !ok {
		ps.schema(path+".conditions", "must be an array of conditions")
		return
	}
	c.Conditions = parseList(elems, path+".conditions", ps)
}

func parseLeaf(c *Condition, m map[string]json.RawMessage, path string, ps *problems) {
	var scope string
	var ok bool
	if json.Unmarshal(m["scope"], &scope) == nil {
		c.Scope, ok = ParseScope(scope)
	}
	if !ok {
		ps.schema(path+".scope", `must be "user", "company" or "companyMembership"`)
	}
	if json.Unmarshal(m["attribute"], &c.Attribute) != nil || c.Attribute == "" {
		ps.schema(path+".attribute", "must be a non-empty string, the codeName of an attribute")
	}
	if json.Unmarshal(m["op"], &c.Op) != nil || !slices.Contains(opNames, string(c.Op)) {
		ps.schema(path+".op", "must be one of %s", strings.Join(opNames, ", "))
	}
	c.Value = parseString(m, "value", path, ps)
	c.Value2 = parseString(m, "value2", path, ps)
	raw, present := m["values"]
	if !present {
		return
	}
	elems, ok := array(raw)
	if !ok {
		ps.schema(path+".values", "must be an array of strings")
		return
	}
	c.Values = make([]string, len(elems))
	for i, e := range elems {
		if !isString(e) || json.Unmarshal(e, &c.Values[i]) != nil {
			ps.schema(fmt.Sprintf("%s.values[%d]", path, i), "must be a string")
		}
	}
}

// opNames are the operators as strings, for messages.
var opNames = func() []string {
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = string(op)
	}
	return names
}()

// parseString decodes the optional string member key of m.
func parseString(m map[string]json.RawMessage, key, path string, ps *problems) *string {
	raw, present := m[key]
	if !present {
		return nil
	}
	var s string
	if !isString(raw) || json.Unmarshal(raw, &s) != nil {
		ps.schema(path+"."+key, `must be a string (numbers and day counts are written as strings too, such as "5")`)
		return nil
	}
	return &s
}

func isString(raw []byte) bool { return len(raw) > 0 && raw[0] == '"' }

// ParseScope maps the scope of a condition to an attribute scope: user,
// company or companyMembership.
func ParseScope(name string) (userdata.Scope, bool) {
	s, ok := userdata.ParseScope(name)
	return s, ok && s != userdata.ScopeEvent
}

// Encode returns conds as JSON, as written: keys in a fixed order, absent
// operands left out, [] for no conditions.
func Encode(conds []Condition) json.RawMessage {
	return appendList(make([]byte, 0, 64), conds)
}

// MarshalJSON encodes c as Encode does.
func (c Condition) MarshalJSON() ([]byte, error) { return appendCondition(nil, c), nil }

func appendList(buf []byte, conds []Condition) []byte {
	buf = append(buf, '[')
	for i, c := range conds {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendCondition(buf, c)
	}
	return append(buf, ']')
}

func appendCondition(buf []byte, c Condition) []byte {
	buf = append(buf, `{"type":`...)
	buf = userdata.AppendString(buf, string(c.Kind))
	switch c.Kind {
	case KindGroup:
		buf = append(buf, `,"match":`...)
		buf = userdata.AppendString(buf, string(c.Match))
		buf = append(buf, `,"conditions":`...)
		buf = appendList(buf, c.Conditions)
	case KindUnsupported:
		if c.Note != "" {
			buf = append(buf, `,"note":`...)
			buf = userdata.AppendString(buf, c.Note)
		}
	default:
		buf = append(buf, `,"scope":`...)
		buf = userdata.AppendString(buf, c.Scope.String())
		buf = append(buf, `,"attribute":`...)
		buf = userdata.AppendString(buf, c.Attribute)
		buf = append(buf, `,"op":`...)
		buf = userdata.AppendString(buf, string(c.Op))
		if c.Value != nil {
			buf = append(buf, `,"value":`...)
			buf = userdata.AppendString(buf, *c.Value)
		}
		if c.Value2 != nil {
			buf = append(buf, `,"value2":`...)
			buf = userdata.AppendString(buf, *c.Value2)
		}
		if c.Values != nil {
			buf = append(buf, `,"values":[`...)
			for i, v := range c.Values {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = userdata.AppendString(buf, v)
			}
			buf = append(buf, ']')
		}
	}
	return append(buf, '}')
}
