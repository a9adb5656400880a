package httpapi

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// logEvery is the shortest interval between two lines of one throttledLog.
const logEvery = time.Second

// throttledLog writes ERROR lines at most once per logEvery. The lines it
// holds back are counted, and the next line it writes says how many
// ("suppressed"): a fault that fails every request shows in the log once a
// second, with its rate, not once per request.
type throttledLog struct {
	slog       *slog.Logger
	now        func() time.Time
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether a line may be written now and, if so, how many
// were held back since the last one; otherwise it counts one more.
func (l *throttledLog) allow() (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < logEvery {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}

// log writes msg about r and err, unless a line was written less than
// logEvery ago.
func (l *throttledLog) log(ctx context.Context, msg string, r *http.Request, err error) {
	if n, ok := l.allow(); ok {
		l.slog.LogAttrs(ctx, slog.LevelError, msg, slog.String("method", r.Method), slog.String("pattern", r.Pattern),
			slog.Any("err", err), slog.Int("suppressed", n))
	}
}

// Write logs one line of net/http's own error log (see ErrorLog).
func (l *throttledLog) Write(p []byte) (int, error) {
	if n, ok := l.allow(); ok {
		l.slog.LogAttrs(context.Background(), slog.LevelError, "http server error",
			slog.String("err", string(bytes.TrimSpace(p))), slog.Int("suppressed", n))
	}
	return len(p), nil
}

// ErrorLog returns the logger to set as http.Server.ErrorLog. net/http
// logs there what it cannot hand to a handler, above all failed accepts:
// when the process runs out of file descriptors, it retries accepting
// several times a second. Each such line goes through the server's slog
// logger, at most once a second with the count of the lines held back,
// instead of as plain text on standard error.
func (s *Server) ErrorLog() *log.Logger { return log.New(&s.serverLog, "", 0) }
