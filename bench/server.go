package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a server gets to exit after SIGTERM before it is
// killed.
const stopTimeout = 10 * time.Second

// server is a server process started by the bench (tourd or the ceiling).
type server struct {
	name    string
	addr    string
	logPath string

	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// startServer starts bin with args, sending its stdout and stderr to
// logPath. The server is expected to listen on addr. The caller must call
// stop, also on error paths.
func startServer(name, logPath, addr, bin string, args ...string) (*server, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, addr: addr, logPath: logPath, cmd: cmd, logFile: f, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		f.Close()
		close(s.done)
	}()
	return s, nil
}

// pid returns the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// baseURL returns the server's root URL, without a trailing slash.
func (s *server) baseURL() string { return "http://" + s.addr }

// exited reports whether the process has exited.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitReady polls GET /readyz until it answers 200, the process exits,
// ctx ends or timeout passes.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL()+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			lastErr = fmt.Errorf("GET /readyz: %s", resp.Status)
		} else {
			lastErr = err
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before it was ready (%v); log %s:\n%s", s.name, s.waitErr, s.logPath, s.logTail(4096))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (last: %v); log %s:\n%s", s.name, timeout, lastErr, s.logPath, s.logTail(4096))
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM to the server, waits up to stopTimeout for it to exit
// and kills it otherwise. It is safe to call more than once; later calls
// return the first call's result: an error if the server had exited
// before or had to be killed. An unclean exit after SIGTERM is logged.
func (s *server) stop() error {
	s.stopOnce.Do(func() {
		if s.exited() {
			s.stopErr = fmt.Errorf("%s had exited by itself: %v", s.name, s.waitErr)
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
			if s.waitErr != nil {
				log.Printf("%s exited uncleanly after SIGTERM: %v", s.name, s.waitErr)
			}
		case <-time.After(stopTimeout):
			log.Printf("%s did not exit within %s of SIGTERM; killing it", s.name, stopTimeout)
			_ = s.cmd.Process.Kill()
			<-s.done
			s.stopErr = fmt.Errorf("%s did not stop on SIGTERM", s.name)
		}
	})
	return s.stopErr
}

// logTail returns up to the last n bytes of the server's log.
func (s *server) logTail(n int64) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	return strings.TrimRight(string(buf), "\n")
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run the bench from the tourd repository")
	}
	return filepath.Dir(gomod), nil
}

// buildTourd builds ./cmd/tourd into dir and returns the binary's path.
func buildTourd(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tourd")
	log.Printf("building ./cmd/tourd in %s", root)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tourd")
	cmd.Dir = root
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tourd: %w", err)
	}
	return bin, nil
}

// benchProject and benchEnvironment are the names of the project and
// environment the bench's API key opens (tourd keys create creates them).
const (
	benchProject     = "default"
	benchEnvironment = "production"
)

// runTourdCLI runs the tourd binary bin with args and returns its standard
// output.
func runTourdCLI(ctx context.Context, bin string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tourd %s %s: %w\n%s%s", args[0], args[1], err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// lastLine returns the last non-empty line of out, trimmed.
func lastLine(out []byte) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			last = line
		}
	}
	return last
}

// createKey runs "tourd keys create --db db" for the bench's project and
// environment and returns the API key, the last non-empty line of its
// standard output.
func createKey(ctx context.Context, bin, db string) (string, error) {
	out, err := runTourdCLI(ctx, bin, "keys", "create", "--db", db, "--project", benchProject, "--environment", benchEnvironment)
	if err != nil {
		return "", err
	}
	key := lastLine(out)
	if !strings.HasPrefix(key, "ak_") {
		return "", fmt.Errorf("tourd keys create: last line of output %q is not an ak_ key", key)
	}
	return key, nil
}

// keyTenant runs "tourd projects list --json --db db" and returns the ids
// of the project and environment the bench's API key opens.
func keyTenant(ctx context.Context, bin, db string) (projectID, environmentID string, err error) {
	out, err := runTourdCLI(ctx, bin, "projects", "list", "--json", "--db", db)
	if err != nil {
		return "", "", err
	}
	return pickTenant(out, benchProject, benchEnvironment)
}

// pickTenant returns, from the output of "tourd projects list --json", the
// ids of the environment named environment of the project named project,
// as tourd keys create resolves names: the oldest project of that name
// (the list is oldest first), and the oldest of its environments of that
// name.
func pickTenant(out []byte, project, environment string) (projectID, environmentID string, err error) {
	var projects []struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Environments []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"environments"`
	}
	if err := json.Unmarshal(out, &projects); err != nil {
		return "", "", fmt.Errorf("tourd projects list --json: %w: %s", err, bytes.TrimSpace(out))
	}
	for _, p := range projects {
		if p.Name != project {
			continue
		}
		for _, e := range p.Environments {
			if e.Name == environment {
				return p.ID, e.ID, nil
			}
		}
		return "", "", fmt.Errorf("tourd projects list --json: project %q (%s) has no environment %q", project, p.ID, environment)
	}
	return "", "", fmt.Errorf("tourd projects list --json: no project %q", project)
}

// loadScopes are the scopes of the token the wrk loads use.
const loadScopes = "user:read,user:write"

// createToken runs "tourd tokens create" for a personal token of the
// project with the given scopes (comma-separated) on the environment, and
// returns the token, the last non-empty line of its standard output.
func createToken(ctx context.Context, bin, db, projectID, environmentID, scopes string) (string, error) {
	out, err := runTourdCLI(ctx, bin, "tokens", "create", "--db", db, "--project", projectID,
		"--scopes", scopes, "--environments", environmentID, "--name", "bench")
	if err != nil {
		return "", err
	}
	token := lastLine(out)
	if !strings.HasPrefix(token, "utp_") {
		return "", fmt.Errorf("tourd tokens create: last line of output %q is not a utp_ token", token)
	}
	return token, nil
}

// peakRSSMB returns the peak resident set size (VmHWM) of process pid in
// MiB, read from /proc/<pid>/status.
func peakRSSMB(pid int) (float64, error) {
	m, err := procMemMB(pid, "VmHWM")
	return m["VmHWM"], err
}

// procMemMB returns the named memory fields of /proc/<pid>/status (VmHWM,
// VmRSS, RssAnon, RssFile, …) in MiB. It fails if one is missing.
func procMemMB(pid int, fields ...string) (map[string]float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseProcMem(f, fields...)
}

// parseProcMem reads the named "Name:   123 kB" fields of a
// /proc/<pid>/status text, in MiB.
func parseProcMem(r io.Reader, fields ...string) (map[string]float64, error) {
	m := make(map[string]float64, len(fields))
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(fields, name) {
			continue
		}
		vals := strings.Fields(rest) // e.g. ["12345", "kB"]
		if len(vals) != 2 || vals[1] != "kB" {
			return nil, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(vals[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected %s line %q: %w", name, sc.Text(), err)
		}
		m[name] = float64(kb) / 1024
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, name := range fields {
		if _, ok := m[name]; !ok {
			return nil, fmt.Errorf("no %s in the process status", name)
		}
	}
	return m, nil
}

// procCPU returns the CPU time (user and system) process pid has used,
// from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcCPU(string(raw))
}

// parseProcCPU reads utime and stime, in clock ticks of 1/100 s, from a
// /proc/<pid>/stat line: fields 14 and 15, counted after the command
// name, which is in parentheses and may hold spaces.
func parseProcCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	fields := strings.Fields(stat[i+1:]) // from field 3, the state
	if i < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}
