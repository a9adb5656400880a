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
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The segment benchmark (go run ./bench -segments): segments.md §5's
// figures. It seeds a large data set through the NDJSON import routes,
// creates segments through v2, and times single requests (one at a time,
// not a wrk load) of the segmentId filter and of memberCount.

// segScopes are the scopes of the segment bench's token.
const segScopes = "segment:read,segment:create,segment:update,user:read,company:read"

// segImportChunk is the number of NDJSON lines sent in one import request.
const segImportChunk = 100_000

// segPageLimit is the page size of the measured lists.
const segPageLimit = 20

// segRequestTimeout bounds one measured request.
const segRequestTimeout = 5 * time.Minute

// segClient is the HTTP client of the segment bench: a request's time is
// bounded by its context (an import stream may take minutes).
type segClient struct {
	base string // server root URL, no trailing slash
	c    creds
	http *http.Client
}

func newSegClient(base string, c creds, conns int) *segClient {
	return &segClient{base: base, c: c, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}}
}

// projectBase returns the v2 path prefix of the creds' project.
func (c creds) projectBase() string { return "/v2/projects/" + c.project }

// do sends one request with the token (v2) or the key (v1) and returns the
// status and the body.
func (sc *segClient) do(ctx context.Context, method, path string, body io.Reader, contentType string, v1 bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, sc.base+path, body)
	if err != nil {
		return 0, nil, err
	}
	if v1 {
		req.Header.Set("Authorization", "Bearer "+sc.c.key)
	} else {
		req.Header.Set("Authorization", "Bearer "+sc.c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := sc.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return resp.StatusCode, data, nil
}

// expect sends a request and checks its status.
func (sc *segClient) expect(ctx context.Context, want int, method, path string, body []byte, v1 bool) ([]byte, error) {
	var r io.Reader
	ct := ""
	if body != nil {
		r, ct = bytes.NewReader(body), "application/json"
	}
	status, data, err := sc.do(ctx, method, path, r, ct, v1)
	if err != nil {
		return nil, err
	}
	if status != want {
		return nil, fmt.Errorf("%s %s: %d, want %d: %s", method, path, status, want, firstLine(string(bytes.TrimSpace(data))))
	}
	return data, nil
}

// importResult is the answer of an import route (api.md §11).
type importResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Failed  int `json:"failed"`
	Errors  []struct {
		Line    int    `json:"line"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// importLines streams the NDJSON lines line(from) … line(to-1) to the
// import route path (v1) as one request, and checks that every line was
// applied.
func (sc *segClient) importLines(ctx context.Context, path string, from, to int, line func(dst []byte, i int) []byte) (importResult, error) {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 256<<10)
		var buf []byte
		for i := from; i < to; i++ {
			buf = line(buf[:0], i)
			if _, err := w.Write(buf); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(w.Flush())
	}()
	status, data, err := sc.do(ctx, http.MethodPost, path, pr, "application/x-ndjson", true)
	pr.Close()
	var res importResult
	if err != nil {
		return res, err
	}
	if status != http.StatusOK {
		return res, fmt.Errorf("POST %s (lines for %d..%d): %d: %s", path, from, to-1, status, firstLine(string(bytes.TrimSpace(data))))
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return res, fmt.Errorf("POST %s: answer %q: %w", path, data, err)
	}
	if res.Failed != 0 || res.Created+res.Updated != to-from {
		first := ""
		if len(res.Errors) > 0 {
			first = fmt.Sprintf("; first error: line %d %s %s", res.Errors[0].Line, res.Errors[0].Code, res.Errors[0].Message)
		}
		return res, fmt.Errorf("POST %s (%d lines): created %d, updated %d, failed %d%s", path, to-from, res.Created, res.Updated, res.Failed, first)
	}
	return res, nil
}

// importAll imports the lines for indices from..to-1 in requests of
// segImportChunk lines, streams of them at once, and returns the time it
// took.
func (sc *segClient) importAll(ctx context.Context, what, path string, from, to, streams int, line func(dst []byte, i int) []byte) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	chunks := make(chan int)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			for lo := range chunks {
				hi := min(lo+segImportChunk, to)
				if _, err := sc.importLines(ctx, path, lo, hi, line); err != nil {
					cancel(err)
					return
				}
				n := done.Add(int64(hi - lo))
				el := time.Since(start)
				log.Printf("imported %d/%d %s (%.0f/s)", n, to-from, what, float64(n)/el.Seconds())
			}
		})
	}
feed:
	for lo := from; lo < to; lo += segImportChunk {
		select {
		case chunks <- lo:
		case <-ctx.Done():
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// segment is a segment as the v2 API answers it.
type segment struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	MemberCount *int   `json:"memberCount"`
}

// createSegment creates the segment of d (condition or manual) and returns
// its id.
func (sc *segClient) createSegment(ctx context.Context, d segDef) (string, error) {
	body := map[string]any{"name": "bench " + d.slug, "bizType": "user", "kind": d.kind}
	if d.kind == "condition" {
		body["conditions"] = json.RawMessage(d.conditions)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	data, err := sc.expect(ctx, http.StatusCreated, http.MethodPost, sc.c.projectBase()+"/segments", b, false)
	if err != nil {
		return "", err
	}
	var sg segment
	if err := json.Unmarshal(data, &sg); err != nil || sg.ID == "" {
		return "", fmt.Errorf("POST segments: answer %q has no id (%v)", data, err)
	}
	return sg.ID, nil
}

// allUsersSegment returns the id of the project's built-in "all" user
// segment.
func (sc *segClient) allUsersSegment(ctx context.Context) (string, error) {
	data, err := sc.expect(ctx, http.StatusOK, http.MethodGet, sc.c.projectBase()+"/segments?bizType=user&limit=100", nil, false)
	if err != nil {
		return "", err
	}
	var l struct {
		Results []segment `json:"results"`
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return "", fmt.Errorf("GET segments: %w", err)
	}
	for _, sg := range l.Results {
		if sg.Kind == "all" {
			return sg.ID, nil
		}
	}
	return "", errors.New("GET segments: no built-in user segment of kind all")
}

// addMembers makes the plan's manual members members of the manual
// segment id, with workers concurrent PUTs, and returns the time it took.
func (sc *segClient) addMembers(ctx context.Context, id string, p segPlan, workers int) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	ks := make(chan int)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := range ks {
				path := sc.c.v2Base() + "/segments/" + id + "/members/" + segUserID(p.manualMember(k))
				if _, err := sc.expect(ctx, http.StatusNoContent, http.MethodPut, path, nil, false); err != nil {
					cancel(err)
					return
				}
				if n := done.Add(1); n%20000 == 0 {
					log.Printf("added %d/%d manual members (%.0f/s)", n, p.manual, float64(n)/time.Since(start).Seconds())
				}
			}
		})
	}
feed:
	for k := range p.manual {
		select {
		case ks <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(ks)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// userPage is a page of GET E/users.
type userPage struct {
	Results []struct {
		ID string `json:"id"`
	} `json:"results"`
	Next *string `json:"next"`
}

// checkPage parses a users page and checks that it holds want users, each
// a member of d.
func checkPage(data []byte, p segPlan, d segDef, want int) (userPage, error) {
	var pg userPage
	if err := json.Unmarshal(data, &pg); err != nil {
		return pg, fmt.Errorf("answer is not a users page: %w", err)
	}
	if len(pg.Results) != want {
		return pg, fmt.Errorf("%d users, want %d", len(pg.Results), want)
	}
	for _, u := range pg.Results {
		i, ok := segUserIndex(u.ID)
		if !ok || i > p.users {
			return pg, fmt.Errorf("user %q is not a seeded user", u.ID)
		}
		if !d.member(p, i) {
			return pg, fmt.Errorf("user %q is not a member of segment %s", u.ID, d.label)
		}
	}
	return pg, nil
}

// checkCount parses a segment with memberCount and checks the count.
func checkCount(data []byte, want int) error {
	var sg segment
	if err := json.Unmarshal(data, &sg); err != nil {
		return fmt.Errorf("answer is not a segment: %w", err)
	}
	if sg.MemberCount == nil {
		return errors.New("answer has no memberCount")
	}
	if *sg.MemberCount != want {
		return fmt.Errorf("memberCount %d, want %d", *sg.MemberCount, want)
	}
	return nil
}

// segQuery is one measured request, sent runs times.
type segQuery struct {
	name   string
	path   string
	check  func(data []byte) error
	result string // what a correct answer holds, for the report

	target    time.Duration // 0: none
	likePlain string        // name of the row whose p50 this one should match
	v1        bool          // a v1 route, sent with the API key
}

// segRow is the result of one segQuery.
type segRow struct {
	q       segQuery
	lat     []time.Duration // one per request, in order
	load    string          // 1-minute load average when the row started
	peakMB  float64         // tourd's VmHWM after the row, since the reset after seeding
	anonMB  float64         // tourd's peak RssAnon during the row, sampled
	err     error
	elapsed time.Duration
}

// p50 and max of the row's latencies (0 without any).
func (r segRow) p50() time.Duration { return percentile(r.lat, 50) }
func (r segRow) max() time.Duration { return percentile(r.lat, 100) }

// percentile returns the nearest-rank percentile q (0..100] of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(q/100*float64(len(s)) + 0.999999)
	return s[min(max(rank, 1), len(s))-1]
}

// measure sends q runs times, one after the other, checking each answer.
func (sc *segClient) measure(ctx context.Context, q segQuery, runs int) segRow {
	r := segRow{q: q, load: loadAvg1()}
	start := time.Now()
	for range runs {
		rctx, cancel := context.WithTimeout(ctx, segRequestTimeout)
		t0 := time.Now()
		data, err := sc.expect(rctx, http.StatusOK, http.MethodGet, q.path, nil, q.v1)
		d := time.Since(t0)
		cancel()
		if err == nil {
			err = q.check(data)
		}
		if err != nil {
			r.err = err
			break
		}
		r.lat = append(r.lat, d)
	}
	r.elapsed = time.Since(start)
	return r
}

// follow walks hops next links from the first page at path (of v1 with
// v1), checking each page as a page of d, and returns the path of the
// page it lands on and the number of members before it.
func (sc *segClient) follow(ctx context.Context, path string, v1 bool, hops int, p segPlan, d segDef, count int) (string, int, error) {
	seen := 0
	for h := range hops {
		data, err := sc.expect(ctx, http.StatusOK, http.MethodGet, path, nil, v1)
		if err != nil {
			return "", 0, err
		}
		pg, err := checkPage(data, p, d, min(segPageLimit, count-seen))
		if err != nil {
			return "", 0, fmt.Errorf("page %d of %s: %w", h+1, path, err)
		}
		seen += len(pg.Results)
		if pg.Next == nil {
			return "", 0, fmt.Errorf("page %d of %s has no next link (%d users seen)", h+1, path, seen)
		}
		path = *pg.Next
	}
	return path, seen, nil
}

// segSeeding records how the data set was made.
type segSeeding struct {
	companies, users, members time.Duration
	streams, workers          int
	peakMB                    float64 // tourd's VmHWM at the end of seeding
	anonMB                    float64 // tourd's peak RssAnon during seeding, sampled
	rssAnonMB, rssFileMB      float64 // tourd's RssAnon and RssFile at the end of seeding
	dbSize                    string  // the SQLite file's size, if known
}

// anonSampleEvery is how often tourd's RssAnon is sampled.
const anonSampleEvery = 10 * time.Millisecond

// sampleAnon polls the RssAnon (anonymous memory: the heap, stacks; not
// the pages of the mapped database file, which VmHWM counts) of process
// pid until the returned function is called; that function returns the
// peak seen, in MiB (0 if none could be read). It may be called again.
func sampleAnon(pid int) func() float64 {
	stop := make(chan struct{})
	done := make(chan float64)
	go func() {
		peak := 0.0
		t := time.NewTicker(anonSampleEvery)
		defer t.Stop()
		for {
			if m, err := procMemMB(pid, "RssAnon"); err == nil {
				peak = max(peak, m["RssAnon"])
			}
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	var peak float64
	return func() float64 {
		once.Do(func() {
			close(stop)
			peak = <-done
		})
		return peak
	}
}

// segReport collects the results of a segment bench run.
type segReport struct {
	backend    string
	plan       segPlan
	runs       int
	hops       int
	gomaxprocs int
	nproc      int

	seeding    *segSeeding
	peakReset  error  // why tourd's VmHWM could not be reset after seeding
	loadBefore string // /proc/loadavg before and after the measurements
	loadAfter  string
	rows       []segRow
	counts     map[string]int // expected member counts, by segment slug
}

func (rep *segReport) ok() bool {
	for _, r := range rep.rows {
		if r.err != nil {
			return false
		}
	}
	return true
}

// find returns the row named name.
func (rep *segReport) find(name string) (segRow, bool) {
	for _, r := range rep.rows {
		if r.q.name == name {
			return r, true
		}
	}
	return segRow{}, false
}

// verdict says how the row compares with its target.
func (rep *segReport) verdict(r segRow) (target, verdict string) {
	switch {
	case r.q.target > 0:
		target = "<=" + r.q.target.String()
		if len(r.lat) > 0 {
			verdict = "ok"
			if r.p50() > r.q.target {
				verdict = "MISSED"
			}
		}
	case r.q.likePlain != "":
		target = "~plain"
		if pl, ok := rep.find(r.q.likePlain); ok && len(pl.lat) > 0 && len(r.lat) > 0 && pl.p50() > 0 {
			verdict = fmt.Sprintf("%.1fx", float64(r.p50())/float64(pl.p50()))
		}
	default:
		target = "-"
	}
	return target, verdict
}

// print writes the report to w.
func (rep *segReport) print(w io.Writer) {
	p := rep.plan
	fmt.Fprintf(w, "tourd segment bench: backend=%s users=%d companies=%d manual=%d runs=%d page=%d later page=%d  (GOMAXPROCS=%d nproc=%d)\n",
		rep.backend, p.users, p.companies, p.manual, rep.runs, segPageLimit, rep.hops+1, rep.gomaxprocs, rep.nproc)
	if s := rep.seeding; s != nil {
		fmt.Fprintf(w, "seeding: %d companies in %s (%s/s), %d users in %s (%s/s), %d import stream(s) of %d lines; %d manual members in %s (%s/s, %d workers)\n",
			p.companies, fmtDur(s.companies), rate(p.companies, s.companies),
			p.users, fmtDur(s.users), rate(p.users, s.users), s.streams, segImportChunk,
			p.manual, fmtDur(s.members), rate(p.manual, s.members), s.workers)
		fmt.Fprintf(w, "tourd memory at the end of seeding: VmHWM %.1f MB, RssAnon %.1f MB, RssFile %.1f MB (mapped files: the binary, SQLite's database); peak RssAnon during seeding %.1f MB", s.peakMB, s.rssAnonMB, s.rssFileMB, s.anonMB)
		if s.dbSize != "" {
			fmt.Fprintf(w, "; database file %s", s.dbSize)
		}
		fmt.Fprintln(w)
	}
	if rep.peakReset != nil {
		fmt.Fprintf(w, "VmHWM could not be reset after seeding (%v): hwmMB below includes the seeding\n", rep.peakReset)
	} else if rep.seeding != nil {
		fmt.Fprintln(w, "VmHWM reset after seeding: hwmMB below is tourd's peak RSS since then, up to the end of the row; on SQLite it counts the database's pages once per connection that maps them (up to 1 GiB each)")
	}
	for _, d := range segDefs {
		fmt.Fprintf(w, "seg=%-7s %s: %d members\n", d.label, d.what, rep.counts[d.slug])
	}
	if rep.loadBefore != "" {
		fmt.Fprintf(w, "loadavg before the measurements: %s; after: %s\n", rep.loadBefore, rep.loadAfter)
	}
	fmt.Fprintf(w, "anonMB is tourd's peak RssAnon (heap and stacks) during the row, sampled every %s\n", anonSampleEvery)
	const rowFmt = "%-26s %-8s %-10s %-10s %-8s %-6s %-6s %-7s %s\n"
	fmt.Fprintf(w, rowFmt, "request", "answer", "p50", "max", "target", "", "load1", "anonMB", "hwmMB")
	for _, r := range rep.rows {
		peak, anon := "-", "-"
		if r.peakMB > 0 {
			peak = fmt.Sprintf("%.1f", r.peakMB)
		}
		if r.anonMB > 0 {
			anon = fmt.Sprintf("%.1f", r.anonMB)
		}
		target, verdict := rep.verdict(r)
		p50, mx := "-", "-"
		if len(r.lat) > 0 {
			p50, mx = fmtDur(r.p50()), fmtDur(r.max())
		}
		line := fmt.Sprintf(rowFmt, r.q.name, r.q.result, p50, mx, target, verdict, r.load, anon, peak)
		if r.err != nil {
			line = strings.TrimSuffix(line, "\n") + fmt.Sprintf("  FAILED after %d request(s): %s\n", len(r.lat), firstLine(r.err.Error()))
		}
		fmt.Fprint(w, line)
	}
}

// rate formats n per d.
func rate(n int, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(n)/d.Seconds())
}

// fmtDur formats a duration in ms below 10 s, in s above.
func fmtDur(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// loadAvg returns the first three fields of /proc/loadavg, or "?".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return parseLoadAvg(string(data), 3)
}

// loadAvg1 returns the 1-minute load average, or "?".
func loadAvg1() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return parseLoadAvg(string(data), 1)
}

// parseLoadAvg returns the first n fields of a /proc/loadavg line.
func parseLoadAvg(s string, n int) string {
	f := strings.Fields(s)
	if len(f) < n {
		return "?"
	}
	return strings.Join(f[:n], " ")
}

// laterPages are the paths of the later pages measured, found by
// following next links ("" when that failed).
type laterPages struct {
	plain    string // v2 users
	manual   string // v2 users of the manual segment
	v1Newest string // v1 users of the 10% segment, newest first
}

// v1NewestPath is the first page of v1's users of segment id, newest first
// (an order of mixed directions: created_at DESC, id).
func v1NewestPath(id string) string {
	return fmt.Sprintf("/v1/users?orderBy=-createdAt&segmentId=%s&limit=%d", url.QueryEscape(id), segPageLimit)
}

// segQueries returns the measured requests, in report order: the plain
// list and every segment's first page, the later pages (page hops+1) of
// the plain list, of the manual segment and of v1's newest first 10%
// segment, then every segment's memberCount. ids maps segment slugs to
// ids; counts to their expected member counts.
func segQueries(c creds, p segPlan, ids map[string]string, counts map[string]int, later laterPages, hops int) []segQuery {
	plainLater, manualLater := later.plain, later.manual
	users := c.v2Base() + "/users"
	all := segDefs[0]
	var qs []segQuery
	page := func(d segDef, want int) func([]byte) error {
		return func(data []byte) error { _, err := checkPage(data, p, d, want); return err }
	}
	first := min(segPageLimit, p.users)
	qs = append(qs, segQuery{
		name: "users page 1", path: fmt.Sprintf("%s?limit=%d", users, segPageLimit),
		check: page(all, first), result: fmt.Sprint(first),
	})
	for _, d := range segDefs {
		want := min(segPageLimit, counts[d.slug])
		q := segQuery{
			name:   "users page 1 seg=" + d.label,
			path:   fmt.Sprintf("%s?segmentId=%s&limit=%d", users, url.QueryEscape(ids[d.slug]), segPageLimit),
			check:  page(d, want),
			result: fmt.Sprint(want),
			target: d.pageTarget,
		}
		if d.likePlain {
			q.likePlain = qs[0].name
		}
		qs = append(qs, q)
	}
	if plainLater != "" {
		want := min(segPageLimit, max(0, p.users-hops*segPageLimit))
		qs = append(qs, segQuery{
			name: fmt.Sprintf("users page %d", hops+1), path: plainLater,
			check: page(all, want), result: fmt.Sprint(want),
		})
	}
	if manualLater != "" {
		d := segDefs[len(segDefs)-1]
		want := min(segPageLimit, max(0, counts[d.slug]-hops*segPageLimit))
		q := segQuery{
			name: fmt.Sprintf("users page %d seg=%s", hops+1, d.label), path: manualLater,
			check: page(d, want), result: fmt.Sprint(want),
		}
		if plainLater != "" {
			q.likePlain = fmt.Sprintf("users page %d", hops+1)
		}
		qs = append(qs, q)
	}
	if later.v1Newest != "" {
		d := segDefs[1] // 10%
		want := min(segPageLimit, max(0, counts[d.slug]-hops*segPageLimit))
		qs = append(qs, segQuery{
			name: fmt.Sprintf("v1 newest page %d seg=%s", hops+1, d.label), path: later.v1Newest, v1: true,
			check: page(d, want), result: fmt.Sprint(want),
		})
	}
	for _, d := range segDefs {
		want := counts[d.slug]
		qs = append(qs, segQuery{
			name:   "memberCount " + d.label,
			path:   fmt.Sprintf("%s/segments/%s?expand=memberCount&environmentId=%s", c.projectBase(), url.PathEscape(ids[d.slug]), url.QueryEscape(c.environment)),
			check:  func(data []byte) error { return checkCount(data, want) },
			result: fmt.Sprint(want),
			target: d.countTarget,
		})
	}
	return qs
}

// runSegments is the segment bench: it builds tourd, creates the
// credentials, starts tourd serve, seeds the data set, creates the
// segments and measures the requests, filling rep.
func (b *bench) runSegments(ctx context.Context, rep *segReport) error {
	p := rep.plan
	bin, err := buildTourd(ctx, b.tmp)
	if err != nil {
		return err
	}
	if b.cfg.dbFromEnv {
		log.Printf("WARNING: using TOURD_DB (%s backend); existing data in that database is kept, give the bench a fresh database for comparable numbers", backend(b.cfg.db))
	}
	var c creds
	if c.key, err = createKey(ctx, bin, b.cfg.db); err != nil {
		return err
	}
	if c.project, c.environment, err = keyTenant(ctx, bin, b.cfg.db); err != nil {
		return err
	}
	if c.token, err = createToken(ctx, bin, b.cfg.db, c.project, c.environment, segScopes); err != nil {
		return err
	}

	srv, err := b.startTourd(ctx, bin)
	if err != nil {
		return err
	}
	defer srv.stop()
	sc := newSegClient(srv.baseURL(), c, max(b.cfg.seedWorkers, b.cfg.segStreams))
	defer sc.http.CloseIdleConnections()
	fail := func(err error) error {
		if srv.exited() {
			return fmt.Errorf("%w (tourd exited: %v; log %s:\n%s)", err, srv.waitErr, srv.logPath, srv.logTail(2048))
		}
		return fmt.Errorf("%w (server log: %s)", err, srv.logPath)
	}

	// Expected counts, computed while tourd seeds.
	countsc := make(chan map[string]int, 1)
	go func() {
		m := make(map[string]int, len(segDefs))
		for _, d := range segDefs {
			m[d.slug] = p.count(d)
		}
		countsc <- m
	}()

	seed := &segSeeding{streams: b.cfg.segStreams, workers: b.cfg.seedWorkers}
	stopSeedSample := sampleAnon(srv.pid())
	defer stopSeedSample()
	log.Printf("seeding %d companies and %d users through the NDJSON import routes", p.companies, p.users)
	if seed.companies, err = sc.importAll(ctx, "companies", "/v1/companies/import", 0, p.companies, b.cfg.segStreams, p.companyLine); err != nil {
		return fail(err)
	}
	log.Printf("seeded %d companies in %s (%s/s)", p.companies, seed.companies.Round(time.Millisecond), rate(p.companies, seed.companies))
	if seed.users, err = sc.importAll(ctx, "users", "/v1/users/import", 1, p.users+1, b.cfg.segStreams, p.userLine); err != nil {
		return fail(err)
	}
	log.Printf("seeded %d users in %s (%s/s)", p.users, seed.users.Round(time.Millisecond), rate(p.users, seed.users))

	ids := map[string]string{}
	if ids["all"], err = sc.allUsersSegment(ctx); err != nil {
		return fail(err)
	}
	for _, d := range segDefs {
		if d.kind == "all" {
			continue
		}
		if ids[d.slug], err = sc.createSegment(ctx, d); err != nil {
			return fail(err)
		}
		log.Printf("created segment %s: %s", d.label, ids[d.slug])
	}
	if seed.members, err = sc.addMembers(ctx, ids["manual"], p, b.cfg.seedWorkers); err != nil {
		return fail(err)
	}
	log.Printf("added %d manual members in %s (%s/s)", p.manual, seed.members.Round(time.Millisecond), rate(p.manual, seed.members))
	seed.anonMB = stopSeedSample()
	if m, err := procMemMB(srv.pid(), "VmHWM", "RssAnon", "RssFile"); err == nil {
		seed.peakMB, seed.rssAnonMB, seed.rssFileMB = m["VmHWM"], m["RssAnon"], m["RssFile"]
	} else {
		log.Printf("tourd memory: %v", err)
	}
	if db, ok := strings.CutPrefix(b.cfg.db, "sqlite:"); ok {
		seed.dbSize = fileSizes(db, db+"-wal")
	}
	rep.seeding = seed
	rep.peakReset = resetPeakRSS(srv.pid())

	var counts map[string]int
	select {
	case counts = <-countsc:
	case <-ctx.Done():
		return ctx.Err()
	}
	rep.counts = counts

	// The later pages: hops next links from the first page.
	users := c.v2Base() + "/users"
	var later laterPages
	if later.plain, _, err = sc.follow(ctx, fmt.Sprintf("%s?limit=%d", users, segPageLimit), false, b.cfg.segHops, p, segDefs[0], p.users); err != nil {
		log.Printf("plain list: %v", err)
	}
	manual := segDefs[len(segDefs)-1]
	if later.manual, _, err = sc.follow(ctx, fmt.Sprintf("%s?segmentId=%s&limit=%d", users, url.QueryEscape(ids["manual"]), segPageLimit), false, b.cfg.segHops, p, manual, counts["manual"]); err != nil {
		log.Printf("manual segment: %v", err)
	}
	if later.v1Newest, _, err = sc.follow(ctx, v1NewestPath(ids["10pct"]), true, b.cfg.segHops, p, segDefs[1], counts["10pct"]); err != nil {
		log.Printf("v1 newest first: %v", err)
	}

	rep.loadBefore = loadAvg()
	for _, q := range segQueries(c, p, ids, counts, later, b.cfg.segHops) {
		log.Printf("%s: %d requests (load %s)", q.name, b.cfg.segRuns, loadAvg1())
		stopSample := sampleAnon(srv.pid())
		r := sc.measure(ctx, q, b.cfg.segRuns)
		r.anonMB = stopSample()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if mb, err := peakRSSMB(srv.pid()); err == nil {
			r.peakMB = mb
		}
		if r.err != nil {
			log.Printf("%s: %v", q.name, r.err)
		} else {
			log.Printf("%s: p50 %s max %s", q.name, fmtDur(r.p50()), fmtDur(r.max()))
		}
		rep.rows = append(rep.rows, r)
		if srv.exited() {
			return fail(errors.New("tourd exited during the measurements"))
		}
	}
	rep.loadAfter = loadAvg()
	return srv.stop()
}

// fileSizes returns the total size of the files that exist among paths,
// formatted in MB, or "" if none does.
func fileSizes(paths ...string) string {
	var total int64
	found := false
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
			found = true
		}
	}
	if !found {
		return ""
	}
	return fmt.Sprintf("%.0f MB", float64(total)/(1<<20))
}

// resetPeakRSS resets the peak RSS (VmHWM) of process pid to its current
// RSS (Linux's /proc/<pid>/clear_refs, value 5).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
