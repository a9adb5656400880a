package deliver_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/deliver"
	"tourd/internal/userdata"
)

// A deliverer that stops while sending abandons the attempt, unrecorded:
// another sends the message again once the lease ends, not before.
func TestAbandonedLease(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		f := newFixture(t, b.Open(t))
		ids := make(chan string, 10)
		var once sync.Once
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then the request's context ends when the client leaves
			ids <- r.Header.Get("Webhook-Id")
			hang := false
			once.Do(func() { hang = true })
			if hang {
				<-r.Context().Done() // the first attempt never gets an answer
			}
		}))
		defer rc.Close()
		wh, _ := f.hook(rc.URL, "user")
		const lease = 500 * time.Millisecond
		_, stopFirst := start(t, f.store, deliver.Config{Lease: lease})
		f.user("usr_1", "x")
		first := <-ids
		stopFirst()
		stopped := time.Now()
		start(t, f.store, deliver.Config{Lease: lease})
		select {
		case again := <-ids:
			if again != first {
				t.Errorf("sent %s, want %s again", again, first)
			}
			if waited := time.Since(stopped); waited < lease/2 {
				t.Errorf("sent again %s after the first deliverer stopped, before its lease ended", waited)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the abandoned delivery was not sent again")
		}
		eventually(t, "the delivery succeeds", func() bool {
			ds := f.deliveries(wh.ID, userdata.DeliverySucceeded)
			return len(ds) == 1 && ds[0].Attempts == 1
		})
	})
}

// Two deliverers sharing a database deliver each message once.
func TestTwoDeliverers(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		s1, s2 := b.OpenPair(t)
		f := newFixture(t, s1)
		var mu sync.Mutex
		seen := map[string]int{}
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			mu.Lock()
			seen[r.Header.Get("Webhook-Id")]++
			mu.Unlock()
		}))
		defer rc.Close()
		wh, _ := f.hook(rc.URL, "*")
		for _, s := range []userdata.Store{s1, s2} {
			start(t, s, deliver.Config{PerWebhook: 4})
		}
		const n = 300
		for i := range n {
			f.user(fmt.Sprintf("u%d", i), "x")
		}
		eventually(t, "every message is delivered", func() bool {
			return len(f.deliveries(wh.ID, userdata.DeliveryPending)) == 0 && len(seen) == n
		})
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		for id, times := range seen {
			if times != 1 {
				t.Errorf("%s delivered %d times", id, times)
			}
		}
	})
}

// A slow receiver holds up only its own webhook's deliveries.
func TestSlowReceiver(t *testing.T) {
	f := newFixture(t, backendtest.SQLite.Open(t))
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	fast := newReceiver(t, nil)
	f.hook(slow.URL, "*")
	f.hook(fast.URL, "*")
	start(t, f.store, deliver.Config{PerWebhook: 4, Concurrency: 8})
	const n = 50
	for i := range n {
		f.user(fmt.Sprintf("u%d", i), "x")
	}
	for range n {
		fast.next(t)
	}
}
