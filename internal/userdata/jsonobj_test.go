package userdata

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzMerge checks the fast merge against the definition of §8.1 computed
// with encoding/json: for any stored object and any patch, the result
// decodes to the stored map overlaid with the patch, nulls removing keys.
func FuzzMerge(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"a":1,"b":"x"}`, `{"b":null,"c":[1,{"d":"}"}]}`},
		{` { "k\\"ey" : "v\\u00e9" , "n" : { "x" : [ ] } } `, `{"k\"ey":2.50,"new":"<&>"}`},
		{`{}`, `{"a":1e21,"b":-0.0,"c":1e-7,"d":true,"e":"\u2028"}`},
		{`{"a":[1,[2,[3]]],"b":"]}"}`, `{"a":null}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, stored, patch string) {
		var want map[string]any
		if json.Unmarshal([]byte(stored), &want) != nil || want == nil {
			return
		}
		var a Attributes
		if json.Unmarshal([]byte(patch), &a) != nil {
			return
		}
		for k, v := range a {
			if v == nil {
				delete(want, k)
			} else {
				want[k] = v
			}
		}
		merged, _, err := a.Merge(json.RawMessage(stored))
		if err != nil {
			t.Fatalf("Merge(%s, %s): %v", stored, patch, err)
		}
		var got map[string]any
		if err := json.Unmarshal(merged, &got); err != nil {
			t.Fatalf("Merge(%s, %s) = %s: not JSON: %v", stored, patch, merged, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Merge(%s, %s) = %s (-want +got):\n%s", stored, patch, merged, diff)
		}
	})
}

func TestStringAttribute(t *testing.T) {
	for _, tt := range []struct {
		attrs, want string
		ok          bool
	}{
		{`{"email":"a@b.co","x":1}`, "a@b.co", true},
		{`{"email":"\u0061@b.co"}`, "a@b.co", true},
		{`{"email":7}`, "", false},
		{`{"email":["a@b.co"]}`, "", false},
		{`{"emails":"a@b.co"}`, "", false},
		{`{}`, "", false},
		{`not json`, "", false},
	} {
		got, ok := StringAttribute(json.RawMessage(tt.attrs), "email")
		if got != tt.want || ok != tt.ok {
			t.Errorf("StringAttribute(%s) = %q, %t; want %q, %t", tt.attrs, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzDecodeAttributes checks the fast decoder against encoding/json.
func FuzzDecodeAttributes(f *testing.F) {
	for _, seed := range []string{
		`{"a":"x","b":1.5,"c":true,"d":null,"e":[1,"2"],"f":{"g":"\u00e9\\"}}`,
		`{"a":"\xff","b":-0,"c":1e400,"d":"tab\tx","a":"dup"}`, ` { } `, `{"k":-1E-7}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var want map[string]any
		if !json.Valid([]byte(raw)) {
			return
		}
		wantErr := json.Unmarshal([]byte(raw), &want)
		got, err := DecodeAttributes([]byte(raw))
		if (err != nil) != (wantErr != nil || want == nil) {
			t.Fatalf("DecodeAttributes(%s): error %v, encoding/json %v", raw, err, wantErr)
		}
		if err == nil {
			if diff := cmp.Diff(want, map[string]any(got)); diff != "" {
				t.Fatalf("DecodeAttributes(%s) (-encoding/json +fast):\n%s", raw, diff)
			}
		}
	})
}
