package httpapi

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// net/http's error log goes through slog, at most one line a second, and
// the next line counts those held back.
func TestErrorLogThrottled(t *testing.T) {
	var out backendtest.Buffer
	s := New(nil, slog.New(slog.NewTextHandler(&out, nil)), "")
	now := time.Unix(1e9, 0)
	s.serverLog.now = func() time.Time { return now }
	l := s.ErrorLog()
	for range 50 {
		l.Printf("http: Accept error: accept tcp 127.0.0.1:8080: accept4: too many open files; retrying in 5ms")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := `level=ERROR msg="http server error" err="http: Accept error: accept tcp 127.0.0.1:8080: accept4: too many open files; retrying in 5ms" suppressed=0`
	if len(lines) != 1 || !strings.HasSuffix(lines[0], want) {
		t.Fatalf("50 lines in a second logged as:\n%s\nwant one line ending %s", out.String(), want)
	}
	now = now.Add(time.Second)
	l.Print("http: TLS handshake error")
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], `err="http: TLS handshake error" suppressed=49`) {
		t.Fatalf("the line a second later:\n%s\nwant suppressed=49", out.String())
	}
}
