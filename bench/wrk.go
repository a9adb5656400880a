package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkInstallHint tells the operator how to get wrk.
const wrkInstallHint = "wrk is not installed: install it with `apt-get install -y wrk` (Debian/Ubuntu package wrk)"

// ensureWrk returns the path of wrk. When wrk is missing and the bench
// runs as root on a system with apt-get, it installs the Debian package
// (running apt-get update first if the plain install fails); otherwise it
// returns an error that says how to install it.
func ensureWrk(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("wrk"); err == nil {
		return p, nil
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil || os.Geteuid() != 0 {
		return "", errors.New(wrkInstallHint)
	}
	log.Print("wrk not found; installing it: apt-get install -y wrk")
	install := func() error {
		return aptGet(ctx, apt, "install", "-y", "wrk")
	}
	if err := install(); err != nil {
		log.Printf("apt-get install failed (%v); running apt-get update and retrying", err)
		if err := aptGet(ctx, apt, "update"); err != nil {
			return "", fmt.Errorf("apt-get update: %w; %s", err, wrkInstallHint)
		}
		if err := install(); err != nil {
			return "", fmt.Errorf("apt-get install -y wrk: %w; %s", err, wrkInstallHint)
		}
	}
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", errors.New(wrkInstallHint)
	}
	return p, nil
}

