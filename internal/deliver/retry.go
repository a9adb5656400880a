package deliver

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the delays between the attempts of a delivery
// (webhooks.md §3, Usertour's): 8 attempts in all, spanning about a day.
var DefaultSchedule = []time.Duration{
	5 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour,
}

// MaxRetryAfter bounds how long a receiver's Retry-After may hold a
// delivery back.
const MaxRetryAfter = 12 * time.Hour

// ParseSchedule reads a retry schedule: comma-separated positive Go
// durations (TOURD_WEBHOOK_RETRY_SCHEDULE).
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for part := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("must be comma-separated positive durations such as 5s,1m,10m, not %q", s)
		}
		out = append(out, d)
	}
	return out, nil
}

// backoff returns how long to wait after attempt n (1 for the first)
// failed: the schedule's delay after it (its last delay, past its end),
// raised to retryAfter, a receiver's wish, when that is longer, but never
// by more than MaxRetryAfter.
func backoff(schedule []time.Duration, n int, retryAfter time.Duration) time.Duration {
	delay := schedule[min(max(n, 1), len(schedule))-1]
	return max(delay, min(retryAfter, MaxRetryAfter))
}

// retryAfter reads the Retry-After of a 429 or 503 answer (RFC 9110:
// seconds, or an HTTP date) as a duration from now; 0 for none, a value
// that is not one, or a time that has passed. Other answers' is ignored:
// a proxy that puts a long one on every error must not stretch the
// schedule.
func retryAfter(res *http.Response, now time.Time) time.Duration {
	if res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	return parseRetryAfter(res.Header.Get("Retry-After"), now)
}

// parseRetryAfter reads the value of a Retry-After header as a duration
// from now.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil || !at.After(now) {
		return 0
	}
	return at.Sub(now)
}
