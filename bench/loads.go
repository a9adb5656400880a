package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// creds are the credentials and tenant ids the loads use: v1 loads
// authenticate with the API key, v2 loads with the personal token and
// address the project and environment the key opens.
type creds struct {
	key         string // ak_ API key (v1)
	token       string // utp_ personal token (v2)
	project     string // v2 project id
	environment string // v2 environment id, the key's environment
}

// v2Base returns the v2 path prefix of the creds' environment,
// /v2/projects/{projectId}/environments/{environmentId}.
func (c creds) v2Base() string {
	return "/v2/projects/" + c.project + "/environments/" + c.environment
}

// load is one kind of request mix driven by wrk against a server.
type load struct {
	name string // as shown in the report
	slug string // used in file names
	path string // path of the URL handed to wrk (the script sets each request's path); for v2 loads, relative to creds.v2Base

	// v2 tells that the load goes to a v2 route: its paths are relative
	// to creds.v2Base and it authenticates with the personal token.
	v2 bool

	// lua is the body of the wrk script, a text/template executed with
	// luaParams after the shared preamble.
	lua string

	// sample returns the request the load sends for user n, used by the
	// preflight probe; for v2 loads the path is relative to
	// creds.v2Base.
	sample func(n int) (method, path string, body []byte)
}

// fullPath returns p, a path of the load, as sent: under the v2 base for
// v2 loads.
func (l load) fullPath(c creds, p string) string {
	if l.v2 {
		return c.v2Base() + p
	}
	return p
}

// auth returns the Authorization header value of the load's requests.
func (l load) auth(c creds) string {
	if l.v2 {
		return "Bearer " + c.token
	}
	return "Bearer " + c.key
}

// loads are the loads run against every target, in order.
var loads = []load{
	{
		name: v1UpsertLoad,
		slug: "post-upsert",
		path: "/v1/users",
		lua:  upsertLua,
		sample: func(n int) (string, string, []byte) {
			return http.MethodPost, "/v1/users", upsertBody(n, "2026-11-27T10:00:00.000Z")
		},
	},
	{
		// The v2 counterpart of "POST upsert": the same attributes for
		// the same users, the id in the path. It comes right after
		// "POST upsert" so that the two are measured in the same run.
		name: v2PutLoad,
		slug: "put-v2-user",
		path: "/users/bench-user-1",
		v2:   true,
		lua:  putV2Lua,
		sample: func(n int) (string, string, []byte) {
			return http.MethodPut, "/users/" + userID(n), putV2Body(n, "2026-11-27T10:00:00.000Z")
		},
	},
	{
		name: "POST add",
		slug: "post-add",
		path: "/v1/users",
		lua:  addLua,
		sample: func(n int) (string, string, []byte) {
			return http.MethodPost, "/v1/users", addBody(n)
		},
	},
	{
		name: "GET user",
		slug: "get-user",
		path: "/v1/users/bench-user-1",
		lua:  getLua,
		sample: func(n int) (string, string, []byte) {
			return http.MethodGet, "/v1/users/" + userID(n), nil
		},
	},
}

// userID returns the id of seeded user n (1-based).
func userID(n int) string { return "bench-user-" + strconv.Itoa(n) }

// seedBody returns the POST /v1/users body that seeds user n.
func seedBody(n int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"attributes":{"name":"User %d","email":"user%d@example.com","plan":"pro","seats":%d,"active":true}}`,
		userID(n), n, n, n%50)
}

// upsertBody returns the POST /v1/users body of the upsert load for user
// n; it must match the body built by upsertLua.
func upsertBody(n int, lastLogin string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"attributes":{"name":"User %d","email":"user%d@example.com","plan":"pro","seats":%d,"last_login":%q}}`,
		userID(n), n, n, n%50, lastLogin)
}

// putV2Body returns the body of the v2 user PUT load for user n: the
// attributes of upsertBody(n, lastLogin), without the id (it is in the
// path). It must match the body built by putV2Lua.
func putV2Body(n int, lastLogin string) []byte {
	return fmt.Appendf(nil, `{"attributes":{"name":"User %d","email":"user%d@example.com","plan":"pro","seats":%d,"last_login":%q}}`,
		n, n, n%50, lastLogin)
}

