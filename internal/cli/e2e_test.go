package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// binary is the tourd binary built once for the end-to-end tests, with the
// Dockerfile's build command.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tourd-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tourd")
	if err := buildAsDocker(binary); err != nil {
		fmt.Fprintln(os.Stderr, "building tourd as the Dockerfile does:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tourd runs the binary to completion and returns its standard output.
func tourd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append(os.Environ(), "TOURD_DB=", "TOURD_ADDR=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tourd %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// newKey creates a key with the CLI, which prints it as the last line.
func newKey(t *testing.T, db string, args ...string) string {
	t.Helper()
	out := strings.Split(strings.TrimSpace(tourd(t, append([]string{"keys", "create", "--db", db}, args...)...)), "\n")
	key := out[len(out)-1]
	if !regexp.MustCompile(`^ak_[A-Za-z0-9_-]{32,}$`).MatchString(key) {
		t.Fatalf("keys create printed %q as its last line", key)
	}
	return key
}

// server is a running tourd serve process.
type server struct {
	cmd     *exec.Cmd
	base    string
	started string // the log line saying it listens
	done    chan error
	logs    *backendtest.Buffer // its standard error
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// serve starts tourd serve on a random port, with the given flags besides
// --addr and --db, and waits until it listens.
func serve(t *testing.T, db string, flags ...string) *server {
	t.Helper()
	return start(t, exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, flags...)...))
}

// start starts cmd, a tourd serve command, and waits until it listens.
func start(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1), logs: &backendtest.Buffer{}}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logs.Write([]byte(sc.Text() + "\n"))
			if listening.MatchString(sc.Text()) {
				started <- sc.Text()
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case line := <-started:
		s.started, s.base = line, "http://"+listening.FindStringSubmatch(line)[1]
	case err := <-s.done:
		t.Fatalf("tourd serve exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("tourd serve did not start listening")
	}
	return s
}

// request sends a request and decodes the JSON answer.
func (s *server) request(t *testing.T, method, path, key string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return res.StatusCode, out
}

func TestEndToEnd(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		db := b.DSN(t)
		key := newKey(t, db) // before the server runs
		s := serve(t, db)
		if code, body := s.request(t, "GET", "/healthz", "", nil); code != 200 || body["status"] != "ok" {
			t.Fatalf("healthz: %d %v", code, body)
		}
		if code, _ := s.request(t, "GET", "/readyz", "", nil); code != 200 {
			t.Fatalf("readyz: %d", code)
		}
		const example = `{"id":"usr_123456789","attributes":{"name":"John Doe","email":"john.doe@example.com","signed_up_at":"2024-03-20T08:30:00.000Z"}}`
		code, first := s.request(t, "POST", "/v1/users", key, strings.NewReader(example))
		if code != 201 || first["id"] != "usr_123456789" || first["object"] != "user" || first["createdAt"] != first["created_at"] {
			t.Fatalf("first POST: %d %v", code, first)
		}
		code, second := s.request(t, "POST", "/v1/users", key, strings.NewReader(example))
		if code != 200 || second["createdAt"] != first["createdAt"] {
			t.Fatalf("second POST: %d %v", code, second)
		}
		// A key made while the server runs works at once; a revoked one is
		// refused at once.
		staging := newKey(t, db, "--project", "default", "--environment", "staging")
		if code, body := s.request(t, "GET", "/v1/users/usr_123456789", staging, nil); code != 404 {
			t.Errorf("staging key reads production: %d %v", code, body)
		}
		tourd(t, "keys", "revoke", "--db", db, staging)
		if code, _ := s.request(t, "GET", "/v1/users", staging, nil); code != 403 {
			t.Errorf("revoked key: status %d, want 403", code)
		}
		list := tourd(t, "keys", "list", "--db", db)
		if strings.Contains(list, key) || strings.Count(list, "\n") != 3 || !strings.Contains(list, "false") {
			t.Errorf("keys list:\n%s", list)
		}
		if code, body := s.request(t, "GET", "/v1/attribute-definitions?scope=user&limit=100", key, nil); code != 200 || len(body["results"].([]any)) != 6 {
			t.Errorf("definitions: %d %v", code, body)
		}
		// A request net/http refuses by itself is answered in the envelope.
		c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, "GET /v1/users/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		c.Close()
		if res.StatusCode != 400 || !strings.Contains(string(raw), `"code":"E1017"`) {
			t.Errorf("bad path escape: %d %s", res.StatusCode, raw)
		}

		// SIGTERM lets an in-flight request finish: its body arrives after
		// the signal.
		pr, pw := io.Pipe()
		type answer struct {
			code int
			body map[string]any
		}
		answered := make(chan answer, 1)
		go func() {
			code, body := s.request(t, "POST", "/v1/users", key, pr)
			answered <- answer{code, body}
		}()
		fmt.Fprint(pw, `{"id":"in-flight",`)
		time.Sleep(200 * time.Millisecond)
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		fmt.Fprint(pw, `"attributes":{"late":true}}`)
		pw.Close()
		if a := <-answered; a.code != 201 || a.body["id"] != "in-flight" {
			t.Errorf("in-flight request during shutdown: %d %v", a.code, a.body)
		}
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("tourd serve exited with %v after SIGTERM", err)
			}
			s.done <- err // for the cleanup
		case <-time.After(10 * time.Second):
			t.Fatal("tourd serve did not stop after SIGTERM")
		}
		// The data survived the restart.
		s2 := serve(t, db)
		if code, body := s2.request(t, "GET", "/v1/users/in-flight", key, nil); code != 200 || body["attributes"].(map[string]any)["late"] != true {
			t.Errorf("after restart: %d %v", code, body)
		}
	})
}

