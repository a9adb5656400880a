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

// TestCompactNumbers checks that numbers PostgreSQL prints in plain decimal
// come out as JavaScript (and the SQLite backend) prints them.
func TestCompactNumbers(t *testing.T) {
	in := `{"a": 1000000000000000000000, "b": 0.0000001, "c": [-123456789012345680000000000000, 0.000001], "d": 12345678901234567000, "e": -0.5, "f": "0.0000001 1000000000000000000000"}`
	want := `{"a":1e+21,"b":1e-7,"c":[-1.2345678901234568e+29,0.000001],"d":12345678901234567000,"e":-0.5,"f":"0.0000001 1000000000000000000000"}`
	if got := compact([]byte(in)); string(got) != want {
		t.Errorf("compact(%s) =\n%s, want\n%s", in, got, want)
	}
}
