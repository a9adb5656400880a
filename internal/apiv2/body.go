package apiv2

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// object decodes the request body as a closed JSON object of the given
// keys (v2.md §5): an empty body is {}, and each unknown key is one issue
// of one 400 E1017, in body order.
func (rq *request) object(keys ...string) (wire.Object, error) {
	body := bytes.TrimSpace(rq.body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	o, members, err := wire.DecodeBody(body) // valid JSON: serve checked it
	if err != nil {
		return nil, err
	}
	var issues []userdata.Issue
	for _, k := range members {
		if slices.Contains(keys, k) || slices.ContainsFunc(issues, func(is userdata.Issue) bool { return is.Path == k }) {
			continue
		}
		quoted, _ := json.Marshal(k) // a string always encodes
		issues = append(issues, userdata.Issue{Rule: "schema", Message: "Unrecognized key: " + string(quoted), Path: k})
	}
	if issues == nil {
		return o, nil
	}
	msgs := make([]string, len(issues))
	for i, is := range issues {
		msgs[i] = is.Path + ": " + is.Message
	}
	return nil, &userdata.Error{Code: userdata.CodeInvalid, Message: strings.Join(msgs, " | "), Issues: issues}
}

// attributes decodes the attributes member of a v2 upsert (v2.md §7):
// absent is none; keys follow the codeName rule; every object value must
// be an operation (v2's strict rule, operations.md §1); literal and set
// values are coerced to the type of their key's definition in scope
// (operations.md §3).
func (a *api) attributes(rq *request, o wire.Object, scope userdata.Scope) (userdata.Attributes, error) {
	raw, present := o["attributes"]
	if !present {
		return nil, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, userdata.Errorf(userdata.CodeInvalid, "attributes must be an object")
	}
	attrs, err := o.Attributes("attributes", "attributes", false)
	if err != nil {
		return nil, err
	}
	if err := checkAttributes(attrs); err != nil {
		return nil, err
	}
	keys := attrs.Keys()
	if len(keys) == 0 {
		return attrs, nil
	}
	types, err := a.store.AttributeTypes(rq.Context(), rq.projectID, scope, keys)
	if err != nil {
		return nil, err
	}
	// A key without a definition that a data_type will define takes a
	// value of that type, as a defined key would.
	for _, k := range keys {
		if op, ok := attrs[k].(*userdata.Op); ok && op.HasType {
			if _, defined := types[k]; !defined {
				types[k] = op.DataType
			}
		}
	}
	return attrs, attrs.Coerce("attributes", types)
}

// checkAttributes refuses the first key, in byte order, that breaks the
// codeName rule or whose value is an object that is not an operation. The
// messages are built only for a key refused: this runs on every PUT.
func checkAttributes(attrs userdata.Attributes) error {
	var bad []string
	for k, v := range attrs {
		_, literal := v.(map[string]any)
		if literal || userdata.CheckCodeName("", k) != nil {
			bad = append(bad, k)
		}
	}
	if bad == nil {
		return nil
	}
	k := slices.Min(bad)
	if err := userdata.CheckCodeName("attributes key "+strconvQuote(k), k); err != nil {
		return err
	}
	return userdata.Errorf(userdata.CodeInvalid, "attributes.%s: an object value must be an operation (set, set_once, add, union or remove)", k)
}

// strconvQuote quotes s as JSON does, cut to 40 bytes for messages.
func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}
