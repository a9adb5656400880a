package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
)

func TestImportUsers(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"old","attributes":{"a":1}}`).want(t, 201)
		lines := []string{
			`{"id":"u1","attributes":{"n":1},"companies":[{"id":"acme"}]}`, // 1
			``,   // 2: blank
			`  `, // 3: blank
			`{"id":"u1","attributes":{"n":2,"m":true}}`, // 4: later line wins
			`{bad json`, // 5
			`{"id":"x","companies":[],"memberships":[]}`,  // 6: both set
			`{"id":"old","attributes":{"a":null,"b":2}}`,  // 7: update
			`{"id":"import","attributes":{"k":"v"}}`,      // 8
			`{"id":"` + strings.Repeat("x", 1<<20) + `"}`, // 9: over 1 MiB
			`{"id":""}`, // 10
			`{"id":"u2","memberships":[{"company":{"id":"acme"},"attributes":{"role":"admin"}}]}`, // 11, no newline after
		}
		got := e.do("POST", "/v1/users/import", strings.Join(lines, "\n")).want(t, 200)
		want := map[string]any{"object": "import", "created": 3.0, "updated": 2.0, "failed": 4.0, "errors": []any{
			map[string]any{"line": 5.0, "code": "E1017"}, map[string]any{"line": 6.0, "code": "E1017"},
			map[string]any{"line": 9.0, "code": "E1018"}, map[string]any{"line": 10.0, "code": "E1017"},
		}}
		for _, er := range got["errors"].([]any) {
			m := er.(map[string]any)
			if msg, _ := m["message"].(string); msg == "" {
				t.Errorf("error without message: %v", m)
			}
			delete(m, "message")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("import answer (-want +got):\n%s", diff)
		}
		u1 := e.do("GET", "/v1/users/u1?expand=companies", "").want(t, 200)
		if a := u1["attributes"].(map[string]any); a["n"] != 2.0 || a["m"] != true || len(u1["companies"].([]any)) != 1 {
			t.Errorf("u1 after import: %v", u1)
		}
		if a := e.do("GET", "/v1/users/old", "").want(t, 200)["attributes"].(map[string]any); a["a"] != nil || a["b"] != 2.0 {
			t.Errorf("old after import: %v", a)
		}
		// The user whose id is "import" is reachable like any other.
		if u := e.do("GET", "/v1/users/import", "").want(t, 200); u["id"] != "import" {
			t.Errorf("GET /v1/users/import = %v", u)
		}
		e.do("DELETE", "/v1/users/import", "").want(t, 200)
		e.do("GET", "/v1/users/import", "").wantError(t, 404, "E1001")
		m := e.do("GET", "/v1/users/u2?expand=memberships", "").want(t, 200)["memberships"].([]any)
		if len(m) != 1 || m[0].(map[string]any)["attributes"].(map[string]any)["role"] != "admin" {
			t.Errorf("u2 memberships: %v", m)
		}
		e.do("GET", "/v1/users/x", "").wantError(t, 404, "E1001")
		e.call("POST", "/v1/users/import", "", lines[0]).wantError(t, 401, "E1010")
		e.do("PUT", "/v1/users/import", "").wantError(t, 405, "E1033")
	})
}

func TestImportCompaniesAndErrorCap(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		var body strings.Builder
		for i := range 1200 { // more than one store batch
			fmt.Fprintf(&body, `{"id":"c%d","attributes":{"i":%d}}`+"\n", i%1000, i)
		}
		for range 150 {
			body.WriteString(`{"id":"c1","attributes":"not an object"}` + "\n")
		}
		got := e.do("POST", "/v1/companies/import", body.String()).want(t, 200)
		if got["created"] != 1000.0 || got["updated"] != 200.0 || got["failed"] != 150.0 || len(got["errors"].([]any)) != 100 {
			t.Errorf("import: created %v updated %v failed %v, %d errors", got["created"], got["updated"], got["failed"], len(got["errors"].([]any)))
		}
		if first := got["errors"].([]any)[0].(map[string]any); first["line"] != 1201.0 {
			t.Errorf("first error %v, want line 1201", first)
		}
		if a := e.do("GET", "/v1/companies/c5", "").want(t, 200)["attributes"].(map[string]any); a["i"] != 1005.0 {
			t.Errorf("c5 = %v, want the later line's value", a)
		}
		empty := e.do("POST", "/v1/companies/import", "").want(t, 200)
		if empty["created"] != 0.0 || empty["failed"] != 0.0 {
			t.Errorf("empty import: %v", empty)
		}
	})
}

// An import stream is not bound by the server's read timeout, only by
// Server.StreamIdleTimeout: a slow, steady stream is read to its end, and
// one that stops sending fails with 400 E1017 with exactly the lines read
// whole before the break applied.
func TestImportStream(t *testing.T) {
	e := newEnv(t, backendtest.SQLite)
	api := httpapi.New(e.store, backendtest.Discard, "")
	api.StreamIdleTimeout = 300 * time.Millisecond
	srv := httptest.NewUnstartedServer(api)
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	send := func(lines []string, end bool) *response {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		pr, pw := io.Pipe()
		defer pw.Close()
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/users/import", pr)
		req.Header.Set("Authorization", "Bearer "+e.key)
		go func() {
			for _, l := range lines {
				time.Sleep(100 * time.Millisecond)
				io.WriteString(pw, l)
			}
			if end {
				pw.Close()
			}
		}()
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readResponse(t, res)
	}
	slow := []string{`{"id":"a1"}` + "\n", `{"id":"a2"}` + "\n", `{"id":"a3"}` + "\n", `{"id":"a4"}` + "\n", `{"id":"a5"}`}
	if got := send(slow, true).want(t, 200); got["created"] != 5.0 {
		t.Errorf("slow import: %v", got)
	}
	stalled := []string{`{"id":"s1"}` + "\n" + `{"id":"s2"}` + "\n" + `{"bad"}` + "\n" + `{"id":"s3"}` + "\n" + `{"id":"s4"`}
	r := send(stalled, false)
	r.wantError(t, 400, "E1017")
	msg := r.body["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "line 5") || !strings.Contains(msg, "3 created, 0 updated, 1 failed") {
		t.Errorf("message %q", msg)
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		e.do("GET", "/v1/users/"+id, "").want(t, 200)
	}
	e.do("GET", "/v1/users/s4", "").wantError(t, 404, "E1001")
}

// When the server drains (StopStreams), an import stream waiting for its
// client stops at once: it applies the lines read whole and answers 503
// with Retry-After and the counts, long before the stream's idle timeout.
func TestImportStopStreams(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		api := httpapi.New(e.store, backendtest.Discard, "")
		srv := httptest.NewServer(api) // StreamIdleTimeout: a minute
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		pr, pw := io.Pipe()
		context.AfterFunc(ctx, func() { pw.Close() }) // else the client waits for the body's end
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/users/import", pr)
		req.Header.Set("Authorization", "Bearer "+e.key)
		answer := make(chan *response, 1)
		go func() {
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				answer <- nil
				return
			}
			answer <- readResponse(t, res)
		}()
		var lines strings.Builder
		for i := 1; i <= 502; i++ {
			fmt.Fprintf(&lines, `{"id":"u%d"}`+"\n", i)
		}
		lines.WriteString(`{"id":"u50`) // line 503, cut
		io.WriteString(pw, lines.String())
		// Once the first batch (500 lines) is in, the stream is being read.
		for deadline := time.Now().Add(10 * time.Second); e.do("GET", "/v1/users/u500", "").status != 200; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the first batch of the import was not applied")
			}
		}
		api.StopStreams()
		r := <-answer
		if r == nil {
			return
		}
		r.wantError(t, 503, "E0000")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want 1", got)
		}
		msg := r.body["error"].(map[string]any)["message"].(string)
		var line, created, updated, failed int
		if _, err := fmt.Sscanf(msg[strings.Index(msg, "at line "):], "at line %d; the lines before it were applied (%d created, %d updated, %d failed)",
			&line, &created, &updated, &failed); err != nil {
			t.Fatalf("message %q: %v", msg, err)
		}
		if line < 501 || created != line-1 || updated != 0 || failed != 0 {
			t.Fatalf("message %q: want line > 500 and every line before it created", msg)
		}
		e.do("GET", fmt.Sprintf("/v1/users/u%d", line-1), "").want(t, 200)
		e.do("GET", fmt.Sprintf("/v1/users/u%d", line), "").wantError(t, 404, "E1001")
	})
}
