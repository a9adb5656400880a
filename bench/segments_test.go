package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSegSelectivities checks that the data set gives the segments the
// selectivities the bench claims, at its default size.
func TestSegSelectivities(t *testing.T) {
	p := newSegPlan(1_000_000, 100_000)
	if p.companies != 100_000 || p.manual != 100_000 {
		t.Fatalf("plan = %+v, want 100000 companies and manual members", p)
	}
	want := map[string]int{"all": 1_000_000, "10pct": 100_000, "0.01pct": 100, "cross": 5_000, "manual": 100_000}
	for _, d := range segDefs {
		if got := p.count(d); got != want[d.slug] {
			t.Errorf("segment %s: %d members, want %d", d.label, got, want[d.slug])
		}
	}
}

func TestSegLines(t *testing.T) {
	p := newSegPlan(1000, 10)
	for _, i := range []int{1, 7, 999, 1000} {
		line := p.userLine([]byte("junk"), i)[len("junk"):]
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("userLine(%d) = %q, want one line", i, line)
		}
		var u struct {
			ID         string         `json:"id"`
			Attributes map[string]any `json:"attributes"`
			Companies  []struct {
				ID string `json:"id"`
			} `json:"companies"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil {
			t.Fatalf("userLine(%d) = %q: %v", i, line, err)
		}
		if u.ID != segUserID(i) || u.Attributes["bucket"] != float64(i%10000) || u.Attributes["plan"] != segPlans[i%3] {
			t.Errorf("userLine(%d) = %q", i, line)
		}
		if len(u.Companies) != 1 || u.Companies[0].ID != segCompanyID(i%100) {
			t.Errorf("userLine(%d) companies = %v, want [%s]", i, u.Companies, segCompanyID(i%100))
		}
		for k := range u.Attributes {
			if !codeName.MatchString(k) {
				t.Errorf("attribute key %q breaks v2's codeName rule", k)
			}
		}
	}
	for _, j := range []int{0, 7, 107, 99} {
		line := p.companyLine(nil, j)
		var c struct {
			ID         string         `json:"id"`
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal(line, &c); err != nil || bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("companyLine(%d) = %q: %v", j, line, err)
		}
		if c.ID != segCompanyID(j) || c.Attributes["tier"] != float64(j%100) {
			t.Errorf("companyLine(%d) = %q", j, line)
		}
	}
}

func TestSegUserIndex(t *testing.T) {
	for _, i := range []int{1, 42, 1_000_000} {
		if got, ok := segUserIndex(segUserID(i)); !ok || got != i {
			t.Errorf("segUserIndex(%q) = %d, %v", segUserID(i), got, ok)
		}
	}
	for _, id := range []string{"seg-user-0", "seg-user-07", "seg-user-", "bench-user-1", "seg-user-1x"} {
		if _, ok := segUserIndex(id); ok {
			t.Errorf("segUserIndex(%q) accepted it", id)
		}
	}
}

func TestSegManualMembers(t *testing.T) {
	for _, tc := range []struct{ users, manual int }{{1_000, 100}, {1_000, 1_000}, {1_000, 5_000}, {1_003, 100}, {10, 3}, {1, 1}} {
		p := newSegPlan(tc.users, tc.manual)
		if p.manual != min(tc.manual, tc.users) {
			t.Errorf("%+v: manual = %d", tc, p.manual)
		}
		picked := map[int]bool{}
		for k := range p.manual {
			i := p.manualMember(k)
			if i < 1 || i > p.users || picked[i] {
				t.Fatalf("%+v: member %d is user %d", tc, k, i)
			}
			picked[i] = true
		}
		for i := 1; i <= p.users; i++ {
			if p.inManual(i) != picked[i] {
				t.Errorf("%+v: inManual(%d) = %v, want %v", tc, i, p.inManual(i), picked[i])
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	for _, tc := range []struct {
		ds   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(5), 50, 5 * time.Millisecond},
		{ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{ms(4, 1, 3, 2, 5), 50, 3 * time.Millisecond},
		{ms(4, 1, 3, 2, 5), 100, 5 * time.Millisecond},
	} {
		if got := percentile(tc.ds, tc.q); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.ds, tc.q, got, tc.want)
		}
	}
}

func TestParseLoadAvg(t *testing.T) {
	const s = "0.90 1.78 2.57 1/171 25587\n"
	if got := parseLoadAvg(s, 1); got != "0.90" {
		t.Errorf("1 field: %q", got)
	}
	if got := parseLoadAvg(s, 3); got != "0.90 1.78 2.57" {
		t.Errorf("3 fields: %q", got)
	}
	if got := parseLoadAvg("", 1); got != "?" {
		t.Errorf("empty: %q", got)
	}
}

func TestSegmentFlags(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil || cfg.segments {
		t.Fatalf("default: segments=%v, %v; want off", cfg.segments, err)
	}
	if cfg.segUsers != 1_000_000 || cfg.segManual != 100_000 || cfg.segRuns != 20 {
		t.Errorf("defaults = %+v", cfg)
	}
	cfg, err = parseFlags([]string{"-segments", "-segment-users", "5000", "-segment-runs", "3"}, io.Discard)
	if err != nil || !cfg.segments || cfg.segUsers != 5000 || cfg.segRuns != 3 {
		t.Errorf("-segments: %+v, %v", cfg, err)
	}
	for _, args := range [][]string{
		{"-segments", "-skip-tourd"},
		{"-segments", "-segment-users", "0"},
		{"-segments", "-segment-runs", "0"},
		{"-segments", "-segment-hops", "-1"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// fakeSegServer answers the few routes the segment client's helpers use,
// for a plan p: the import routes (counting lines), a user list that
// pages through the members of a segment given by slug as segmentId,
// and memberCount.
func fakeSegServer(t *testing.T, p segPlan) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	lines := new(atomic.Int64)
	defs := map[string]segDef{}
	for _, d := range segDefs {
		defs[d.slug] = d
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/users/import", func(w http.ResponseWriter, r *http.Request) {
		sc := bufio.NewScanner(r.Body)
		n, bad := 0, 0
		for sc.Scan() {
			n++
			if !json.Valid(sc.Bytes()) {
				bad++
			}
		}
		lines.Add(int64(n))
		fmt.Fprintf(w, `{"object":"import","created":%d,"updated":0,"failed":%d,"errors":[]}`, n-bad, bad)
	})
	users := func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d := segDefs[0]
		if s := q.Get("segmentId"); s != "" {
			d = defs[s]
		}
		after, _ := strconv.Atoi(q.Get("cursor"))
		var ids []string
		last := 0
		for i := after + 1; i <= p.users && len(ids) < segPageLimit; i++ {
			if d.member(p, i) {
				ids = append(ids, fmt.Sprintf(`{"id":%q}`, segUserID(i)))
				last = i
			}
		}
		next := "null"
		if len(ids) == segPageLimit {
			q.Set("cursor", strconv.Itoa(last))
			next = strconv.Quote(r.URL.Path + "?" + q.Encode())
		}
		fmt.Fprintf(w, `{"results":[%s],"next":%s,"previous":null}`, strings.Join(ids, ","), next)
	}
	mux.HandleFunc("GET /v2/projects/{p}/environments/{e}/users", users)
	mux.HandleFunc("GET /v1/users", func(w http.ResponseWriter, r *http.Request) {
		// v1 authenticates with the key; this fake pages oldest first
		// whatever orderBy says.
		if r.Header.Get("Authorization") != "Bearer ak_x" {
			http.Error(w, `{"error":"key"}`, http.StatusUnauthorized)
			return
		}
		users(w, r)
	})
	mux.HandleFunc("GET /v2/projects/{p}/segments/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id":%q,"object":"segment","memberCount":%d}`, r.PathValue("id"), p.count(defs[r.PathValue("id")]))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, lines
}

