package userdata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// ValueFits reports whether a stored attribute value (raw JSON, not null)
// fits data type t, so that a definition may be retyped to t while the
// value stays as it is (v2.md §8):
//   - number: a JSON number;
//   - string: a JSON string, whatever it holds (a datetime-like string
//     included);
//   - boolean: true or false;
//   - list: a JSON array, whatever its elements;
//   - datetime: a JSON string that IsDatetime accepts, an ISO-8601 UTC
//     instant in the one form a datetime attribute is stored in
//     (2006-01-02T15:04:05Z or 2006-01-02T15:04:05.000Z).
//
// Objects fit none of them, and nothing fits another type. The rule is
// stricter than the v2 coercion of written values (operations.md §3),
// which converts "42" to 42 or an offset date-time to UTC: a retype
// converts nothing, so a value fits only as it is stored, the way it would
// be stored had the definition had type t from the start.
func ValueFits(raw []byte, t DataType) bool {
	if len(raw) == 0 {
		return false
	}
	switch t {
	case DataTypeDatetime:
		var s string
		return raw[0] == '"' && json.Unmarshal(raw, &s) == nil && IsDatetime(s)
	case DataTypeNumber, DataTypeString, DataTypeBoolean, DataTypeList:
		return jsonType(raw) == t.String()
	}
	return false
}

// StoredValue is one stored value of an attribute, with what owns it, as
// a retype check reads it.
type StoredValue struct {
	EnvironmentID string
	UserID        string // the external id of the user (of a user, membership or event)
	CompanyID     string // the external id of the company (of a company or membership)
	EventID       string // the internal id of the event (of an event)
	Value         []byte // raw JSON
}

// maxShownValue bounds how much of a value an error message quotes.
const maxShownValue = 64

// RetypeRefused is the CodeInvalid error of retyping the definition
// (scope, codeName) to t while the stored value v does not fit t.
func RetypeRefused(scope Scope, codeName string, t DataType, v StoredValue) error {
	var owner string
	switch scope {
	case ScopeUser:
		owner = fmt.Sprintf("user %q", v.UserID)
	case ScopeCompany:
		owner = fmt.Sprintf("company %q", v.CompanyID)
	case ScopeMembership:
		owner = fmt.Sprintf("the membership of user %q in company %q", v.UserID, v.CompanyID)
	default:
		owner = fmt.Sprintf("event %s of user %q", v.EventID, v.UserID)
	}
	var compact bytes.Buffer // as stored, whatever spaces the database prints
	shown := v.Value
	if json.Compact(&compact, v.Value) == nil {
		shown = compact.Bytes()
	}
	if len(shown) > maxShownValue {
		n := maxShownValue
		for n > 0 && !utf8.RuneStart(shown[n]) {
			n--
		}
		shown = append(shown[:n:n], "…"...)
	}
	return Errorf(CodeInvalid, "Cannot change the type of %q to %s: the value %s of %s in environment %s is not %s; fix or clear it, or delete and recreate the attribute",
		codeName, t, shown, owner, v.EnvironmentID, typeNoun[t])
}

// typeNoun names a value of each type in messages.
var typeNoun = map[DataType]string{
	DataTypeNumber:   "a number",
	DataTypeString:   "a string",
	DataTypeBoolean:  "a boolean",
	DataTypeList:     "a list",
	DataTypeDatetime: "a datetime (an ISO-8601 UTC instant such as 2024-01-31T09:30:00.000Z)",
}

// ValueRows is what *sql.Rows and pgx.Rows have in common: rows of stored
// values, each scanned as (environment id, user id, company id, event id,
// raw JSON value), ids "" where they do not apply.
type ValueRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// CheckStoredValues reads rows of stored values of the definition (scope,
// codeName), one at a time, and returns RetypeRefused for the first that
// does not fit t, else how many rows it read. Only the row at hand is in
// memory, so that a check reads any number of rows in bounded memory.
func CheckStoredValues(rows ValueRows, scope Scope, codeName string, t DataType) (int, error) {
	n := 0
	var v StoredValue
	for rows.Next() {
		if err := rows.Scan(&v.EnvironmentID, &v.UserID, &v.CompanyID, &v.EventID, &v.Value); err != nil {
			return n, err
		}
		if !ValueFits(v.Value, t) {
			return n, RetypeRefused(scope, codeName, t, v)
		}
		n++
	}
	return n, rows.Err()
}
