package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// codeName is v2's rule for attribute keys (api-v2.md §10.1).
var codeName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{1,99}$`)

func TestPutV2BodyMatchesUpsert(t *testing.T) {
	const ts = "2026-11-27T12:34:56.789Z"
	for _, n := range []int{1, 49, 50, 10000} {
		var v1 struct {
			ID         string         `json:"id"`
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal(upsertBody(n, ts), &v1); err != nil {
			t.Fatalf("upsertBody(%d): %v", n, err)
		}
		var v2 map[string]json.RawMessage
		if err := json.Unmarshal(putV2Body(n, ts), &v2); err != nil {
			t.Fatalf("putV2Body(%d): %v", n, err)
		}
		if len(v2) != 1 || v2["attributes"] == nil {
			t.Errorf("putV2Body(%d) members = %v, want only attributes", n, v2)
		}
		var attrs map[string]any
		if err := json.Unmarshal(v2["attributes"], &attrs); err != nil {
			t.Fatalf("putV2Body(%d) attributes: %v", n, err)
		}
		if !reflect.DeepEqual(attrs, v1.Attributes) {
			t.Errorf("putV2Body(%d) attributes = %v, want upsertBody's %v", n, attrs, v1.Attributes)
		}
		for k := range attrs {
			if !codeName.MatchString(k) {
				t.Errorf("attribute key %q breaks v2's codeName rule", k)
			}
		}
	}
}

// luaFormat returns the first string.format template of a wrk script.
func luaFormat(t *testing.T, script string) string {
	t.Helper()
	m := regexp.MustCompile(`string\.format\('([^']*)'`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("no string.format('…') in the script")
	}
	return m[1]
}

// TestLuaBodiesMatch checks that the bodies the wrk scripts build (their
// string.format templates, whose verbs mean the same in Lua and Go) are
// the ones the preflight probe sends.
func TestLuaBodiesMatch(t *testing.T) {
	const ph = "2026-11-27T10:00:00.000Z"
	for _, n := range []int{1, 77, 10000} {
		if got, want := fmt.Sprintf(luaFormat(t, upsertLua), n, n, n, n%50, ph), string(upsertBody(n, ph)); got != want {
			t.Errorf("upsertLua body = %s, want %s", got, want)
		}
		if got, want := fmt.Sprintf(luaFormat(t, putV2Lua), n, n, n%50, ph), string(putV2Body(n, ph)); got != want {
			t.Errorf("putV2Lua body = %s, want %s", got, want)
		}
		if got, want := fmt.Sprintf(luaFormat(t, addLua), n), string(addBody(n)); got != want {
			t.Errorf("addLua body = %s, want %s", got, want)
		}
	}
}

func TestLoadOrderAndScripts(t *testing.T) {
	c := creds{key: "ak_k", token: "utp_t", project: "p1", environment: "e1"}
	idx := map[string]int{}
	for i, ld := range loads {
		idx[ld.name] = i
	}
	if i, ok := idx[v2PutLoad]; !ok || idx[v1UpsertLoad] != i-1 {
		t.Errorf("loads order %v: want %q right after %q", idx, v2PutLoad, v1UpsertLoad)
	}
	for _, ld := range loads {
		s := ld.script(c, 123)
		if !strings.Contains(s, "local users = 123\n") {
			t.Errorf("%s: script lacks the users count:\n%s", ld.name, s)
		}
		wantAuth, otherAuth := `"Bearer ak_k"`, `"Bearer utp_t"`
		if ld.v2 {
			wantAuth, otherAuth = otherAuth, wantAuth
			if !strings.Contains(s, `local base = "/v2/projects/p1/environments/e1"`) {
				t.Errorf("%s: script lacks the v2 base:\n%s", ld.name, s)
			}
		}
		if !strings.Contains(s, `wrk.headers["Authorization"] = `+wantAuth) || strings.Contains(s, otherAuth) {
			t.Errorf("%s: script should authenticate with %s only:\n%s", ld.name, wantAuth, s)
		}
	}
	v2 := loads[idx[v2PutLoad]]
	if got, want := v2.fullPath(c, v2.path), "/v2/projects/p1/environments/e1/users/bench-user-1"; got != want {
		t.Errorf("v2 load path = %s, want %s", got, want)
	}
	if method, path, _ := v2.sample(5); method != "PUT" || v2.fullPath(c, path) != "/v2/projects/p1/environments/e1/users/bench-user-5" {
		t.Errorf("v2 sample = %s %s", method, v2.fullPath(c, path))
	}
}

func TestPickTenant(t *testing.T) {
	out := []byte(`[{"id":"p0","name":"other","environments":[{"id":"e0","name":"production","isPrimary":true}]},` +
		`{"id":"p1","name":"default","environments":[{"id":"e1","name":"staging","isPrimary":true},{"id":"e2","name":"production","isPrimary":false}]},` +
		`{"id":"p2","name":"default","environments":[{"id":"e3","name":"production","isPrimary":true}]}]` + "\n")
	p, e, err := pickTenant(out, "default", "production")
	if err != nil || p != "p1" || e != "e2" {
		t.Errorf("pickTenant = %q, %q, %v; want p1, e2", p, e, err)
	}
	if _, _, err := pickTenant(out, "nope", "production"); err == nil {
		t.Error("pickTenant of a missing project: no error")
	}
	if _, _, err := pickTenant(out, "other", "staging"); err == nil {
		t.Error("pickTenant of a missing environment: no error")
	}
	if _, _, err := pickTenant([]byte("not json"), "default", "production"); err == nil {
		t.Error("pickTenant of bad JSON: no error")
	}
}

func TestLastLine(t *testing.T) {
	out := "created token cmxb2 of project cmx8 (scopes user:read,user:write; environments cmx5; never expires); it is shown only once:\nutp_2rgu3Hc3\n\n"
	if got := lastLine([]byte(out)); got != "utp_2rgu3Hc3" {
		t.Errorf("lastLine = %q", got)
	}
}

func TestReportV2Ratio(t *testing.T) {
	rep := &report{}
	for _, r := range []struct {
		target, load string
		rps          float64
	}{
		{"ceiling", v1UpsertLoad, 40000}, {"ceiling", v2PutLoad, 38000},
		{"tourd", v1UpsertLoad, 10000}, {"tourd", v2PutLoad, 9234},
	} {
		rep.add(row{target: r.target, load: r.load, wrk: &wrkResult{ReqPerSec: r.rps, P50: time.Millisecond, P99: 2 * time.Millisecond}})
	}
	var b bytes.Buffer
	rep.print(&b)
	for _, want := range []string{
		"\nPUT v2 user / POST upsert (tourd): 92.3%\n",
		"\nPUT v2 user / POST upsert (ceiling): 95.0%\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseProcCPU(t *testing.T) {
	// utime 250 and stime 50 ticks, after a command name with a space and
	// a parenthesis.
	stat := "1234 (tourd (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
	if d, err := parseProcCPU(stat); err != nil || d != 3*time.Second {
		t.Errorf("parseProcCPU = %v, %v; want 3s", d, err)
	}
	if _, err := parseProcCPU("1234 (x) S 1"); err == nil {
		t.Error("parseProcCPU of a short line succeeded")
	}
}
