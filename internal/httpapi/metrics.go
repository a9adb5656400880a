package httpapi

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime/metrics"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tourd/internal/buildinfo"
	"tourd/internal/userdata"
)

// latencyBuckets are the upper bounds, in seconds, of the request latency
// histogram.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// seriesKey identifies one series of the request metrics. Every part is
// bounded: methods outside a fixed set read "other", routes are patterns
// of the route table, statuses are HTTP statuses.
type seriesKey struct {
	method, route string
	status        int
}

// series counts the requests of one key: per latency bucket (the last one
// is +Inf), and their total duration.
type series struct {
	buckets []atomic.Uint64
	sumNs   atomic.Uint64
}

// requestMetrics collects counts and latency histograms per series.
type requestMetrics struct {
	m sync.Map // seriesKey -> *series
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// observe records one request.
func (rm *requestMetrics) observe(method, pattern string, status int, d time.Duration) {
	if !slices.Contains(knownMethods, method) {
		method = "other"
	}
	if pattern == "" || pattern == "/" {
		pattern = "unmatched"
	}
	k := seriesKey{method, pattern, status}
	v, ok := rm.m.Load(k)
	if !ok {
		v, _ = rm.m.LoadOrStore(k, &series{buckets: make([]atomic.Uint64, len(latencyBuckets)+1)})
	}
	s := v.(*series)
	i := sort.SearchFloat64s(latencyBuckets, d.Seconds())
	s.buckets[i].Add(1)
	s.sumNs.Add(uint64(d.Nanoseconds()))
}

// write writes the request metrics in the Prometheus text format.
func (rm *requestMetrics) write(w io.Writer) {
	type entry struct {
		k seriesKey
		s *series
	}
	var all []entry
	rm.m.Range(func(k, v any) bool {
		all = append(all, entry{k.(seriesKey), v.(*series)})
		return true
	})
	slices.SortFunc(all, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.k.route, b.k.route), strings.Compare(a.k.method, b.k.method), a.k.status-b.k.status)
	})
	fmt.Fprintln(w, "# HELP tourd_http_requests_total Requests answered, by method, route pattern and status.")
	fmt.Fprintln(w, "# TYPE tourd_http_requests_total counter")
	for _, e := range all {
		fmt.Fprintf(w, "tourd_http_requests_total{%s} %d\n", e.k.labels(), e.s.count())
	}
	fmt.Fprintln(w, "# HELP tourd_http_request_duration_seconds Time to answer requests, by method, route pattern and status.")
	fmt.Fprintln(w, "# TYPE tourd_http_request_duration_seconds histogram")
	for _, e := range all {
		var cum uint64
		for i := range e.s.buckets {
			cum += e.s.buckets[i].Load()
			le := "+Inf"
			if i < len(latencyBuckets) {
				le = strconv.FormatFloat(latencyBuckets[i], 'g', -1, 64)
			}
			fmt.Fprintf(w, "tourd_http_request_duration_seconds_bucket{%s,le=%q} %d\n", e.k.labels(), le, cum)
		}
		fmt.Fprintf(w, "tourd_http_request_duration_seconds_sum{%s} %g\n", e.k.labels(), float64(e.s.sumNs.Load())/1e9)
		fmt.Fprintf(w, "tourd_http_request_duration_seconds_count{%s} %d\n", e.k.labels(), cum)
	}
}

func (k seriesKey) labels() string {
	return fmt.Sprintf("method=%q,route=%q,status=\"%d\"", k.method, k.route, k.status)
}

func (s *series) count() uint64 {
	var n uint64
	for i := range s.buckets {
		n += s.buckets[i].Load()
	}
	return n
}

// writeBuildInfo writes tourd_build_info: which build is serving, in the
// labels of a constant 1.
func writeBuildInfo(w io.Writer) {
	b := buildinfo.Read()
	fmt.Fprintln(w, "# HELP tourd_build_info The tourd build serving: its version, Go version and VCS revision.")
	fmt.Fprintln(w, "# TYPE tourd_build_info gauge")
	fmt.Fprintf(w, "tourd_build_info{version=%q,goversion=%q,revision=%q} 1\n", b.Version, b.GoVersion, b.Revision)
}

