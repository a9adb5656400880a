package userdata_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"tourd/internal/userdata"
)

// MergeChange finds on the way the previous attributes that
// PreviousAttributes computes from the stored and the merged attributes,
// on random stored objects and patches of literals, nulls and operations.
func TestMergeChangePrevious(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []string{`1`, `2`, `"a"`, `"b"`, `true`, `null`, `[1,"a"]`, `{"x":1}`, `{"add":1}`, `{"union":["a"]}`, `{"set_once":3}`}
	keys := []string{"a", "b", "c", "d", "é", "k\"q"}
	object := func(withNulls bool) string {
		m := map[string]json.RawMessage{}
		for _, k := range keys {
			if r.IntN(2) == 0 {
				continue
			}
			v := values[r.IntN(len(values))]
			if v == `null` && !withNulls || !withNulls && v[0] == '{' && v != `{"x":1}` {
				v = `0`
			}
			m[k] = json.RawMessage(v)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	compared := 0
	for i := range 2000 {
		stored, patch := object(false), object(true)
		a, err := userdata.DecodeAttributes([]byte(patch))
		if err == nil {
			err = userdata.ParseOperations("attributes", a, false)
		}
		if err != nil {
			continue
		}
		merged, previous, changed, err := a.MergeChange(json.RawMessage(stored))
		plain, plainChanged, plainErr := a.Merge(json.RawMessage(stored))
		if (err == nil) != (plainErr == nil) || err == nil && (string(plain) != string(merged) || plainChanged != changed) {
			t.Fatalf("case %d: MergeChange(%s) of %s = %s, %v, %v; Merge = %s, %v, %v", i, patch, stored, merged, changed, err, plain, plainChanged, plainErr)
		}
		if err != nil || !changed {
			if previous != nil {
				t.Fatalf("case %d: previous %s without a change", i, previous)
			}
			continue
		}
		want, err := userdata.PreviousAttributes(json.RawMessage(stored), merged)
		if err != nil || string(want) != string(previous) {
			t.Fatalf("case %d: %s onto %s: previous %s, want %s (%v)", i, patch, stored, previous, want, err)
		}
		compared++
	}
	if compared < 500 {
		t.Fatalf("only %d of the cases changed something", compared)
	}
}
