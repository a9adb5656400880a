package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// logEvery is the shortest interval between two lines of one throttledLog.
const logEvery = time.Second

// throttledLog writes ERROR lines about failed requests at most once per
// logEvery. The lines it holds back are counted, and the next line it
// writes says how many ("suppressed"): a fault that fails every request
// shows in the log once a second, with its rate, not once per request.
type throttledLog struct {
	slog       *slog.Logger
	now        func() time.Time
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// log writes msg about r and err, unless a line was written less than
// logEvery ago.
func (l *throttledLog) log(ctx context.Context, msg string, r *http.Request, err error) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < logEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	l.slog.LogAttrs(ctx, slog.LevelError, msg, slog.String("method", r.Method), slog.String("pattern", r.Pattern),
		slog.Any("err", err), slog.Int("suppressed", n))
}
