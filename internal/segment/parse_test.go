package segment_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

func TestParseEncode(t *testing.T) {
	for _, raw := range []string{
		`[]`,
		`[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"}]`,
		`[{"type":"group","match":"any","conditions":[` +
			`{"type":"attribute","scope":"company","attribute":"seats","op":"between","value":"1","value2":"5"},` +
			`{"type":"attribute","scope":"companyMembership","attribute":"tags","op":"includes_any","values":["a","b"]},` +
			`{"type":"attribute","scope":"user","attribute":"tags","op":"empty","values":[]}]}]`,
		`[{"type":"group","match":"all","conditions":[]}]`, // Validate refuses it
		`[{"type":"unsupported","note":"why"}]`,            // Validate refuses it
		`[{"type":"attribute","scope":"user","attribute":"q\"uote","op":"is","value":"\u65e5\n"}]`,
	} {
		conds, err := segment.Parse(json.RawMessage(raw))
		if err != nil {
			t.Errorf("Parse(%s): %v", raw, err)
			continue
		}
		var want any
		json.Unmarshal([]byte(raw), &want)
		var got any
		if err := json.Unmarshal(segment.Encode(conds), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Encode(Parse(%s)) (-want +got):\n%s", raw, diff)
		}
		// A Condition encodes alone as within Encode.
		if len(conds) > 0 {
			b, _ := json.Marshal(conds[0])
			if !strings.Contains(string(segment.Encode(conds)), string(b)) {
				t.Errorf("MarshalJSON of %s: %s", raw, b)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	const leaf = `"type":"attribute","scope":"user","attribute":"plan","op":"is"`
	for _, tt := range []struct {
		raw, want string
	}{
		{`{"type":"group"}`, "conditions must be an array"},
		{`[`, "conditions must be a JSON array"},
		{`[{"type":"event","event":"signed_up"}]`, `Segment conditions support only attribute conditions (and groups of them); got "event" at conditions[0]. `},
		{`[{"type":"group","match":"all","conditions":[{"type":"segment"}]}]`, `got "segment" at conditions[0].conditions[0]. `},
		{`[5]`, `got "undefined" at conditions[0]. `},
		{`[{"type":5}]`, `got "5" at conditions[0]. `},
		{`[{` + leaf + `,"value":5}]`,
			`Invalid segment conditions: conditions[0].value: must be a string (numbers and day counts are written as strings too, such as "5")`},
		{`[{` + leaf + `,"value":"pro","extra":1}]`, `Invalid segment conditions: conditions[0].extra: Unrecognized key: "extra"`},
		{`[{"type":"group","match":"all","operators":"and","conditions":[{` + leaf + `,"value":"x"}]}]`,
			`Invalid segment conditions: conditions[0].operators: Unrecognized key: "operators"`},
		{`[{` + leaf + `,"values":["a",1]}]`, `Invalid segment conditions: conditions[0].values[1]: must be a string`},
		{`[{` + leaf + `,"values":"a"}]`, `Invalid segment conditions: conditions[0].values: must be an array of strings`},
		{`[{` + leaf + `,"value2":null}]`, `Invalid segment conditions: conditions[0].value2: must be a string`},
		{`[{"type":"attribute","scope":"event","attribute":"","op":"matches"}]`,
			`Invalid segment conditions: conditions[0].scope: must be "user", "company" or "companyMembership"; ` +
				`conditions[0].attribute: must be a non-empty string, the codeName of an attribute; conditions[0].op: must be one of is, not, contains,`},
		{`[{"type":"group","match":"some","conditions":{}}]`,
			`Invalid segment conditions: conditions[0].match: must be "all" or "any"; conditions[0].conditions: must be an array of conditions`},
		{`[{` + leaf + `,"op":"not"}]`, `Invalid segment conditions: conditions[0].op: duplicate key "op"`},
		{`[{"type":"unsupported","note":1}]`, `Invalid segment conditions: conditions[0].note: must be a string`},
	} {
		_, err := segment.Parse(json.RawMessage(tt.raw))
		if userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.Contains(errorMessage(err), tt.want) {
			t.Errorf("Parse(%s):\n got %v\nwant %s…", tt.raw, err, tt.want)
		}
	}
}

// errorMessage returns the client message of err.
func errorMessage(err error) string {
	var e *userdata.Error
	if !errors.As(err, &e) {
		return fmt.Sprint(err)
	}
	return e.Message
}

func TestParseIssues(t *testing.T) {
	_, err := segment.Parse(json.RawMessage(`[{"type":"group","match":"any","conditions":[{"type":"attribute","scope":"user","attribute":"a","op":"is","value":1,"x":2}]}]`))
	var e *userdata.Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse: %v", err)
	}
	var paths []string
	for _, is := range e.Issues {
		paths = append(paths, is.Rule+" "+is.Path)
	}
	want := []string{"schema conditions[0].conditions[0].value", "schema conditions[0].conditions[0].x"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("issue paths (-want +got):\n%s", diff)
	}
}
