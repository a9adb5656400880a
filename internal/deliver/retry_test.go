package deliver

import (
	"net/http"
	"testing"
	"time"
)

// The cases of Usertour's webhook-backoff.spec.ts, with tourd's bound on
// Retry-After (12 hours; Usertour's is a day).
func TestBackoff(t *testing.T) {
	var total time.Duration
	for _, d := range DefaultSchedule {
		total += d
	}
	if len(DefaultSchedule)+1 != 8 || total < 24*time.Hour || total > 26*time.Hour {
		t.Errorf("the schedule makes %d attempts over %s, want 8 over 24 to 26 hours", len(DefaultSchedule)+1, total)
	}
	for _, c := range []struct {
		n          int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 5 * time.Second},
		{2, 0, time.Minute},
		{7, 0, 12 * time.Hour},
		{99, 0, 12 * time.Hour}, // past the schedule: its last delay
		{0, 0, 5 * time.Second},
		{1, 2 * time.Minute, 2 * time.Minute},    // longer than the schedule's: honoured
		{3, time.Minute, 10 * time.Minute},       // shorter: the schedule's
		{1, 365 * 24 * time.Hour, MaxRetryAfter}, // abusive: bounded
		{2, -time.Second, time.Minute},           // none
		{7, 24 * time.Hour, 12 * time.Hour},      // the bound never lowers the schedule's
		{6, 9 * time.Hour, 9 * time.Hour},        // 8h raised to 9h
		{5, 30 * time.Minute, 4 * time.Hour},     // 4h kept
		{4, time.Hour + time.Second, time.Hour + time.Second},
	} {
		if got := backoff(DefaultSchedule, c.n, c.retryAfter); got != c.want {
			t.Errorf("backoff(%d, %s) = %s, want %s", c.n, c.retryAfter, got, c.want)
		}
	}
	long := []time.Duration{24 * time.Hour}
	if got := backoff(long, 1, 13*time.Hour); got != 24*time.Hour {
		t.Errorf("backoff of a schedule longer than the bound = %s, want 24h", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"120":  2 * time.Minute,
		" 5 ":  5 * time.Second,
		"0":    0,
		"-5":   0,
		"soon": 0,
		"":     0,
		"1.5":  0,
		now.Add(time.Minute).Format(http.TimeFormat):  time.Minute,
		now.Add(-time.Minute).Format(http.TimeFormat): 0,
		"99999999999999": MaxRetryAfter,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
	for status, want := range map[int]time.Duration{429: time.Minute, 503: time.Minute, 500: 0, 200: 0, 301: 0} {
		res := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {"60"}}}
		if got := retryAfter(res, now); got != want {
			t.Errorf("retryAfter of a %d with Retry-After: 60 = %s, want %s", status, got, want)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	got, err := ParseSchedule("5s, 1m,10m,1h,4h,8h,12h")
	if err != nil || len(got) != len(DefaultSchedule) {
		t.Fatalf("ParseSchedule(the default) = %v, %v", got, err)
	}
	for i := range got {
		if got[i] != DefaultSchedule[i] {
			t.Errorf("ParseSchedule(the default)[%d] = %s, want %s", i, got[i], DefaultSchedule[i])
		}
	}
	for _, bad := range []string{"", "5", "5s,", "0s", "-1s", "1m,x"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