func TestSegClientAgainstFake(t *testing.T) {
	p := newSegPlan(20_000, 2_000)
	srv, lines := fakeSegServer(t, p)
	c := creds{key: "ak_x", token: "utp_x", project: "P", environment: "E"}
	sc := newSegClient(srv.URL, c, 2)
	ctx := context.Background()

	if _, err := sc.importLines(ctx, "/v1/users/import", 1, 1001, p.userLine); err != nil || lines.Load() != 1000 {
		t.Fatalf("importLines: %v, %d lines received", err, lines.Load())
	}
	bad := func(dst []byte, i int) []byte { return append(dst, "{\n"...) }
	if _, err := sc.importLines(ctx, "/v1/users/import", 0, 3, bad); err == nil {
		t.Error("importLines: failed lines not reported")
	}
	lines.Store(0)
	if _, err := sc.importAll(ctx, "users", "/v1/users/import", 1, 250_001, 2, p.userLine); err != nil || lines.Load() != 250_000 {
		t.Fatalf("importAll: %v, %d lines received", err, lines.Load())
	}

	// Every segment's slug is its id on the fake.
	ids := map[string]string{}
	counts := map[string]int{}
	for _, d := range segDefs {
		ids[d.slug], counts[d.slug] = d.slug, p.count(d)
	}
	users := c.v2Base() + "/users"
	plainLater, seen, err := sc.follow(ctx, users+"?limit=20", false, 5, p, segDefs[0], p.users)
	if err != nil || seen != 100 {
		t.Fatalf("follow plain: %v, %d seen", err, seen)
	}
	manual := segDefs[len(segDefs)-1]
	manualLater, _, err := sc.follow(ctx, users+"?segmentId=manual&limit=20", false, 5, p, manual, counts["manual"])
	if err != nil {
		t.Fatalf("follow manual: %v", err)
	}
	v1Later, _, err := sc.follow(ctx, v1NewestPath("10pct"), true, 5, p, segDefs[1], counts["10pct"])
	if err != nil {
		t.Fatalf("follow v1: %v", err)
	}
	if _, _, err := sc.follow(ctx, users+"?segmentId=0.01pct&limit=20", false, 1, p, segDefs[2], counts["0.01pct"]); err == nil {
		t.Error("follow past the last page: no error")
	}

	qs := segQueries(c, p, ids, counts, laterPages{plainLater, manualLater, v1Later}, 5)
	if len(qs) != 1+len(segDefs)+3+len(segDefs) {
		t.Fatalf("%d queries", len(qs))
	}
	rep := &segReport{plan: p, runs: 3, hops: 5, counts: counts}
	for _, q := range qs {
		r := sc.measure(ctx, q, 3)
		if r.err != nil || len(r.lat) != 3 {
			t.Errorf("%s: %v, %d latencies", q.name, r.err, len(r.lat))
		}
		rep.rows = append(rep.rows, r)
	}
	if !rep.ok() {
		t.Error("report not ok")
	}

	// A check that fails stops the row.
	q := qs[1]
	q.check = func(data []byte) error { return checkCount(data, 1) }
	if r := sc.measure(ctx, q, 3); r.err == nil || len(r.lat) != 0 {
		t.Errorf("failing check: %v, %d latencies", r.err, len(r.lat))
	}
	// A wrong member fails the page check.
	q = qs[2] // 10%
	q.check = func(data []byte) error { _, err := checkPage(data, p, segDefs[2], 20); return err }
	if r := sc.measure(ctx, q, 1); r.err == nil || !strings.Contains(r.err.Error(), "not a member") {
		t.Errorf("wrong members: %v", r.err)
	}

	var out bytes.Buffer
	rep.print(&out)
	for _, want := range []string{"users page 1 seg=10%", "users page 6 seg=manual", "v1 newest page 6 seg=10%", "memberCount cross", "<=50ms", "~plain", "seg=cross"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSegVerdict(t *testing.T) {
	ms := time.Millisecond
	rep := &segReport{rows: []segRow{
		{q: segQuery{name: "plain"}, lat: []time.Duration{2 * ms, 2 * ms}},
	}}
	for _, tc := range []struct {
		r           segRow
		target, got string
	}{
		{segRow{q: segQuery{target: 50 * ms}, lat: []time.Duration{10 * ms, 90 * ms, 20 * ms}}, "<=50ms", "ok"},
		{segRow{q: segQuery{target: 50 * ms}, lat: []time.Duration{60 * ms}}, "<=50ms", "MISSED"},
		{segRow{q: segQuery{target: 1500 * ms}}, "<=1.5s", ""},
		{segRow{q: segQuery{likePlain: "plain"}, lat: []time.Duration{3 * ms}}, "~plain", "1.5x"},
		{segRow{q: segQuery{}}, "-", ""},
	} {
		target, got := rep.verdict(tc.r)
		if target != tc.target || got != tc.got {
			t.Errorf("verdict(%+v) = %q %q, want %q %q", tc.r.q, target, got, tc.target, tc.got)
		}
	}
}

func TestParseProcMem(t *testing.T) {
	const status = "Name:\ttourd\nVmPeak:\t 2000000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nRssAnon:\t   51200 kB\nRssFile:\t   51200 kB\n"
	m, err := parseProcMem(strings.NewReader(status), "VmHWM", "RssAnon", "RssFile")
	if err != nil || m["VmHWM"] != 200 || m["RssAnon"] != 50 || m["RssFile"] != 50 || len(m) != 3 {
		t.Errorf("parseProcMem = %v, %v", m, err)
	}
	if _, err := parseProcMem(strings.NewReader(status), "VmSwap"); err == nil {
		t.Error("a missing field: no error")
	}
	if _, err := parseProcMem(strings.NewReader("VmHWM:\t12 MB\n"), "VmHWM"); err == nil {
		t.Error("a field not in kB: no error")
	}
}

func TestSampleAnonSelf(t *testing.T) {
	if _, err := procMemMB(os.Getpid(), "RssAnon"); err != nil {
		t.Skipf("no /proc status here: %v", err)
	}
	stop := sampleAnon(os.Getpid())
	time.Sleep(3 * anonSampleEvery)
	if mb := stop(); mb <= 0 {
		t.Errorf("peak RssAnon of the test process = %v", mb)
	}
	if mb := stop(); mb <= 0 {
		t.Errorf("second call: %v", mb)
	}
}
