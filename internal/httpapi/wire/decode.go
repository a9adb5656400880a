package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"tourd/internal/userdata"
)

// MaxBody is the largest JSON body an ordinary request may carry (v1
// §15.1), and the longest line of an import stream.
const MaxBody = 1 << 20

// ReadBody reads a request body of at most MaxBody bytes: a longer one is
// CodeTooLarge.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &userdata.Error{Code: userdata.CodeTooLarge, Message: "request body too large"}
	}
	if err != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "could not read the request body")
	}
	return body, nil
}

// Object is a JSON object whose fields are decoded one by one, so that each
// wrong type gets its own message. Its methods read the member name; those
// that also take field name the value so in their messages, with its path
// in the body ("companies.0.id").
type Object map[string]json.RawMessage

// DecodeObject parses body as a JSON object. Within a request body that
// was checked already (field != ""), it only checks that it is an object.
func DecodeObject(body []byte, field string) (Object, error) {
	if field == "" && !json.Valid(body) {
		err := json.Unmarshal(body, new(json.RawMessage)) // for the message
		return nil, userdata.Errorf(userdata.CodeInvalid, "request body is not valid JSON: %s", jsonProblem(err))
	}
	o, _, err := decodeValid(body, field)
	return o, err
}

// DecodeBody decodes a request body that is valid JSON (json.Valid) as a
// JSON object, as DecodeObject does, and also returns its keys in body
// order, repeats included.
func DecodeBody(body []byte) (Object, []string, error) { return decodeValid(body, "") }

// decodeValid decodes valid JSON as an object (see DecodeObject).
func decodeValid(body []byte, field string) (Object, []string, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		if field == "" {
			return nil, nil, userdata.Errorf(userdata.CodeInvalid, "request body must be a JSON object")
		}
		return nil, nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an object", field)
	}
	members, err := userdata.SplitObject(body)
	if err != nil {
		return nil, nil, userdata.Errorf(userdata.CodeInvalid, "request body is not valid JSON")
	}
	o := make(Object, len(members))
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = m.Key()
		o[keys[i]] = m.Value() // the last of repeated keys wins, as in encoding/json
	}
	return o, keys, nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s at offset %d", syn.Error(), syn.Offset)
	}
	return "unexpected end of input"
}

// IsNull reports whether a member is absent or null.
func IsNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

var integerLiteral = regexp.MustCompile(`^-?[0-9]+$`)

// ID decodes an external id (v1 §7.3): a string as is, an integer as its
// decimal text, a boolean as true or false; then checks the id rules.
func (o Object) ID(field, name string) (string, error) {
	raw := o[name]
	var id string
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", userdata.Errorf(userdata.CodeInvalid, "%s must be a non-empty string", field)
		}
	case integerLiteral.Match(raw), string(raw) == "true", string(raw) == "false":
		id = string(raw)
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			return "", userdata.Errorf(userdata.CodeInvalid, "%s must be a non-empty string", field)
		}
		b, _ := json.Marshal(f) // JavaScript's String(number) for finite values
		id = string(b)
	}
	if strings.IndexByte(id, 0) >= 0 {
		return "", userdata.Errorf(userdata.CodeInvalid, "%s must not contain NUL characters", field)
	}
	return id, userdata.ValidateID(field, id)
}

// Str decodes a string member that must not contain NUL characters.
func (o Object) Str(name string) (string, error) {
	raw := o[name]
	var v string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		return "", userdata.Errorf(userdata.CodeInvalid, "%s must be a string", name)
	}
	return v, CheckNoNUL(name, v)
}

// Bool decodes a boolean member.
func (o Object) Bool(name string) (bool, error) {
	switch string(o[name]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, userdata.Errorf(userdata.CodeInvalid, "%s must be a boolean", name)
}

// Attributes decodes an attribute map: absent or null is none, anything but
// an object is an error. Operation objects become *userdata.Op values
// (userdata.ParseOperations); with eventsOnly only set is allowed.
func (o Object) Attributes(field, name string, eventsOnly bool) (userdata.Attributes, error) {
	raw := o[name]
	if IsNull(raw) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an object", field)
	}
	a, err := userdata.DecodeAttributes(raw)
	if err != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s is not valid: %v", field, err)
	}
	if err := CheckNoNUL(field, a); err != nil {
		return nil, err
	}
	if err := userdata.ValidateAttributeKeys(field, a); err != nil {
		return nil, err
	}
	return a, userdata.ParseOperations(field, a, eventsOnly)
}

// CheckNoNUL rejects NUL characters in the keys and strings of v, a
// decoded JSON value: no backend can store them faithfully.
func CheckNoNUL(field string, v any) error {
	bad := false
	switch v := v.(type) {
	case string:
		bad = strings.IndexByte(v, 0) >= 0
	case []any:
		for _, e := range v {
			if err := CheckNoNUL(field, e); err != nil {
				return err
			}
		}
	case userdata.Attributes:
		return CheckNoNUL(field, map[string]any(v))
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 {
				bad = true
				break
			}
			if err := CheckNoNUL(field, e); err != nil {
				return err
			}
		}
	}
	if bad {
		return userdata.Errorf(userdata.CodeInvalid, "%s must not contain NUL characters", field)
	}
	return nil
}

// Array decodes an array of objects: absent or null is nil, [] is an empty
// non-nil slice.
func (o Object) Array(name string) ([]Object, error) {
	raw := o[name]
	if IsNull(raw) {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an array", name)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an array", name)
	}
	out := make([]Object, len(items))
	for i, it := range items {
		var err error
		if out[i], err = DecodeObject(it, fmt.Sprintf("%s.%d", name, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
