package httpapi

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

// readBody reads a request body of at most maxBody bytes.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &userdata.Error{Code: userdata.CodeTooLarge, Message: "request body too large"}
	}
	if err != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "could not read the request body")
	}
	return body, nil
}

// object is a JSON object whose fields are decoded one by one, so that each
// wrong type gets its own message.
type object map[string]json.RawMessage

// decodeObject parses body as a JSON object. Within a request body that
// was checked already (field != ""), it only checks that it is an object.
func decodeObject(body []byte, field string) (object, error) {
	if field == "" && !json.Valid(body) {
		err := json.Unmarshal(body, new(json.RawMessage)) // for the message
		return nil, userdata.Errorf(userdata.CodeInvalid, "request body is not valid JSON: %s", jsonProblem(err))
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		if field == "" {
			return nil, userdata.Errorf(userdata.CodeInvalid, "request body must be a JSON object")
		}
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an object", field)
	}
	members, err := userdata.SplitObject(body)
	if err != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "request body is not valid JSON")
	}
	o := make(object, len(members))
	for _, m := range members {
		o[m.Key()] = m.Value() // the last of repeated keys wins, as in encoding/json
	}
	return o, nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s at offset %d", syn.Error(), syn.Offset)
	}
	return "unexpected end of input"
}

// isNull reports whether a field is absent or null.
func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

var integerLiteral = regexp.MustCompile(`^-?[0-9]+$`)

// id decodes an external id (§7.3): a string as is, an integer as its
// decimal text, a boolean as true or false; then checks the id rules.
func (o object) id(field, name string) (string, error) {
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

// str decodes a string field that must not contain NUL characters.
func (o object) str(name string) (string, error) {
	raw := o[name]
	var v string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		return "", userdata.Errorf(userdata.CodeInvalid, "%s must be a string", name)
	}
	return v, checkNoNUL(name, v)
}

// attributes decodes an attribute map: absent or null is none, anything but
// an object is an error. Operation objects become *userdata.Op values
// (userdata.ParseOperations); with eventsOnly only set is allowed.
func (o object) attributes(field, name string, eventsOnly bool) (userdata.Attributes, error) {
	raw := o[name]
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an object", field)
	}
	a, err := userdata.DecodeAttributes(raw)
	if err != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s is not valid: %v", field, err)
	}
	if err := checkNoNUL(field, a); err != nil {
		return nil, err
	}
	if err := userdata.ValidateAttributeKeys(field, a); err != nil {
		return nil, err
	}
	return a, userdata.ParseOperations(field, a, eventsOnly)
}

// checkNoNUL rejects NUL characters in keys and string values: no backend
// can store them faithfully.
func checkNoNUL(field string, v any) error {
	bad := false
	switch v := v.(type) {
	case string:
		bad = strings.IndexByte(v, 0) >= 0
	case []any:
		for _, e := range v {
			if err := checkNoNUL(field, e); err != nil {
				return err
			}
		}
	case userdata.Attributes:
		return checkNoNUL(field, map[string]any(v))
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 {
				bad = true
				break
			}
			if err := checkNoNUL(field, e); err != nil {
				return err
			}
		}
	}
	if bad {
		return userdata.Errorf(userdata.CodeInvalid, "%s must not contain NUL characters", field)
	}
	return nil
}

// array decodes an array of objects: absent or null is nil, [] is an empty
// non-nil slice.
func (o object) array(name string) ([]object, error) {
	raw := o[name]
	if isNull(raw) {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an array", name)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "%s must be an array", name)
	}
	out := make([]object, len(items))
	for i, it := range items {
		var err error
		if out[i], err = decodeObject(it, fmt.Sprintf("%s.%d", name, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// company decodes a company upsert from o, naming fields under prefix.
func (o object) company(prefix string) (userdata.CompanyUpsert, error) {
	var c userdata.CompanyUpsert
	var err error
	if c.ExternalID, err = o.id(prefix+"id", "id"); err != nil {
		return c, err
	}
	c.Attributes, err = o.attributes(prefix+"attributes", "attributes", false)
	return c, err
}

// decodeUserUpsert decodes and validates the body of POST /v1/users.
func decodeUserUpsert(body []byte) (*userdata.UserUpsert, error) {
	o, err := decodeObject(body, "")
	if err != nil {
		return nil, err
	}
	u := &userdata.UserUpsert{}
	if u.ExternalID, err = o.id("id", "id"); err != nil {
		return nil, err
	}
	if u.Attributes, err = o.attributes("attributes", "attributes", false); err != nil {
		return nil, err
	}
	companies, err := o.array("companies")
	if err != nil {
		return nil, err
	}
	memberships, err := o.array("memberships")
	if err != nil {
		return nil, err
	}
	if companies != nil && memberships != nil {
		return nil, userdata.Errorf(userdata.CodeInvalid, "Only one of companies or memberships can be set")
	}
	if companies != nil {
		u.Companies = make([]userdata.CompanyUpsert, len(companies))
	}
	for i, c := range companies {
		if u.Companies[i], err = c.company(fmt.Sprintf("companies.%d.", i)); err != nil {
			return nil, err
		}
	}
	if memberships != nil {
		u.Memberships = make([]userdata.MembershipUpsert, len(memberships))
	}
	for i, m := range memberships {
		prefix := fmt.Sprintf("memberships.%d.", i)
		co, err := decodeObject(m["company"], prefix+"company")
		if err != nil {
			return nil, err
		}
		if u.Memberships[i].Company, err = co.company(prefix + "company."); err != nil {
			return nil, err
		}
		if u.Memberships[i].Attributes, err = m.attributes(prefix+"attributes", "attributes", false); err != nil {
			return nil, err
		}
	}
	return u, u.Validate()
}

// decodeCompanyUpsert decodes and validates the body of POST /v1/companies.
func decodeCompanyUpsert(body []byte) (*userdata.CompanyUpsert, error) {
	o, err := decodeObject(body, "")
	if err != nil {
		return nil, err
	}
	c, err := o.company("")
	if err != nil {
		return nil, err
	}
	return &c, c.Validate()
}
