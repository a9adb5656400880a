package httpapi_test

import (
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

func TestMetrics(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u"}`).want(t, 201)
		e.do("GET", "/v1/users/u", "").want(t, 200)
		e.do("GET", "/v1/users/u", "").want(t, 200)
		e.do("GET", "/v1/users/nope", "").wantError(t, 404, "E1001")
		e.do("BREW", "/v1/users", "").wantError(t, 405, "E1033")
		e.do("GET", "/nowhere/"+strings.Repeat("x", 10), "").wantError(t, 404, "E1033")
		res, err := http.Get(e.srv.URL + "/metrics") // no key: a service endpoint
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
			t.Fatalf("GET /metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		text := string(body)
		for _, want := range []string{
			`tourd_http_requests_total{method="POST",route="/v1/users",status="201"} 1`,
			`tourd_http_requests_total{method="GET",route="/v1/users/{id}",status="200"} 2`,
			`tourd_http_requests_total{method="GET",route="/v1/users/{id}",status="404"} 1`,
			`tourd_http_requests_total{method="other",route="/v1/users",status="405"} 1`,
			`tourd_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`tourd_http_request_duration_seconds_count{method="GET",route="/v1/users/{id}",status="200"} 2`,
			`tourd_http_request_duration_seconds_bucket{method="GET",route="/v1/users/{id}",status="200",le="+Inf"} 2`,
			"# TYPE tourd_http_request_duration_seconds histogram",
			"tourd_db_open_connections ", "tourd_db_max_open_connections ", "go_goroutines ", "go_gc_cycles_total ",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %q:\n%s", want, text)
			}
		}
		// Every sample line is name{labels} value, or name value.
		sample := regexp.MustCompile(`^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? [-+0-9.eInfNa]+$`)
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			if !strings.HasPrefix(line, "#") && !sample.MatchString(line) {
				t.Errorf("malformed sample line %q", line)
			}
		}
	})
}

// scrape returns the unlabelled samples of GET /metrics.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[name] = v
	}
	return out
}

// The process_* figures are the process's own: CPU time grows with work
// done (and is not the CPU time available, as go_cpu_seconds_total was),
// open descriptors with files opened, resident memory with memory touched.
func TestProcessMetrics(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("resident memory and open descriptors are read from /proc")
	}
	e := newEnv(t, backendtest.SQLite)
	before := scrape(t, e.srv.URL)
	for _, name := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if _, ok := before["go_cpu_seconds_total"]; ok {
		t.Error("/metrics still has go_cpu_seconds_total, the CPU time available rather than used")
	}

	// Busy work: hashing 64 MiB takes tens of milliseconds of CPU.
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i) // touched: resident
	}
	for range 4 {
		sha256.Sum256(data)
	}
	var files []*os.File
	for range 100 {
		f, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	// Other tests of the package run meanwhile and the GC returns memory
	// to the system, so resident memory is compared with what the kernel
	// says just before and after the scrape, not with the earlier scrape.
	rssA := residentBytes(t)
	after := scrape(t, e.srv.URL)
	rssB := residentBytes(t)
	for _, f := range files {
		f.Close()
	}
	runtime.KeepAlive(data)

	elapsed := time.Since(time.Unix(0, int64(before["process_start_time_seconds"]*1e9))).Seconds()
	if elapsed < 0 || elapsed > 3600 {
		t.Errorf("process_start_time_seconds %v is %v s ago", before["process_start_time_seconds"], elapsed)
	}
	cpu0, cpu1 := before["process_cpu_seconds_total"], after["process_cpu_seconds_total"]
	if cpu1 <= cpu0 || cpu1 > (elapsed+1)*float64(runtime.NumCPU()) {
		t.Errorf("process_cpu_seconds_total went from %v to %v after busy work, %v s after start on %d CPUs", cpu0, cpu1, elapsed, runtime.NumCPU())
	}
	if fd0, fd1 := before["process_open_fds"], after["process_open_fds"]; fd1 < fd0+90 || fd1 > after["process_max_fds"] {
		t.Errorf("process_open_fds went from %v to %v after opening 100 files (max %v)", fd0, fd1, after["process_max_fds"])
	}
	if rss := after["process_resident_memory_bytes"]; rss < 64<<20 || rss < 0.9*min(rssA, rssB) || rss > 1.1*max(rssA, rssB) {
		t.Errorf("process_resident_memory_bytes is %v with 64 MiB touched; /proc/self/statm said %v just before and %v just after", rss, rssA, rssB)
	}
}

// residentBytes reads the process's resident memory from /proc/self/statm.
func residentBytes(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		t.Fatalf("/proc/self/statm %q: %v", b, err)
	}
	return pages * float64(os.Getpagesize())
}