// A database path in directories that do not exist yet is created, and
// sqlite:// URLs work too.
func TestSQLitePaths(t *testing.T) {
	dir := t.TempDir()
	for _, db := range []string{"sqlite:" + filepath.Join(dir, "a", "b", "tourd.db"), "sqlite://" + filepath.Join(dir, "c.db")} {
		newKey(t, db)
		if list := tourd(t, "keys", "list", "--db", db); strings.Count(list, "\n") != 2 {
			t.Errorf("keys list --db %s:\n%s", db, list)
		}
	}
}

// The binary exits with status 2 for a mistake on the command line and 1
// when a command fails (the cases themselves are in TestRun).
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"nope"}, 2},
		{[]string{"serve", "extra"}, 2},
		{[]string{"serve", "--log-level", "loud"}, 2},
		{[]string{"keys", "revoke", "--db", "sqlite:" + filepath.Join(dir, "x.db"), "ak_unknown"}, 1},
		{[]string{"migrate", "--db", "sqlite:" + dir}, 1}, // a directory
		{[]string{"version"}, 0},
		{[]string{"help", "serve"}, 0},
	} {
		cmd := exec.CommandContext(t.Context(), binary, tt.args...)
		cmd.Env = append(os.Environ(), "TOURD_DB=", "TOURD_ADDR=")
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != tt.want || len(out) == 0 {
			t.Errorf("tourd %v: exit status %d (%v), output %q; want status %d with a message", tt.args, code, err, out, tt.want)
		}
	}
}

// The start-up line names the database, a SQLite file by its absolute path
// and a PostgreSQL URL without its password, and the version; /metrics
// names the build.
func TestServeStartup(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		dir := t.TempDir()
		db, want := "sqlite:"+filepath.Join("data", "tourd.db"), "sqlite:"+filepath.Join(dir, "data", "tourd.db")
		if b.Name != "sqlite" {
			db = b.DSN(t)
			u, err := url.Parse(db)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
			want = u.String()
		}
		cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", db)
		cmd.Dir = dir
		s := start(t, cmd)
		m := regexp.MustCompile(`\bdb=("(?:[^"\\]|\\.)*"|\S*)`).FindStringSubmatch(s.started)
		if m == nil {
			t.Fatalf("the start-up line names no database: %s", s.started)
		}
		got := m[1]
		if unquoted, err := strconv.Unquote(got); err == nil {
			got = unquoted
		}
		if got != want || !strings.Contains(s.started, " version="+testVersion) {
			t.Errorf("start-up line %s\nwant db=%s and version=%s", s.started, want, testVersion)
		}

		res, err := http.Get(s.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		line := regexp.MustCompile(`(?m)^tourd_build_info\{.*\} 1$`).Find(body)
		prefix := fmt.Sprintf("tourd_build_info{version=%q,goversion=%q,revision=", testVersion, runtime.Version())
		if !strings.HasPrefix(string(line), prefix) {
			t.Errorf("/metrics has %q, want a line starting %s", line, prefix)
		}
	})
}

