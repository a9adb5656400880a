package httpapi_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/userdata"
)

func TestAuthentication(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		token := strings.TrimPrefix(e.key, "ak_")
		for _, tt := range []struct {
			auth   string
			status int
			code   string
		}{
			{"", 401, "E1010"},
			{"Basic " + token, 401, "E1010"},
			{"bearer " + e.key, 401, "E1010"},
			{"Bearer", 401, "E1010"},
			{"Bearer ", 401, "E1010"},
			{"Bearer  " + e.key, 401, "E1010"},
			{"Bearer nope", 403, "E1000"},
			{"Bearer ak_", 403, "E1000"},
			{"Bearer ak_ak_" + token, 403, "E1000"},
			{"Bearer " + strings.ToUpper(e.key), 403, "E1000"},
		} {
			r := e.call("GET", "/v1/users", tt.auth, "")
			t.Run(tt.auth, func(t *testing.T) { r.wantError(t, tt.status, tt.code) })
		}
		// With or without the ak_ prefix, and with junk after a second space.
		for _, auth := range []string{"Bearer " + e.key, "Bearer " + token, "Bearer " + e.key + " trailing words"} {
			e.call("GET", "/v1/users", auth, "").want(t, http.StatusOK)
		}
		// Authentication comes before validation and body parsing.
		e.call("POST", "/v1/users", "", "{bad json").wantError(t, 401, "E1010")
		e.call("GET", "/v1/users?limit=0", "Bearer nope", "").wantError(t, 403, "E1000")
		// A revoked key is refused from then on.
		if err := e.store.RevokeKey(t.Context(), userdata.HashKey(token)); err != nil {
			t.Fatal(err)
		}
		e.do("GET", "/v1/users", "").wantError(t, 403, "E1000")
	})
}

func TestServiceEndpoints(t *testing.T) {
	e := newEnv(t, backendtest.SQLite)
	for _, p := range []string{"/healthz", "/readyz"} {
		if b := e.call("GET", p, "", "").want(t, 200); b["status"] != "ok" {
			t.Errorf("%s = %v", p, b)
		}
	}
	e.call("POST", "/healthz", "", "").wantError(t, 405, "E1033")
	// A database that does not answer makes readyz fail, healthz not.
	e.store.Close()
	if b := e.call("GET", "/readyz", "", "").want(t, 503); b["status"] != "unavailable" {
		t.Errorf("readyz on a closed store = %v", b)
	}
	e.call("GET", "/healthz", "", "").want(t, 200)
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t, backendtest.SQLite)
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string // of a 405: the methods, sorted, whatever the map order
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/v1/nope", 404, ""},
		{"GET", "/v1/users/a/b", 404, ""},
		{"GET", "/v1/users/", 404, ""},
		{"GET", "/v1//users", 404, ""},
		{"GET", "/v1/users/../users", 404, ""},
		{"GET", "/v1/users/./a", 404, ""},
		{"GET", "/v1/users/a/", 404, ""},
		{"GET", "/v1/content", 404, ""},
		{"PUT", "/v1/users", 405, "GET, POST"},
		{"PATCH", "/v1/users/x", 405, "DELETE, GET"},
		{"GET", "/v1/company-memberships", 405, "DELETE"},
		{"POST", "/v1/company-memberships", 405, "DELETE"},
		{"POST", "/v1/attribute-definitions", 405, "GET"},
		{"DELETE", "/v1/event-definitions", 405, "GET"},
	} {
		r := e.do(tt.method, tt.path, "")
		t.Run(tt.method+" "+tt.path, func(t *testing.T) { r.wantError(t, tt.status, "E1033") })
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

// Requests that net/http refuses before any handler runs get the envelope
// too, as 400 E1017, on a connection of the server's Listener.
func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, backendtest.SQLite)
	for name, req := range map[string]string{
		"bad path escape":                "GET /v1/users/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"no Host":                        "GET /v1/users HTTP/1.1\r\n\r\n",
		"HTTP/2.0 request line":          "GET /v1/users HTTP/2.0\r\nHost: x\r\n\r\n",
		"gzip transfer coding":           "POST /v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"two Content-Lengths":            "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"headers too large":              "GET /v1/users HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("x", 2<<20) + "\r\n\r\n",
		"Expect other than 100-continue": "POST /v1/users HTTP/1.1\r\nHost: x\r\nExpect: banana\r\nContent-Length: 2\r\n\r\n{}",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go io.WriteString(c, req) // the server may answer before it has read it all
			res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "?", URL: &url.URL{Path: "(" + name + ")"}})
			if err != nil {
				t.Fatal(err)
			}
			r := readResponse(t, res)
			r.wantError(t, 400, "E1017")
		})
	}
}
