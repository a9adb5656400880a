package ratelimit

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for a Limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time               { return c.t }
func (c *clock) advance(d time.Duration)      { c.t = c.t.Add(d) }
func newLimiter(limit int, c *clock) *Limiter { l := New(limit, time.Minute); l.Now = c.now; return l }

func TestWindow(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	l := newLimiter(3, c)
	for i := 1; i <= 3; i++ {
		r := l.Allow("a")
		if !r.Allowed || r.Limit != 3 || r.Remaining != 3-i || r.ResetSeconds() != 60 {
			t.Fatalf("request %d: %+v, want allowed with %d remaining, reset 60 s", i, r, 3-i)
		}
	}
	c.advance(20*time.Second + time.Millisecond)
	r := l.Allow("a")
	if r.Allowed || r.Remaining != 0 || r.ResetSeconds() != 40 {
		t.Fatalf("4th request: %+v, want refused, 0 remaining, reset 40 s (rounded up)", r)
	}
	if r := l.Allow("b"); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("another key: %+v, want its own window", r)
	}
	c.advance(40 * time.Second)
	if r := l.Allow("a"); !r.Allowed || r.Remaining != 2 || r.ResetSeconds() != 60 {
		t.Fatalf("after the window: %+v, want a new window", r)
	}
}

func TestOff(t *testing.T) {
	var l *Limiter = New(0, time.Minute)
	for range 1000 {
		if r := l.Allow("a"); !r.Allowed {
			t.Fatal("a limit of 0 refused a request")
		}
	}
}

func TestConcurrent(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	l := newLimiter(100, c)
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if l.Allow("k").Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("%d of 400 concurrent requests allowed, want exactly 100", allowed)
	}
}

func TestMaxKeys(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	l := newLimiter(1, c)
	l.MaxKeys = 10
	for i := range 10 {
		l.Allow(fmt.Sprint(i))
	}
	c.advance(61 * time.Second)
	l.Allow("new") // the ended windows go
	if n := len(l.windows); n != 1 {
		t.Fatalf("%d windows tracked after eviction, want 1", n)
	}
	for i := range 50 {
		l.Allow(fmt.Sprint("x", i))
	}
	if n := len(l.windows); n > 10 {
		t.Fatalf("%d windows tracked, want at most MaxKeys (10)", n)
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		peer, xff string
		want      string
	}{
		{"203.0.113.9:1234", "", "203.0.113.9"},
		{"203.0.113.9:1234", "1.2.3.4", "203.0.113.9"}, // untrusted peer: its header is ignored
		{"10.0.0.5:80", "", "10.0.0.5"},
		{"10.0.0.5:80", "1.2.3.4", "1.2.3.4"},
		{"10.0.0.5:80", "6.6.6.6, 1.2.3.4, 192.168.1.1", "1.2.3.4"}, // rightmost untrusted
		{"10.0.0.5:80", "1.2.3.4, 10.1.1.1", "1.2.3.4"},
		{"10.0.0.5:80", "garbage, 10.1.1.1", "10.1.1.1"},
		{"[::ffff:10.0.0.5]:80", "1.2.3.4", "1.2.3.4"},
	} {
		r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := ClientIP(r, trusted); got != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Error("ParsePrefixes accepted 10.0.0.0/33")
	}
	if p, _ := ParsePrefixes(""); p != nil {
		t.Errorf("ParsePrefixes(\"\") = %v, want none", p)
	}
}
