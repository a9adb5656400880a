package userdata_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func TestValueFits(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		fits []userdata.DataType
	}{
		{`1`, []userdata.DataType{userdata.DataTypeNumber}},
		{`-2.5e3`, []userdata.DataType{userdata.DataTypeNumber}},
		{`0`, []userdata.DataType{userdata.DataTypeNumber}},
		{`"abc"`, []userdata.DataType{userdata.DataTypeString}},
		{`""`, []userdata.DataType{userdata.DataTypeString}},
		{`"42"`, []userdata.DataType{userdata.DataTypeString}}, // not coerced: a retype converts nothing
		{`"true"`, []userdata.DataType{userdata.DataTypeString}},
		{`true`, []userdata.DataType{userdata.DataTypeBoolean}},
		{`false`, []userdata.DataType{userdata.DataTypeBoolean}},
		{`[]`, []userdata.DataType{userdata.DataTypeList}},
		{`[1,"a",{"b":2},null]`, []userdata.DataType{userdata.DataTypeList}},
		{`{"a":1}`, nil},
		{`{}`, nil},
		{`null`, nil},
		{`"2024-01-31T09:30:00.000Z"`, []userdata.DataType{userdata.DataTypeString, userdata.DataTypeDatetime}},
		{`"2024-01-31T09:30:00Z"`, []userdata.DataType{userdata.DataTypeString, userdata.DataTypeDatetime}},
		{`"2024-01-31T09:30:00+00:00"`, []userdata.DataType{userdata.DataTypeString}}, // an offset: not the stored form
		{`"2024-01-31T09:30:00.123456Z"`, []userdata.DataType{userdata.DataTypeString}},
		{`"2024-01-31"`, []userdata.DataType{userdata.DataTypeString}},
		{`"2023-02-29T00:00:00Z"`, []userdata.DataType{userdata.DataTypeString}},                                     // no such day
		{`"2024-01-31T09:30:00\u002e000Z"`, []userdata.DataType{userdata.DataTypeString, userdata.DataTypeDatetime}}, // escaped, same string
		{``, nil},
	} {
		for _, dt := range []userdata.DataType{userdata.DataTypeNumber, userdata.DataTypeString, userdata.DataTypeBoolean,
			userdata.DataTypeList, userdata.DataTypeDatetime, userdata.DataTypeObject, userdata.DataTypeRandomAB, userdata.DataTypeRandomNumber} {
			want := false
			for _, f := range tt.fits {
				want = want || f == dt
			}
			if got := userdata.ValueFits([]byte(tt.raw), dt); got != want {
				t.Errorf("ValueFits(%s, %d %s) = %t, want %t", tt.raw, dt, dt, got, want)
			}
		}
	}
}

// valueRows stands for database rows of stored values.
type valueRows struct {
	vals []userdata.StoredValue
	i    int
	err  error
}

func (r *valueRows) Next() bool { r.i++; return r.i <= len(r.vals) }
func (r *valueRows) Err() error { return r.err }
func (r *valueRows) Scan(dest ...any) error {
	v := r.vals[r.i-1]
	*dest[0].(*string), *dest[1].(*string), *dest[2].(*string), *dest[3].(*string) = v.EnvironmentID, v.UserID, v.CompanyID, v.EventID
	*dest[4].(*[]byte) = v.Value
	return nil
}

