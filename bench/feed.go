package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// feedSamples is how many commits the feed measurement times.
const feedSamples = 50

// feedResult is the measurement of the change feed's long polling: for
// each sample, the time from an upsert's answer (its commit) to the
// answer of a reader already waiting on GET /v1/changes?wait=.
type feedResult struct {
	latencies []time.Duration // sorted
	err       error
}

func (f *feedResult) p50() time.Duration { return f.latencies[len(f.latencies)/2] }
func (f *feedResult) max() time.Duration { return f.latencies[len(f.latencies)-1] }

// measureFeed takes feedSamples samples: it reads the end of the feed,
// starts a reader waiting after it, lets it reach the server, upserts a
// user and times the reader's answer from the upsert's. Each waiting
// reader must answer with exactly that user's creation.
func measureFeed(ctx context.Context, base, key string) *feedResult {
	res := &feedResult{}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(query string) (results []struct{ Type string }, next string, err error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/changes?"+query, nil)
		if err != nil {
			return nil, "", err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			return nil, "", fmt.Errorf("GET /v1/changes?%s: %d %s %v", query, resp.StatusCode, body, err)
		}
		var page struct {
			Results []struct{ Type string }
			Next    string
		}
		err = json.Unmarshal(body, &page)
		return page.Results, page.Next, err
	}
	for i := range feedSamples {
		_, head, err := get("after=now")
		if err != nil {
			res.err = err
			return res
		}
		type answer struct {
			at  time.Time
			n   int
			typ string
			err error
		}
		got := make(chan answer, 1)
		go func() {
			results, _, err := get("wait=20&after=" + url.QueryEscape(head))
			a := answer{at: time.Now(), n: len(results), err: err}
			if len(results) > 0 {
				a.typ = results[0].Type
			}
			got <- a
		}()
		time.Sleep(50 * time.Millisecond) // the reader is waiting
		body := fmt.Sprintf(`{"id":"feed-bench-%d","attributes":{"sample":%d}}`, i, i)
		req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/users", bytes.NewBufferString(body))
		if err != nil {
			res.err = err
			return res
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			res.err = err
			return res
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		committed := time.Now()
		a := <-got
		switch {
		case a.err != nil:
			res.err = a.err
			return res
		case resp.StatusCode != 201 || a.n != 1 || a.typ != "user.created":
			res.err = fmt.Errorf("sample %d: upsert %d, the reader got %d changes (%q)", i, resp.StatusCode, a.n, a.typ)
			return res
		}
		res.latencies = append(res.latencies, max(a.at.Sub(committed), 0))
	}
	slices.Sort(res.latencies)
	return res
}

// print writes the feed's row of the report.
func (f *feedResult) print(w io.Writer) {
	if f.err != nil {
		fmt.Fprintf(w, "feed long-poll: FAILED: %s\n", firstLine(f.err.Error()))
		return
	}
	fmt.Fprintf(w, "feed long-poll, commit to waiting reader (%d samples): p50 %s, max %s (target p50 <= 100ms)\n",
		len(f.latencies), fmtLatency(f.p50()), fmtLatency(f.max()))
}
