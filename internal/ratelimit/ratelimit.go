// Package ratelimit counts requests per key (a token, a client address) in
// fixed windows, for the X-RateLimit-* headers and 429 answers of the v2
// API (v2.md §10). Counts are kept in this process: with several nodes, a
// key may get up to that many times its limit.
package ratelimit

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// DefaultMaxKeys bounds how many keys a Limiter tracks at once.
const DefaultMaxKeys = 100_000

// Limiter allows Limit requests per key in each window. A key's window
// starts with its first request and lasts Window. The zero Limiter and a
// nil *Limiter allow everything.
type Limiter struct {
	limit  int
	window time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// MaxKeys bounds the keys tracked; past it, windows that have ended
	// are dropped and, if none has, every count starts afresh (the limiter
	// errs on the side of serving). New sets DefaultMaxKeys.
	MaxKeys int

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start time.Time
	count int
}

// New returns a limiter of limit requests per window, or nil (no limit)
// when limit is 0 or less.
func New(limit int, per time.Duration) *Limiter {
	if limit <= 0 {
		return nil
	}
	return &Limiter{limit: limit, window: per, Now: time.Now, MaxKeys: DefaultMaxKeys, windows: map[string]*window{}}
}

// Result is the outcome of one request, for the X-RateLimit-* headers.
type Result struct {
	Allowed   bool
	Limit     int           // requests per window
	Remaining int           // left in this window, never negative
	Reset     time.Duration // until the window ends
}

// ResetSeconds is Reset in whole seconds, rounded up, at least 1: the
// value of X-RateLimit-Reset and Retry-After.
func (r Result) ResetSeconds() int {
	return max(1, int(math.Ceil(r.Reset.Seconds())))
}

// Allow counts a request of key and says whether it is within the limit.
// A nil limiter allows every request, with Limit 0.
func (l *Limiter) Allow(key string) Result {
	if l == nil {
		return Result{Allowed: true}
	}
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if w == nil && len(l.windows) >= l.MaxKeys {
			l.evict(now)
		}
		w = &window{start: now}
		l.windows[key] = w
	}
	res := Result{Limit: l.limit, Reset: l.window - now.Sub(w.start)}
	if w.count < l.limit {
		w.count++
		res.Allowed = true
	}
	res.Remaining = l.limit - w.count
	return res
}

// evict drops the windows that have ended, or all of them if none has.
func (l *Limiter) evict(now time.Time) {
	for k, w := range l.windows {
		if now.Sub(w.start) >= l.window {
			delete(l.windows, k)
		}
	}
	if len(l.windows) >= l.MaxKeys {
		clear(l.windows)
	}
}

// ClientIP returns the address a request comes from: the peer's, or, when
// the peer is a trusted proxy, the rightmost address of X-Forwarded-For
// that is not a trusted proxy (the one the trusted chain received the
// request from). Entries that are not addresses end the walk there.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = addr.Unmap()
		if !isTrusted(client, trusted) {
			break
		}
	}
	return client.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParsePrefixes parses a comma-separated list of CIDRs or single
// addresses (TOURD_TRUSTED_PROXIES).
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
