package userdata_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// FuzzMergeOperations checks Merge against operations.md §2 computed on
// decoded values: for any stored object and any patch with operations,
// the result decodes to the reference result, or both fail with the same
// message; and a merge never reports unchanged a result that differs from
// what was stored.
func FuzzMergeOperations(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"n":1,"t":["a",1,true,{"x":1}],"s":"x"}`, `{"n":{"add":2},"t":{"union":["b","a",1.0]},"s":{"set_once":"y"},"z":{"remove":"q"}}`},
		{`{"n":"1","t":[1,"1"],"o":{}}`, `{"t":{"remove":["1",true]},"o":{"set":null},"m":{"subtract":-0.5}}`},
		{`{"n":1e308,"t":null}`, `{"n":{"add":1e308}}`},
		{`{"t":null,"u":[]}`, `{"t":{"append":"x"},"u":{"prepend":[]}}`},
		{`{"a":{"add":1}}`, `{"a":{"add":1,"x":2},"b":{"set":1,"data_type":"number"},"c":{"set_once":[1]}}`},
		{`{"a":"x","b":[],"c":"x","d":true}`, `{"d":{"add":1},"c":{"remove":1},"b":{"add":1},"a":{"union":1}}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, stored, patch string) {
		var base map[string]any
		if json.Unmarshal([]byte(stored), &base) != nil || base == nil || hasDuplicateKeys(stored) {
			return
		}
		a, err := userdata.DecodeAttributes([]byte(patch))
		if err != nil || userdata.ParseOperations("attributes", a, false) != nil {
			return
		}
		want, wantErr := referenceMerge(base, a)
		merged, changed, err := a.Merge(json.RawMessage(stored))
		if wantErr != "" {
			var e *userdata.Error
			if !errors.As(err, &e) || e.Message != wantErr {
				t.Fatalf("Merge(%s into %s) = %s, %v; want error %q", patch, stored, merged, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Merge(%s into %s): %v", patch, stored, err)
		}
		var got map[string]any
		if err := json.Unmarshal(merged, &got); err != nil {
			t.Fatalf("Merge(%s into %s) = %s: not JSON: %v", patch, stored, merged, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Merge(%s into %s) = %s (-want +got):\n%s", patch, stored, merged, diff)
		}
		if !changed && !cmp.Equal(base, got) {
			t.Fatalf("Merge(%s into %s) = %s reports unchanged", patch, stored, merged)
		}
	})
}

// hasDuplicateKeys reports whether the top-level object raw repeats a key
// (stored attributes never do).
func hasDuplicateKeys(raw string) bool {
	members, err := userdata.SplitObject([]byte(raw))
	if err != nil {
		return true
	}
	var keys []string
	for _, m := range members {
		keys = append(keys, m.Key())
	}
	slices.Sort(keys)
	return len(slices.Compact(keys)) != len(members)
}

// referenceMerge applies a to stored as operations.md §2 says, on decoded
// values, returning the result or the message of the first key (in order)
// whose operation cannot apply.
func referenceMerge(stored map[string]any, a userdata.Attributes) (map[string]any, string) {
	out := map[string]any{}
	for k, v := range stored {
		out[k] = v
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	errMsg := ""
	fail := func(k, what string, v any) {
		if errMsg == "" {
			errMsg = "attributes." + k + ": " + what + " a stored " + typeName(v)
		}
	}
	for _, k := range keys {
		cur, present := out[k]
		op, isOp := a[k].(*userdata.Op)
		switch {
		case a[k] == nil:
			delete(out, k)
		case !isOp:
			out[k] = a[k]
		case op.Kind == userdata.OpSet:
			out[k] = op.Value
		case op.Kind == userdata.OpSetOnce:
			if !present {
				out[k] = op.Value
			}
		case op.Kind == userdata.OpAdd:
			n, isNum := cur.(float64)
			switch {
			case present && !isNum:
				fail(k, "cannot add to", cur)
			case math.IsInf(n+op.Value.(float64), 0):
				if errMsg == "" {
					errMsg = "attributes." + k + ": the sum is too large for a number"
				}
			default:
				out[k] = n + op.Value.(float64)
			}
		default: // union, remove
			list, isList := cur.([]any)
			verb := map[userdata.OpKind]string{userdata.OpUnion: "cannot union with", userdata.OpRemove: "cannot remove from"}[op.Kind]
			switch {
			case present && !isList:
				fail(k, verb, cur)
			case op.Kind == userdata.OpUnion:
				list = slices.Clone(list)
				for _, e := range op.Value.([]any) {
					if !slices.Contains(list, e) {
						list = append(list, e)
					}
				}
				out[k] = append([]any{}, list...)
			case present:
				out[k] = slices.DeleteFunc(slices.Clone(list), func(e any) bool { return slices.Contains(op.Value.([]any), e) })
			}
		}
	}
	return out, errMsg
}

// typeName names a decoded JSON value's type as messages do.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "number"
}
