package postgres

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestCompact checks compact against json.Compact on JSON printed with
// whitespace, as PostgreSQL prints jsonb, including strings that hold
// whitespace, quotes and backslashes.
func TestCompact(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a": 1, "b": [1, 2, {"c": null}], "d": true}`,
		`{"s": "a b,  c: d", "q": "x\" y", "e": "\\", "f": "\\\" z", "u": "\u00e9 \n"}`,
		"{\n\t\"a\" :\r\n 1 }", `  "top"  `, `[ "a\\" , "b" ]`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := compact([]byte(in)); string(got) != want.String() {
			t.Errorf("compact(%s) = %s, want %s", in, got, want.String())
		}
	}
}
