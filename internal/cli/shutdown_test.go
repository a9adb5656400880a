package cli_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// exit waits up to limit for the server to exit and returns its exit code
// and how long it took.
func (s *server) exit(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return s.cmd.ProcessState.ExitCode(), time.Since(start)
	case <-time.After(limit):
		t.Fatalf("tourd serve did not exit within %v; log:\n%s", limit, s.logs.String())
		return 0, 0
	}
}

// waitLog waits until the server's log contains want.
func (s *server) waitLog(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(s.logs.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q:\n%s", want, s.logs.String())
		}
	}
}

// signal sends sig to the server.
func (s *server) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// SIGTERM during an import stream that keeps sending: the stream stops at
// a line boundary, the lines read whole are applied, the client is told
// how many, and the server exits cleanly.
func TestShutdownDuringImport(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		db := b.DSN(t)
		key := newKey(t, db)
		s := serve(t, db)
		c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/users/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", key)
		go func() { // sends lines u1, u2, … until the connection breaks
			for i := 1; ; i += 100 {
				var chunk strings.Builder
				for j := i; j < i+100; j++ {
					fmt.Fprintf(&chunk, `{"id":"u%d","attributes":{"n":%d}}`+"\n", j, j)
				}
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", chunk.Len(), chunk.String()); err != nil {
					return
				}
			}
		}()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if code, _ := s.request(t, "GET", "/v1/users/u1000", key, nil); code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the import did not get to line 1000")
			}
		}
		s.signal(t, syscall.SIGTERM)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer to the import after SIGTERM: %v\n%s", err, s.logs.String())
		}
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 503 || res.Header.Get("Retry-After") != "1" || !strings.Contains(string(raw), `"code":"E0000"`) {
			t.Fatalf("import at shutdown: %d, Retry-After %q, %s", res.StatusCode, res.Header.Get("Retry-After"), raw)
		}
		var line, created, updated, failed int
		msg := string(raw)
		if _, err := fmt.Sscanf(msg[strings.Index(msg, "at line "):], "at line %d; the lines before it were applied (%d created, %d updated, %d failed)",
			&line, &created, &updated, &failed); err != nil || line <= 1000 || created != line-1 || updated != 0 || failed != 0 {
			t.Fatalf("answer %s: want a line past 1000 with every line before it created (%v)", raw, err)
		}
		t.Logf("answer to the import at shutdown: %s", raw)
		if code, _ := s.exit(t, 30*time.Second); code != 0 {
			t.Fatalf("tourd serve exited with status %d after SIGTERM; log:\n%s", code, s.logs.String())
		}
		s2 := serve(t, db)
		for _, id := range []int{1, line / 2, line - 1} {
			if code, body := s2.request(t, "GET", fmt.Sprintf("/v1/users/u%d", id), key, nil); code != 200 || body["attributes"].(map[string]any)["n"] != float64(id) {
				t.Errorf("user u%d, counted as created: %d %v", id, code, body)
			}
		}
		if code, _ := s2.request(t, "GET", fmt.Sprintf("/v1/users/u%d", line), key, nil); code != 404 {
			t.Errorf("user u%d, of the line the import stopped at: status %d, want 404", line, code)
		}
	})
}

// hold sends a request whose body never ends and returns once its handler
// reads the body (it asks for 100-continue): a request in flight that does
// not finish by itself.
func hold(t *testing.T, s *server, key string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", key)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("request in flight: read %q, %v", line, err)
	}
	fmt.Fprint(c, `{"id":`)
	return c
}

// A request that never finishes keeps serve past its shutdown bound no
// longer: after --shutdown-timeout it exits with status 1 and says why.
func TestShutdownTimeout(t *testing.T) {
	db := backendtest.SQLite.DSN(t)
	key := newKey(t, db)
	s := serve(t, db, "--shutdown-timeout", "1s")
	hold(t, s, key)
	s.signal(t, syscall.SIGTERM)
	code, took := s.exit(t, 20*time.Second)
	t.Logf("tourd serve exited %v after SIGTERM with a request hung (bound 1s)", took)
	if code != 1 || !strings.Contains(s.logs.String(), `level=ERROR msg="shutdown timed out: exiting with requests still running`) {
		t.Errorf("exit status %d, log:\n%s\nwant status 1 and the reason in the log", code, s.logs.String())
	}
}

// A second SIGTERM or SIGINT ends the process at once, without waiting
// for in-flight requests.
func TestShutdownSecondSignal(t *testing.T) {
	for _, second := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		db := backendtest.SQLite.DSN(t)
		key := newKey(t, db)
		s := serve(t, db, "--shutdown-timeout", "5m")
		hold(t, s, key)
		s.signal(t, syscall.SIGTERM)
		s.waitLog(t, `msg="shutting down`)
		select {
		case err := <-s.done:
			t.Fatalf("tourd serve exited (%v) with a request in flight after one signal", err)
		default:
		}
		s.signal(t, second)
		code, _ := s.exit(t, 20*time.Second)
		if code != 1 || !strings.Contains(s.logs.String(), "tourd: second signal") {
			t.Errorf("after a second signal (%v): exit status %d, log:\n%s\nwant status 1 and a message", second, code, s.logs.String())
		}
	}
}

// limited starts tourd serve with its file descriptor limit set to n.
func limited(t *testing.T, n int, db string, flags ...string) *server {
	t.Helper()
	args := append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, n), binary, "serve", "--addr", "127.0.0.1:0", "--db", db}, flags...)
	return start(t, exec.Command("sh", args...))
}

// The default connection cap stays below the file descriptor limit.
func TestMaxConnsDefault(t *testing.T) {
	s := limited(t, 200, backendtest.SQLite.DSN(t))
	s.waitLog(t, "msg=serving ")
	if !strings.Contains(s.logs.String(), "msg=serving max_conns=136 ") {
		t.Errorf("with 200 file descriptors, want max_conns=136 (200 less 64):\n%s", s.logs.String())
	}
}

// Running out of file descriptors is logged through slog, throttled,
// never as plain text; and the server serves again once they are freed.
func TestAcceptOutOfFiles(t *testing.T) {
	s := limited(t, 64, backendtest.SQLite.DSN(t), "--max-conns", "1000")
	start := time.Now()
	var conns []net.Conn
	for range 100 {
		c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	s.waitLog(t, "too many open files")
	time.Sleep(1500 * time.Millisecond) // accept is retried meanwhile
	for _, c := range conns {
		c.Close()
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Get(s.base + "/healthz")
		if err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after the connections closed: %v", err)
		}
	}
	elapsed := time.Since(start)
	s.signal(t, syscall.SIGTERM)
	s.exit(t, 20*time.Second)
	lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
	accepts := 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") {
			t.Errorf("log line not from slog: %q", l)
		}
		if strings.Contains(l, "too many open files") {
			accepts++
			if !strings.Contains(l, `level=ERROR msg="http server error"`) || !strings.Contains(l, "suppressed=") {
				t.Errorf("accept error logged as %q", l)
			}
		}
	}
	if most := int(elapsed/time.Second) + 2; accepts > most {
		t.Errorf("%d accept error lines in %v, want at most %d (one a second):\n%s", accepts, elapsed, most, s.logs.String())
	}
}
