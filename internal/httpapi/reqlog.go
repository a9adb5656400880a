package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// maxRequestID is the longest X-Request-Id taken from a client.
const maxRequestID = 128

// maxLoggedPath is how much of an unmatched path the request log shows.
const maxLoggedPath = 256

// newIDPrefix returns the random start of a Server's request ids, so that
// ids stay unique across restarts and nodes.
func newIDPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b) + "-"
}

// requestID returns the request's id: the client's X-Request-Id if it is
// 1 to maxRequestID visible ASCII characters, else a new one.
func (s *Server) requestID(r *http.Request) string {
	if v := r.Header["X-Request-Id"]; len(v) == 1 && validRequestID(v[0]) {
		return v[0]
	}
	var b [32]byte
	return string(strconv.AppendUint(append(b[:0], s.idPrefix...), s.lastID.Add(1), 36))
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := range len(id) {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// logRequest writes the request's log line: the route pattern, status,
// duration and request id; the error code of an error answer; and, for a
// path no route matches, the path (escaped, cut at maxLoggedPath bytes).
func (s *Server) logRequest(r *http.Request, rec *statusRecorder, d time.Duration) {
	var attrs [7]slog.Attr
	a := append(attrs[:0], slog.String("method", r.Method), slog.String("pattern", r.Pattern),
		slog.Int("status", rec.status), slog.Float64("dur_ms", float64(d.Microseconds())/1000), slog.String("request_id", rec.id[0]))
	if rec.code != "" {
		a = append(a, slog.String("code", rec.code))
	}
	if r.Pattern == "" || r.Pattern == "/" {
		p := r.URL.EscapedPath() // ASCII only
		if len(p) > maxLoggedPath {
			p = p[:maxLoggedPath] + "..."
		}
		a = append(a, slog.String("path", p))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", a...)
}