func TestCheckStoredValues(t *testing.T) {
	long := `"` + strings.Repeat("é", 40) + `"`
	rows := func(vals ...string) *valueRows {
		r := &valueRows{}
		for i, v := range vals {
			r.vals = append(r.vals, userdata.StoredValue{EnvironmentID: "env1", UserID: "u" + string(rune('1'+i)), CompanyID: "c1", EventID: "ev1", Value: []byte(v)})
		}
		return r
	}
	for _, tt := range []struct {
		scope userdata.Scope
		to    userdata.DataType
		rows  *valueRows
		n     int
		err   string
	}{
		{userdata.ScopeUser, userdata.DataTypeNumber, rows(`1`, `2.5`, `-3`), 3, ""},
		{userdata.ScopeUser, userdata.DataTypeNumber, rows(), 0, ""},
		{userdata.ScopeUser, userdata.DataTypeNumber, rows(`1`, `"abc"`, `true`), 1,
			`invalid: Cannot change the type of "plan" to number: the value "abc" of user "u2" in environment env1 is not a number; fix or clear it, or delete and recreate the attribute`},
		{userdata.ScopeCompany, userdata.DataTypeBoolean, rows(`"x"`), 0,
			`invalid: Cannot change the type of "plan" to boolean: the value "x" of company "c1" in environment env1 is not a boolean; fix or clear it, or delete and recreate the attribute`},
		{userdata.ScopeMembership, userdata.DataTypeList, rows(`"x"`), 0,
			`invalid: Cannot change the type of "plan" to list: the value "x" of the membership of user "u1" in company "c1" in environment env1 is not a list; fix or clear it, or delete and recreate the attribute`},
		{userdata.ScopeEvent, userdata.DataTypeDatetime, rows(`"2024-01-01T00:00:00Z"`, `"2024-01-01"`), 1,
			`invalid: Cannot change the type of "plan" to datetime: the value "2024-01-01" of event ev1 of user "u2" in environment env1 is not a datetime (an ISO-8601 UTC instant such as 2024-01-31T09:30:00.000Z); fix or clear it, or delete and recreate the attribute`},
		// A value is shown compact, as PostgreSQL does not print jsonb.
		{userdata.ScopeUser, userdata.DataTypeList, rows(`{"y": 5, "z": [1, "a b"]}`), 0,
			`invalid: Cannot change the type of "plan" to list: the value {"y":5,"z":[1,"a b"]} of user "u1" in environment env1 is not a list; fix or clear it, or delete and recreate the attribute`},
		// A long value is cut at a character boundary, after 64 bytes.
		{userdata.ScopeUser, userdata.DataTypeString, rows(`[` + long + `]`), 0,
			`invalid: Cannot change the type of "plan" to string: the value ["` + strings.Repeat("é", 31) + `… of user "u1" in environment env1 is not a string; fix or clear it, or delete and recreate the attribute`},
		{userdata.ScopeUser, userdata.DataTypeList, rows(long), 0, // byte 64 is inside an é
			`invalid: Cannot change the type of "plan" to list: the value "` + strings.Repeat("é", 31) + `… of user "u1" in environment env1 is not a list; fix or clear it, or delete and recreate the attribute`},
	} {
		n, err := userdata.CheckStoredValues(tt.rows, tt.scope, "plan", tt.to)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if n != tt.n || got != tt.err {
			t.Errorf("CheckStoredValues(%s to %s) = %d, %q\nwant %d, %q", tt.scope, tt.to, n, got, tt.n, tt.err)
		}
		if err != nil && userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("error code %s, want invalid", userdata.ErrorCode(err))
		}
	}
	broken := errors.New("broken")
	if _, err := userdata.CheckStoredValues(&valueRows{err: broken}, userdata.ScopeUser, "plan", userdata.DataTypeNumber); !errors.Is(err, broken) {
		t.Errorf("CheckStoredValues with failing rows: %v, want %v", err, broken)
	}
}

