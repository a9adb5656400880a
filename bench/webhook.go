package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// The -webhook run: the loads run with one webhook endpoint of the
// environment subscribed to every change ("*"), delivered to a receiver in
// the bench process that answers 200 (webhooks.md §5). The report gives
// the rate of the loads, to compare with a run without -webhook, and how
// fast the deliveries drained.

// webhookScopes are the scopes of the token of a -webhook run: the loads'
// and the management of webhooks.
const webhookScopes = loadScopes + ",webhook:manage"

// receiver counts the distinct messages POSTed to it and when it got
// them.
type receiver struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	seen  map[string]bool
	times []time.Time // of each distinct message, in arrival order
	dups  int
}

// startReceiver listens on a loopback port.
func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{seen: map[string]bool{}, url: "http://" + ln.Addr().String() + "/hook"}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	io.Copy(io.Discard, req.Body)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	if r.seen[id] {
		r.dups++
	} else {
		r.seen[id] = true
		r.times = append(r.times, time.Now())
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// count returns the distinct messages received so far.
func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

// createEndpoint creates the bench's endpoint through v2.
func createEndpoint(ctx context.Context, base string, c creds, url string) error {
	body, _ := json.Marshal(map[string]any{"url": url, "topics": []string{"*"}, "description": "tourd bench"})
	req, err := http.NewRequestWithContext(ctx, "POST", base+c.v2Base()+"/webhooks", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		out, _ := io.ReadAll(res.Body)
		return fmt.Errorf("create the webhook endpoint: %d %s", res.StatusCode, out)
	}
	return nil
}

// webhookResult is how the deliveries of a -webhook run went.
type webhookResult struct {
	received, dups int
	// drained is the rate of the deliveries after the loads ended, from
	// then to the last one: the deliverer's pace with a backlog.
	drained  float64
	lastLate time.Duration // from the end of the loads to the last delivery
	err      error
}

// awaitDeliveries waits, after the loads, until no message has arrived
// for quiet, and measures the drain.
func (r *receiver) awaitDeliveries(ctx context.Context, quiet time.Duration) *webhookResult {
	end := time.Now()
	atEnd := r.count()
	last, lastCount := time.Now(), atEnd
	for time.Since(last) < quiet {
		select {
		case <-ctx.Done():
			return &webhookResult{err: ctx.Err()}
		case <-time.After(100 * time.Millisecond):
		}
		if n := r.count(); n != lastCount {
			last, lastCount = time.Now(), n
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &webhookResult{received: len(r.times), dups: r.dups}
	if n := len(r.times) - atEnd; n > 0 {
		lastAt := r.times[len(r.times)-1]
		res.lastLate = lastAt.Sub(end)
		res.drained = float64(n) / lastAt.Sub(end).Seconds()
	}
	log.Printf("webhook receiver: %d messages (%d at the end of the loads), %d repeated", res.received, atEnd, res.dups)
	return res
}

// print writes the -webhook lines of the report.
func (w *webhookResult) print(out io.Writer) {
	if w.err != nil {
		fmt.Fprintf(out, "webhook deliveries: FAILED: %s\n", firstLine(w.err.Error()))
		return
	}
	fmt.Fprintf(out, "webhook deliveries: %d messages received (%d repeated); after the loads, the backlog drained at %.0f/s, the last %s after them (target >= 1000/s)\n",
		w.received, w.dups, w.drained, w.lastLate.Round(time.Millisecond))
}