// TestBackupWhileServing copies the database of a running server while
// clients write to it, serves the copy, and finds there every write
// acknowledged before the backup started.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "tourd.db")
	key := newKey(t, db)
	s := serve(t, db)
	var (
		acked backendtest.Acked[string]
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("user-%d-%d", w, i)
				req, _ := http.NewRequest("POST", s.base+"/v1/users", strings.NewReader(fmt.Sprintf(`{"id":%q,"attributes":{"n":%d}}`, id, i)))
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := client.Do(req)
				if err != nil {
					t.Errorf("POST %s: %v", id, err)
					return
				}
				res.Body.Close()
				if res.StatusCode != 201 {
					t.Errorf("POST %s: status %d", id, res.StatusCode)
					return
				}
				acked.Add(id)
			}
		})
	}
	acked.WaitFor(t, 300)
	before := acked.List()
	copyPath := filepath.Join(dir, "copy.db")
	out := tourd(t, "backup", "--db", db, copyPath)
	stop.Store(true)
	wg.Wait()
	if !regexp.MustCompile(`^wrote ` + regexp.QuoteMeta(copyPath) + `: [1-9][0-9]* bytes`).MatchString(out) {
		t.Errorf("tourd backup printed %q", out)
	}

	c := serve(t, "sqlite:"+copyPath)
	missing := 0
	for _, id := range before {
		if code, body := c.request(t, "GET", "/v1/users/"+id, key, nil); code != 200 {
			if missing++; missing <= 5 {
				t.Errorf("%s, acknowledged before the backup, is not in the copy: %d %v", id, code, body)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of the %d users acknowledged before the backup are not in the copy", missing, len(before))
	}
}

// exitStatus runs the binary and returns its exit status and standard
// error.
func exitStatus(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append(os.Environ(), "TOURD_DB=", "TOURD_ADDR=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Run()
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// Projects, environments and tokens are provisioned through the binary on
// every backend, and a key made by ids opens the environment they name.
func TestProvisioningEndToEnd(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		db := b.DSN(t)
		if b.Name == "sqlite" {
			if code, stderr := exitStatus(t, "projects", "list", "--db", db); code != 1 || !strings.Contains(stderr, "no database at") {
				t.Errorf("projects list without a database: exit status %d, %q", code, stderr)
			}
			newKey(t, db) // these commands never create a SQLite database
		}
		var p struct {
			ID           string
			Environments []struct{ ID string }
		}
		if err := json.Unmarshal([]byte(tourd(t, "projects", "create", "--db", db, "--name", "acme", "--json")), &p); err != nil {
			t.Fatal(err)
		}
		staging := lastLine(tourd(t, "environments", "create", "--db", db, "--project", p.ID, "--name", "staging"))
		if code, stderr := exitStatus(t, "tokens", "create", "--db", db, "--project", p.ID, "--scopes", "user:read"); code != 2 ||
			stderr != "tourd: tokens create: --environments is required: scopes user:read act on an environment's data\n" {
			t.Errorf("tokens create without --environments: exit status %d, %q", code, stderr)
		}
		token := lastLine(tourd(t, "tokens", "create", "--db", db, "--project", p.ID, "--scopes", "user:read,user:write", "--environments", staging, "--expires-in", "1h"))
		if !regexp.MustCompile(`^utp_[A-Za-z0-9_-]{43}$`).MatchString(token) {
			t.Fatalf("tokens create printed %q as its last line", token)
		}
		if list := tourd(t, "tokens", "list", "--db", db, "--project", p.ID); strings.Contains(list, token) || strings.Count(list, "\n") != 2 || !strings.Contains(list, staging) {
			t.Errorf("tokens list:\n%s", list)
		}
		if got := tourd(t, "tokens", "revoke", "--db", db, token); got != "revoked\n" {
			t.Errorf("tokens revoke: %q", got)
		}
		if list := tourd(t, "projects", "list", "--db", db); !strings.Contains(list, staging) {
			t.Errorf("projects list:\n%s", list)
		}
		key := newKey(t, db, "--project", p.ID, "--environment", staging)
		s := serve(t, db)
		if code, body := s.request(t, "POST", "/v1/users", key, strings.NewReader(`{"id":"u1"}`)); code != 201 {
			t.Errorf("POST /v1/users with a key made by ids: %d %v", code, body)
		}
		if code, body := s.request(t, "GET", "/v1/users/u1", newKey(t, db, "--project", p.ID, "--environment", "staging"), nil); code != 200 {
			t.Errorf("a key of the same environment by name: %d %v", code, body)
		}
	})
}
