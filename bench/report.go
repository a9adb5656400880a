package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// report collects the results of a bench run and prints them.
type report struct {
	backend     string
	users       int
	connections int
	duration    time.Duration
	threads     int
	gomaxprocs  int
	nproc       int

	rows    []row
	feed    *feedResult    // nil when not measured
	webhook *webhookResult // nil without -webhook
}

// row is the result of one load against one target.
type row struct {
	target string // "ceiling" or "tourd"
	load   string
	wrk    *wrkResult // nil when the load could not be run or parsed
	peakMB float64    // server's VmHWM after the load, 0 if unknown
	// cpuPerReq is the server's CPU time (user and system) during the
	// load over the requests wrk completed, 0 if unknown: a cost per
	// request that a busy machine disturbs less than the rate.
	cpuPerReq time.Duration
	err       error // why the load could not be run or parsed
}

// add appends a row.
func (rep *report) add(r row) { rep.rows = append(rep.rows, r) }

// problem returns why the row counts as failed, or "" if it does not.
func (r row) problem() string {
	switch {
	case r.err != nil:
		return firstLine(r.err.Error())
	case r.wrk == nil:
		return "no result"
	default:
		return r.wrk.failed()
	}
}

// ok reports whether every row completed without errors.
func (rep *report) ok() bool {
	if rep.feed != nil && rep.feed.err != nil || rep.webhook != nil && rep.webhook.err != nil {
		return false
	}
	for _, r := range rep.rows {
		if r.problem() != "" {
			return false
		}
	}
	return true
}

// find returns the row of target and load, if any.
func (rep *report) find(target, load string) (row, bool) {
	for _, r := range rep.rows {
		if r.target == target && r.load == load {
			return r, true
		}
	}
	return row{}, false
}

// print writes the report table to w.
func (rep *report) print(w io.Writer) {
	fmt.Fprintf(w, "tourd bench: backend=%s users=%d connections=%d duration=%s wrk threads=%d  (GOMAXPROCS=%d nproc=%d)\n",
		rep.backend, rep.users, rep.connections, rep.duration, rep.threads, rep.gomaxprocs, rep.nproc)
	const rowFmt = "%-9s %-13s %-9s %-8s %-8s %-7s %-7s %-7s %s\n"
	fmt.Fprintf(w, rowFmt, "target", "load", "req/s", "p50", "p99", "non2xx", "sockerr", "peakMB", "cpu/req")
	for _, r := range rep.rows {
		peak := "-"
		if r.peakMB > 0 {
			peak = fmt.Sprintf("%.1f", r.peakMB)
		}
		if r.wrk == nil {
			fmt.Fprintf(w, "%-9s %-13s FAILED: %s\n", r.target, r.load, r.problem())
			continue
		}
		cpu := "-"
		if r.cpuPerReq > 0 {
			cpu = fmt.Sprintf("%.1fus", float64(r.cpuPerReq)/float64(time.Microsecond))
		}
		line := fmt.Sprintf(rowFmt, r.target, r.load,
			fmt.Sprintf("%.1f", r.wrk.ReqPerSec), fmtLatency(r.wrk.P50), fmtLatency(r.wrk.P99),
			fmt.Sprint(r.wrk.Non2xx), fmt.Sprint(r.wrk.SocketErrors.total()), peak, cpu)
		if p := r.problem(); p != "" {
			line = strings.TrimSuffix(line, "\n") + "  FAILED: " + p + "\n"
		}
		fmt.Fprint(w, line)
	}
	for _, ld := range loads {
		c, okc := rep.find("ceiling", ld.name)
		t, okt := rep.find("tourd", ld.name)
		if !okc || !okt || c.wrk == nil || t.wrk == nil || c.wrk.ReqPerSec <= 0 || c.wrk.P99 <= 0 {
			continue
		}
		fmt.Fprintf(w, "%-9s %-13s %.2f of ceiling req/s, p99 %.1fx ceiling\n", "ratio", ld.name,
			t.wrk.ReqPerSec/c.wrk.ReqPerSec, float64(t.wrk.P99)/float64(c.wrk.P99))
	}
	// The v2 user PUT against its v1 counterpart, on each target.
	for _, target := range []string{"ceiling", "tourd"} {
		v2, ok2 := rep.find(target, v2PutLoad)
		v1, ok1 := rep.find(target, v1UpsertLoad)
		if !ok2 || !ok1 || v2.wrk == nil || v1.wrk == nil || v1.wrk.ReqPerSec <= 0 {
			continue
		}
		fmt.Fprintf(w, "%s / %s (%s): %.1f%%\n", v2PutLoad, v1UpsertLoad, target, 100*v2.wrk.ReqPerSec/v1.wrk.ReqPerSec)
	}
	if rep.webhook != nil {
		rep.webhook.print(w)
	}
	if rep.feed != nil {
		rep.feed.print(w)
	}
}

// v1UpsertLoad and v2PutLoad are the names of the loads the report
// compares: the same attributes written through v1 and through v2.
const (
	v1UpsertLoad = "POST upsert"
	v2PutLoad    = "PUT v2 user"
)

// fmtLatency formats a latency in milliseconds.
func fmtLatency(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