// poolStatser is a store that reports its connection pool.
type poolStatser interface {
	PoolStats() userdata.PoolStats
}

// runtimeMetrics are the Go runtime figures /metrics exposes, by their
// runtime/metrics names.
var runtimeMetrics = []struct{ name, metric, help, typ string }{
	{"go_goroutines", "/sched/goroutines:goroutines", "Goroutines that currently exist.", "gauge"},
	{"go_memory_total_bytes", "/memory/classes/total:bytes", "Memory mapped by the Go runtime.", "gauge"},
	{"go_heap_objects_bytes", "/memory/classes/heap/objects:bytes", "Memory occupied by live and unswept heap objects.", "gauge"},
	{"go_gc_cycles_total", "/gc/cycles/total:gc-cycles", "Completed GC cycles.", "counter"},
	{"go_gc_heap_allocs_bytes_total", "/gc/heap/allocs:bytes", "Bytes allocated on the heap.", "counter"},
}

// processStart is when the process started, near enough: when this
// package was initialised.
var processStart = time.Now()

// writeProcessMetrics writes the process_* figures of the Prometheus
// conventions. CPU time and the file descriptor limit come from getrusage
// and getrlimit, resident memory and open descriptors from /proc; a figure
// the platform does not give is left out.
func writeProcessMetrics(w io.Writer) {
	for _, m := range []struct {
		name, help, typ string
		read            func() (float64, bool)
	}{
		{"process_cpu_seconds_total", "User and system CPU time used by the process.", "counter", cpuSeconds},
		{"process_resident_memory_bytes", "Resident memory of the process.", "gauge", residentBytes},
		{"process_open_fds", "File descriptors the process has open.", "gauge", openFDs},
		{"process_max_fds", "Most file descriptors the process may open (the soft limit).", "gauge", func() (float64, bool) {
			n, ok := fdLimit()
			return float64(n), ok
		}},
		{"process_start_time_seconds", "When the process started, in seconds since the Unix epoch.", "gauge", func() (float64, bool) {
			return float64(processStart.UnixMicro()) / 1e6, true
		}},
	} {
		if v, ok := m.read(); ok {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", m.name, m.help, m.name, m.typ, m.name, v)
		}
	}
}

// metrics serves GET /metrics: request counts and latencies, the
// database pool, Go runtime and process figures (§15.2).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	writeBuildInfo(w)
	s.requests.write(w)
	if ps, ok := s.store.(poolStatser); ok {
		st := ps.PoolStats()
		for _, g := range []struct {
			name, help, typ string
			v               float64
		}{
			{"tourd_db_max_open_connections", "Most connections the database pool opens.", "gauge", float64(st.MaxOpen)},
			{"tourd_db_open_connections", "Database connections open.", "gauge", float64(st.Open)},
			{"tourd_db_in_use_connections", "Database connections in use.", "gauge", float64(st.InUse)},
			{"tourd_db_idle_connections", "Database connections idle.", "gauge", float64(st.Idle)},
			{"tourd_db_wait_total", "Times a request waited for a database connection.", "counter", float64(st.WaitCount)},
			{"tourd_db_wait_seconds_total", "Time requests waited for a database connection.", "counter", st.WaitDuration.Seconds()},
		} {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", g.name, g.help, g.name, g.typ, g.name, g.v)
		}
	}
	samples := make([]metrics.Sample, len(runtimeMetrics))
	for i, m := range runtimeMetrics {
		samples[i].Name = m.metric
	}
	metrics.Read(samples)
	for i, m := range runtimeMetrics {
		v := math.NaN()
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			v = float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			v = samples[i].Value.Float64()
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", m.name, m.help, m.name, m.typ, m.name, v)
	}
	writeProcessMetrics(w)
}