// addBody returns the POST /v1/users body of the add load for user n: five
// attributes, all changed by an operation (operations.md), as addLua
// builds it.
func addBody(n int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"attributes":{"logins":{"add":1},"sessions":{"add":1},"seats":{"add":1},"points":{"add":2.5},"credits":{"subtract":1}}}`,
		userID(n))
}

// luaParams are the values substituted into the wrk scripts.
type luaParams struct {
	Users int
	Auth  string // Lua string literal of the Authorization header value
	Base  string // Lua string literal of the v2 path prefix (creds.v2Base)
}

// luaPreamble is shared by all wrk scripts: settings, per-thread random
// seeds and the users count. wrk runs setup in its main Lua state and
// init in each thread's own state.
const luaPreamble = `-- Generated by tourd bench (go run ./bench); do not edit.
local users = {{.Users}}
wrk.headers["Authorization"] = {{.Auth}}

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
end
`

// timestampedLua returns the script of a load that sends method to the
// path given by the Lua expression path for a random seeded user n, with
// the body the Lua expression body builds, whose last_login timestamp is
// random on every request. The raw request of each user is built once per
// thread with a fixed-width placeholder timestamp and split around it, so
// that each request only costs a concatenation (Content-Length does not
// change).
func timestampedLua(method, path, body string) string {
	return `
wrk.method = "` + method + `"
wrk.headers["Content-Type"] = "application/json"

local base = {{.Base}}
local placeholder = "2026-11-27T10:00:00.000Z"
local cache = {}

local function build(n)
  local body = ` + body + `
  local req = wrk.format(nil, ` + path + `, nil, body)
  local i, j = string.find(req, placeholder, 1, true)
  local parts = { string.sub(req, 1, i - 1), string.sub(req, j + 1) }
  cache[n] = parts
  return parts
end

function request()
  local n = math.random(users)
  local parts = cache[n] or build(n)
  local ts = string.format("2026-11-27T%02d:%02d:%02d.%03dZ",
    math.random(0, 23), math.random(0, 59), math.random(0, 59), math.random(0, 999))
  return parts[1] .. ts .. parts[2]
end
`
}

// upsertLua sends POST /v1/users for a random seeded user with five
// attributes, the last_login timestamp random on every request. It must
// match upsertBody.
var upsertLua = timestampedLua("POST", `"/v1/users"`,
	`string.format('{"id":"bench-user-%d","attributes":{"name":"User %d","email":"user%d@example.com","plan":"pro","seats":%d,"last_login":"%s"}}',
    n, n, n, n % 50, placeholder)`)

// putV2Lua sends PUT {base}/users/{id} (v2) for a random seeded user with
// the attributes of upsertLua, built the same way. It must match
// putV2Body.
var putV2Lua = timestampedLua("PUT", `base .. "/users/bench-user-" .. n`,
	`string.format('{"attributes":{"name":"User %d","email":"user%d@example.com","plan":"pro","seats":%d,"last_login":"%s"}}',
    n, n, n % 50, placeholder)`)

// addLua sends POST /v1/users for a random seeded user with five
// attributes that are all operations (add and subtract): every request
// changes the user, as in upsertLua. It must match addBody.
const addLua = `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local cache = {}

function request()
  local n = math.random(users)
  local req = cache[n]
  if not req then
    local body = string.format('{"id":"bench-user-%d","attributes":{"logins":{"add":1},"sessions":{"add":1},"seats":{"add":1},"points":{"add":2.5},"credits":{"subtract":1}}}', n)
    req = wrk.format(nil, "/v1/users", nil, body)
    cache[n] = req
  end
  return req
end
`

// getLua sends GET /v1/users/{id} for a random seeded user; the raw
// request of each user is built once per thread.
const getLua = `
wrk.method = "GET"
local cache = {}

function request()
  local n = math.random(users)
  local req = cache[n]
  if not req then
    req = wrk.format(nil, "/v1/users/bench-user-" .. n)
    cache[n] = req
  end
  return req
end
`

// script returns the wrk Lua script of the load for the given credentials
// and number of seeded users.
func (l load) script(c creds, users int) string {
	t := template.Must(template.New(l.slug).Parse(luaPreamble + l.lua))
	var b strings.Builder
	if err := t.Execute(&b, luaParams{Users: users, Auth: luaQuote(l.auth(c)), Base: luaQuote(c.v2Base())}); err != nil {
		panic(err) // the templates are constants and the params are plain values
	}
	return b.String()
}

// luaQuote returns s as a Lua string literal; bytes other than printable
// ASCII, quotes and backslashes are written as decimal escapes, which
// every Lua version understands.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// probe sends one request of the load (for the last seeded user) to the
// server at baseURL and checks that it answers 200 with a JSON object
// carrying the user's id, so that a load never measures error responses.
func probe(ctx context.Context, baseURL string, l load, c creds, users int) error {
	method, path, body := l.sample(users)
	path = l.fullPath(c, path)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", l.auth(c))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s, want 200 OK: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	var got struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		return fmt.Errorf("%s %s: response is not a JSON object: %w: %s", method, path, err, data)
	}
	if want := userID(users); got.ID != want {
		return fmt.Errorf("%s %s: response id %q, want %q", method, path, got.ID, want)
	}
	return nil
}