func TestCheckCodeName(t *testing.T) {
	for _, s := range []string{"ab", "a1", "A_", "plan_tier", "x" + strings.Repeat("y", 99)} {
		if err := userdata.CheckCodeName("codeName", s); err != nil {
			t.Errorf("CheckCodeName(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "a", "1a", "_a", "a-b", "a b", "a.b", "é1", "ab\x00", "x" + strings.Repeat("y", 100)} {
		err := userdata.CheckCodeName("codeName", s)
		if userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.HasPrefix(err.Error(), "invalid: codeName must start with a letter") {
			t.Errorf("CheckCodeName(%q) = %v, want CodeInvalid", s, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestDefinitionInputsValidate(t *testing.T) {
	good := userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser, DataType: userdata.DataTypeNumber, CodeName: "seats", DisplayName: "Seats"}
	for _, tt := range []struct {
		name string
		in   interface{ Validate() error }
		want string // "" for valid
	}{
		{"attribute", &good, ""},
		{"attribute with description", &userdata.AttributeDefinitionInput{Scope: userdata.ScopeEvent, DataType: userdata.DataTypeDatetime, CodeName: "at", DisplayName: "x", Description: "d"}, ""},
		{"no scope", &userdata.AttributeDefinitionInput{DataType: 1, CodeName: "ab", DisplayName: "x"}, "scope must be one of"},
		{"object type", &userdata.AttributeDefinitionInput{Scope: 1, DataType: userdata.DataTypeObject, CodeName: "ab", DisplayName: "x"}, "dataType must be one of"},
		{"random_ab", &userdata.AttributeDefinitionInput{Scope: 1, DataType: userdata.DataTypeRandomAB, CodeName: "ab", DisplayName: "x"}, "dataType must be one of"},
		{"bad codeName", &userdata.AttributeDefinitionInput{Scope: 1, DataType: 1, CodeName: "a-b", DisplayName: "x"}, "codeName must start"},
		{"empty displayName", &userdata.AttributeDefinitionInput{Scope: 1, DataType: 1, CodeName: "ab"}, "displayName must not be empty"},
		{"long displayName", &userdata.AttributeDefinitionInput{Scope: 1, DataType: 1, CodeName: "ab", DisplayName: strings.Repeat("x", 256)}, "displayName must be at most 255 bytes"},
		{"NUL description", &userdata.AttributeDefinitionInput{Scope: 1, DataType: 1, CodeName: "ab", DisplayName: "x", Description: "a\x00"}, "description must be valid UTF-8"},
		{"update nothing", &userdata.AttributeDefinitionUpdate{}, ""},
		{"update all", &userdata.AttributeDefinitionUpdate{DisplayName: ptr("X"), Description: ptr(""), DataType: ptr(userdata.DataTypeList)}, ""},
		{"update empty displayName", &userdata.AttributeDefinitionUpdate{DisplayName: ptr("")}, "displayName must not be empty"},
		{"update random_number", &userdata.AttributeDefinitionUpdate{DataType: ptr(userdata.DataTypeRandomNumber)}, "dataType must be one of"},
		{"update bad description", &userdata.AttributeDefinitionUpdate{Description: ptr("\xff")}, "description must be valid UTF-8"},
		{"event", &userdata.EventDefinitionInput{CodeName: "signed_up", DisplayName: "Signed up", Attributes: []string{"any thing", ""}}, ""},
		{"event bad codeName", &userdata.EventDefinitionInput{CodeName: "signed up", DisplayName: "x"}, "codeName must start"},
		{"event no displayName", &userdata.EventDefinitionInput{CodeName: "ab"}, "displayName must not be empty"},
		{"event update", &userdata.EventDefinitionUpdate{Attributes: &[]string{}}, ""},
		{"event update NUL displayName", &userdata.EventDefinitionUpdate{DisplayName: ptr("\x00")}, "displayName must be valid UTF-8"},
	} {
		err := tt.in.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.want != "" && (userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate() = %v, want CodeInvalid with %q", tt.name, err, tt.want)
		}
	}
}

func TestEventAttributeIDs(t *testing.T) {
	names := userdata.UniqueNames([]string{"b", "a", "b", "c", "a"})
	if diff := cmp.Diff([]string{"b", "a", "c"}, names); diff != "" {
		t.Errorf("UniqueNames (-want +got):\n%s", diff)
	}
	ids, err := userdata.EventAttributeIDs(names, map[string]string{"a": "1", "b": "2", "c": "3"})
	if diff := cmp.Diff([]string{"2", "1", "3"}, ids); err != nil || diff != "" {
		t.Errorf("EventAttributeIDs: %v (-want +got):\n%s", err, diff)
	}
	_, err = userdata.EventAttributeIDs([]string{"x", "a", "y"}, map[string]string{"a": "1"})
	if userdata.ErrorCode(err) != userdata.CodeInvalid || err.Error() != "invalid: Unknown event attribute codeName(s): x, y" {
		t.Errorf("EventAttributeIDs with unknown names: %v", err)
	}
	if ids, err := userdata.EventAttributeIDs(nil, nil); err != nil || len(ids) != 0 {
		t.Errorf("EventAttributeIDs(nil) = %v, %v", ids, err)
	}
}