// aptGet runs apt-get non-interactively with its output on stderr.
func aptGet(ctx context.Context, apt string, args ...string) error {
	cmd := exec.CommandContext(ctx, apt, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// wrkRun describes one wrk invocation.
type wrkRun struct {
	wrk         string // path of the wrk binary
	url         string
	script      string // path of the Lua script
	threads     int
	connections int
	duration    time.Duration // whole seconds
	outPath     string        // where wrk's output is saved
	echo        bool          // also copy wrk's output to stderr
}

// args returns wrk's command-line arguments.
func (r wrkRun) args() []string {
	return []string{
		"-t", strconv.Itoa(r.threads),
		"-c", strconv.Itoa(r.connections),
		"-d", fmt.Sprintf("%ds", int(r.duration/time.Second)),
		"--latency",
		"-s", r.script,
		r.url,
	}
}

// runWrk runs wrk, saves its output and parses it. The returned error
// covers wrk failing or its output not parsing, not error responses:
// those are counted in the result (see wrkResult.failed).
func runWrk(ctx context.Context, r wrkRun) (*wrkResult, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, r.wrk, r.args()...)
	cmd.SysProcAttr = childProcAttr()
	var w io.Writer = &out
	if r.echo {
		w = io.MultiWriter(&out, os.Stderr)
	}
	cmd.Stdout = w
	cmd.Stderr = w
	runErr := cmd.Run()
	if r.outPath != "" {
		if err := os.WriteFile(r.outPath, out.Bytes(), 0o644); err != nil {
			log.Printf("save wrk output: %v", err)
		}
	}
	if runErr != nil {
		return nil, fmt.Errorf("wrk %s: %w\n%s", strings.Join(r.args(), " "), runErr, out.String())
	}
	res, err := parseWrk(&out)
	if err != nil {
		return nil, fmt.Errorf("parse wrk output: %w\n%s", err, out.String())
	}
	return res, nil
}

// wrkResult is what the bench reads from wrk's --latency output.
type wrkResult struct {
	Requests  int64   // total requests completed
	ReqPerSec float64 // "Requests/sec"
	// Latency percentiles from the "Latency Distribution" section.
	P50, P75, P90, P99 time.Duration
	Non2xx             int64 // "Non-2xx or 3xx responses" (status >= 400 in wrk)
	SocketErrors       socketErrors
}

// socketErrors are wrk's "Socket errors" counts.
type socketErrors struct {
	Connect, Read, Write, Timeout int64
}

// total returns the sum of all socket errors.
func (s socketErrors) total() int64 { return s.Connect + s.Read + s.Write + s.Timeout }

// failed reports why the run counts as failed, or "" if it does not.
func (r *wrkResult) failed() string {
	var why []string
	if r.Non2xx > 0 {
		why = append(why, fmt.Sprintf("%d non-2xx responses", r.Non2xx))
	}
	if n := r.SocketErrors.total(); n > 0 {
		s := r.SocketErrors
		why = append(why, fmt.Sprintf("%d socket errors (connect %d, read %d, write %d, timeout %d)", n, s.Connect, s.Read, s.Write, s.Timeout))
	}
	if r.Requests == 0 {
		why = append(why, "no requests completed")
	}
	return strings.Join(why, ", ")
}

var (
	wrkPercentileRe = regexp.MustCompile(`^(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)(us|ms|s|m|h)$`)
	wrkRequestsRe   = regexp.MustCompile(`^(\d+) requests in `)
	wrkReqPerSecRe  = regexp.MustCompile(`^Requests/sec:\s+(\d+(?:\.\d+)?)$`)
	wrkNon2xxRe     = regexp.MustCompile(`^Non-2xx or 3xx responses:\s+(\d+)$`)
	wrkSocketRe     = regexp.MustCompile(`^Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)$`)
)

// wrkUnits maps wrk's latency units to durations.
var wrkUnits = map[string]time.Duration{
	"us": time.Microsecond,
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
}

// parseWrk parses the output of wrk --latency. Requests/sec, the total
// request count and the 50th and 99th latency percentiles are required;
// the Non-2xx and Socket errors lines are optional (wrk prints them only
// when they are not zero).
func parseWrk(r io.Reader) (*wrkResult, error) {
	res := &wrkResult{Requests: -1, ReqPerSec: -1, P50: -1, P99: -1}
	inDist := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "Latency Distribution" {
			inDist = true
			continue
		}
		if inDist {
			if m := wrkPercentileRe.FindStringSubmatch(line); m != nil {
				d, err := wrkDuration(m[2], m[3])
				if err != nil {
					return nil, err
				}
				switch m[1] {
				case "50":
					res.P50 = d
				case "75":
					res.P75 = d
				case "90":
					res.P90 = d
				case "99":
					res.P99 = d
				}
				continue
			}
			inDist = false
		}
		var err error
		if m := wrkRequestsRe.FindStringSubmatch(line); m != nil {
			res.Requests, err = strconv.ParseInt(m[1], 10, 64)
		} else if m := wrkReqPerSecRe.FindStringSubmatch(line); m != nil {
			res.ReqPerSec, err = strconv.ParseFloat(m[1], 64)
		} else if m := wrkNon2xxRe.FindStringSubmatch(line); m != nil {
			res.Non2xx, err = strconv.ParseInt(m[1], 10, 64)
		} else if m := wrkSocketRe.FindStringSubmatch(line); m != nil {
			s := &res.SocketErrors
			for i, p := range []*int64{&s.Connect, &s.Read, &s.Write, &s.Timeout} {
				if *p, err = strconv.ParseInt(m[i+1], 10, 64); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var missing []string
	if res.Requests < 0 {
		missing = append(missing, `"N requests in"`)
	}
	if res.ReqPerSec < 0 {
		missing = append(missing, `"Requests/sec"`)
	}
	if res.P50 < 0 {
		missing = append(missing, "50% latency")
	}
	if res.P99 < 0 {
		missing = append(missing, "99% latency")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("wrk output lacks %s (was wrk run with --latency?)", strings.Join(missing, ", "))
	}
	return res, nil
}

// wrkDuration converts a wrk latency such as "312.00" "us" to a duration.
func wrkDuration(num, unit string) (time.Duration, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("latency %s%s: %w", num, unit, err)
	}
	u, ok := wrkUnits[unit]
	if !ok {
		return 0, fmt.Errorf("latency %s%s: unknown unit", num, unit)
	}
	return time.Duration(math.Round(v * float64(u))), nil
}
