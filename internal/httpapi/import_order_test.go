package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
)

// Import errors are listed in line order, and the list keeps the failed
// lines with the lowest numbers, even when the store refuses a line (an
// operation that cannot apply) after later lines of its batch have failed
// decoding.
func TestImportErrorsInLineOrder(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		lines := []string{`{"id":"u","attributes":{"s":"x"}}`, `{"id":"u","attributes":{"s":{"add":1}}}`}
		for range 100 {
			lines = append(lines, `{bad`)
		}
		got := e.do("POST", "/v1/users/import", strings.Join(lines, "\n")).want(t, 200)
		var nums, want []float64
		for _, er := range got["errors"].([]any) {
			nums = append(nums, er.(map[string]any)["line"].(float64))
		}
		for n := 2; n <= 101; n++ {
			want = append(want, float64(n))
		}
		if diff := cmp.Diff(want, nums); diff != "" || got["failed"] != 101.0 {
			t.Errorf("failed %v, error lines (-want +got):\n%s", got["failed"], diff)
		}
		if first := got["errors"].([]any)[0].(map[string]any); first["message"] != "attributes.s: cannot add to a stored string" {
			t.Errorf("first error %v, want line 2's", first)
		}
	})
}
