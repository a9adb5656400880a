// Package httpapi serves the Usertour-compatible v1 REST API (and tourd's
// service endpoints) over a userdata.Store.
package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tourd/internal/feed"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// Server is the http.Handler of the API.
type Server struct {
	store  userdata.Store
	log    *slog.Logger
	docURL string
	mux    *http.ServeMux

	// StreamIdleTimeout is how long a stream's body may send nothing (see
	// streamBody); New sets a minute. Set it before serving.
	StreamIdleTimeout time.Duration

	// MaxConns, if positive, is the most connections Listener lets be open
	// at once; New sets none. Set it before calling Listener.
	MaxConns int

	requests requestMetrics

	// internalLog and faultLog log unexpected errors and storage faults,
	// throttled separately so that a flood of one hides no line of the
	// other; serverLog is net/http's own error log (see ErrorLog).
	internalLog, faultLog, serverLog throttledLog

	// draining is closed by StopStreams.
	draining    chan struct{}
	stopStreams sync.Once
	idPrefix    string // of generated request ids: random, per Server
	lastID      atomic.Uint64
}

// handler serves one authenticated v1 route: it returns the status and the
// value to send as JSON, or an error for writeError.
type handler func(s *Server, r *http.Request, t userdata.Tenant) (int, any, error)

// route is one row of the route table.
type route struct {
	method, path string
	h            handler
}

// streams are the routes whose body is a stream of any length (§15.3):
// they run without the server's read and write deadlines, but a stream
// that sends nothing for Server.StreamIdleTimeout fails (see streamBody).
var streams = map[string]bool{"POST /v1/users/import": true, "POST /v1/companies/import": true}

// longPolls are the routes that may hold their answer for up to
// feed.MaxWait seconds (see LongPoll).
var longPolls = map[string]bool{"GET /v1/changes": true}

// LongPoll lets the request w answers hold its answer for up to
// feed.MaxWait seconds, moving the server's write deadline past that, and
// returns a channel closed when the server begins to shut down, when a
// held request should answer at once.
func (s *Server) LongPoll(w http.ResponseWriter) <-chan struct{} {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(feed.MaxWait*time.Second + time.Minute))
	return s.draining
}

// errStopped is what a stream's body reads once StopStreams was called.
var errStopped = errors.New("httpapi: the server is shutting down")

// streamBody is a stream's body: each read must make progress within idle,
// so a client that stalls cannot hold its connection and its unapplied
// lines forever; and once the server drains (StopStreams), reads fail with
// errStopped, at once even if one is waiting for the client.
type streamBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	idle     time.Duration
	draining <-chan struct{}
}

func (b streamBody) Read(p []byte) (int, error) {
	// The deadline is set before draining is checked: draining is closed
	// before the deadline is moved to now (see startStream), so that move
	// cannot be overwritten by this one unseen.
	b.rc.SetReadDeadline(time.Now().Add(b.idle))
	if b.stopped() {
		// The move to now may have come before the line above, which
		// undid it: net/http would then wait for the client when it reads
		// what is left of the body before answering.
		b.rc.SetReadDeadline(time.Now())
		return 0, errStopped
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.stopped() {
		err = errStopped
	}
	return n, err
}

func (b streamBody) stopped() bool {
	select {
	case <-b.draining:
		return true
	default:
		return false
	}
}

// StopStreams makes every import stream stop reading: each applies the
// lines it has read whole, up to the next line boundary or to where its
// read waits for the client, and answers 503 with the counts so far
// instead of waiting for the rest of its body. It is for
// http.Server.RegisterOnShutdown: Shutdown does not interrupt a handler,
// and a stream may otherwise run for as long as its client sends.
func (s *Server) StopStreams() { s.stopStreams.Do(func() { close(s.draining) }) }

// startStream makes r.Body a streamBody and, until the returned function
// is called at the end of the handler, moves the connection's read
// deadline to now if the server drains: that ends a read waiting for the
// client.
func (s *Server) startStream(w http.ResponseWriter, r *http.Request) (end func()) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	r.Body = streamBody{r.Body, rc, s.StreamIdleTimeout, s.draining}
	done := make(chan struct{})
	go func() {
		select {
		case <-s.draining:
			rc.SetReadDeadline(time.Now())
		case <-done:
		}
	}()
	return func() { close(done) }
}

// serviceRoutes are the GET routes served without authentication (§15.2).
var serviceRoutes = []struct {
	path string
	h    func(*Server, http.ResponseWriter, *http.Request)
}{
	{"/healthz", (*Server).healthz},
	{"/readyz", (*Server).readyz},
	{"/metrics", (*Server).metrics},
	{"/v1/openapi.json", (*Server).openAPI},
}

// routes is the v1 route table.
var routes = []route{
	{"GET", "/v1/users", (*Server).listUsers},
	{"POST", "/v1/users", (*Server).upsertUser},
	{"POST", "/v1/users/import", (*Server).importUsers},
	{"GET", "/v1/users/import", (*Server).getUser}, // the user whose id is "import"
	{"DELETE", "/v1/users/import", (*Server).deleteUser},
	{"GET", "/v1/users/{id}", (*Server).getUser},
	{"DELETE", "/v1/users/{id}", (*Server).deleteUser},
	{"GET", "/v1/companies", (*Server).listCompanies},
	{"POST", "/v1/companies", (*Server).upsertCompany},
	{"POST", "/v1/companies/import", (*Server).importCompanies},
	{"GET", "/v1/companies/import", (*Server).getCompany}, // the company whose id is "import"
	{"DELETE", "/v1/companies/import", (*Server).deleteCompany},
	{"GET", "/v1/companies/{id}", (*Server).getCompany},
	{"DELETE", "/v1/companies/{id}", (*Server).deleteCompany},
	{"DELETE", "/v1/company-memberships", (*Server).deleteMembership},
	{"GET", "/v1/attribute-definitions", (*Server).listAttributeDefinitions},
	{"GET", "/v1/event-definitions", (*Server).listEventDefinitions},
	{"POST", "/v1/events", (*Server).trackEvent},
	{"GET", "/v1/events", (*Server).listEvents},
	{"GET", "/v1/changes", (*Server).listChanges},
}

// New returns a Server over store. docURL is the envelope's doc_url; ""
// means wire.DefaultDocURL.
func New(store userdata.Store, log *slog.Logger, docURL string) *Server {
	if docURL == "" {
		docURL = wire.DefaultDocURL
	}
	s := &Server{store: store, log: log, docURL: docURL, mux: http.NewServeMux(), StreamIdleTimeout: time.Minute,
		draining: make(chan struct{}), idPrefix: newIDPrefix()}
	s.internalLog = throttledLog{slog: log, now: time.Now}
	s.faultLog = throttledLog{slog: log, now: time.Now}
	s.serverLog = throttledLog{slog: log, now: time.Now}
	byPath := map[string]map[string]handler{}
	var paths []string
	for _, rt := range routes {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]handler{}
			paths = append(paths, rt.path)
		}
		byPath[rt.path][rt.method] = rt.h
	}
	for _, p := range paths {
		s.mux.Handle(p, s.dispatch(byPath[p]))
	}
	for _, rt := range serviceRoutes {
		s.mux.Handle(rt.path, ByMethod(s, map[string]func(*Server, http.ResponseWriter, *http.Request){http.MethodGet: rt.h},
			func(w http.ResponseWriter, r *http.Request, h func(*Server, http.ResponseWriter, *http.Request)) {
				h(s, w, r)
			}))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if h, r := s.slashID(r); h != nil {
			h.ServeHTTP(w, r)
			return
		}
		s.writeError(w, r, &userdata.Error{Code: userdata.CodeNoRoute})
	})
	return s
}

// Handle registers h for pattern (http.ServeMux's syntax) beside the v1
// routes: it is how another package's routes are served by s. Their
// requests get what every request gets: a request id, a line in the
// request log, metrics labelled with pattern, a 500 in the envelope for a
// panic, the id "/" (sent as %2F) on a pattern ending in /{id}. A pattern
// with a method leaves other methods to ServeMux's plain-text 405; one
// without, dispatching on the method itself, can answer 405 in the
// envelope as the v1 routes do. Call Handle before serving; like
// ServeMux, it panics on a pattern that conflicts with a registered one.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// slashID routes a path whose last segment is "%2F", the id "/", which
// ServeMux takes for a trailing slash and so matches to no {id} route. It
// returns the {id} route's handler and the request with that id, or nil.
func (s *Server) slashID(r *http.Request) (http.Handler, *http.Request) {
	p := r.URL.EscapedPath()
	i := strings.LastIndexByte(p, '/')
	if !strings.EqualFold(p[i+1:], "%2F") {
		return nil, nil
	}
	r = r.Clone(r.Context())
	r.URL.RawPath = p[:i+1] + "_" // any id: only the route matters
	r.URL.Path, _ = url.PathUnescape(r.URL.RawPath)
	h, pattern := s.mux.Handler(r)
	if !strings.HasSuffix(pattern, "/{id}") {
		return nil, nil
	}
	r.Pattern = pattern
	r.SetPathValue("id", "/")
	return h, r
}

// ServeHTTP logs each request and turns panics into 500s. Paths that
// ServeMux would redirect to a cleaned form are unknown routes here. Like
// ServeMux, it looks at the path as sent, escaped: an id with a slash or
// dots, sent as %2F or %2E, is one segment, not a path to clean.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	rec.id[0] = s.requestID(r)
	w.Header()["X-Request-Id"] = rec.id[:]
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.ErrorContext(r.Context(), "panic", "method", r.Method, "pattern", r.Pattern, "request_id", rec.id[0], "panic", p)
			if !rec.wrote {
				s.writeError(rec, r, &userdata.Error{Code: userdata.CodeInternal})
			}
		}
		d := time.Since(start)
		s.requests.observe(r.Method, r.Pattern, rec.status, d)
		s.logRequest(r, rec, d)
	}()
	if p := r.URL.EscapedPath(); p == "" || p[0] != '/' || (path.Clean(p) != p && path.Clean(p)+"/" != p) {
		s.writeError(rec, r, &userdata.Error{Code: userdata.CodeNoRoute})
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// dispatch picks the handler for the request's method (405 otherwise),
// authenticates, runs it and writes its answer.
func (s *Server) dispatch(methods map[string]handler) http.Handler {
	return ByMethod(s, methods, func(w http.ResponseWriter, r *http.Request, h handler) {
		t, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if streams[r.Method+" "+r.Pattern] {
			defer s.startStream(w, r)()
		}
		if longPolls[r.Method+" "+r.Pattern] {
			s.LongPoll(w)
		}
		status, body, err := h(s, r, t)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		wire.WriteJSON(w, status, body)
	})
}

// ByMethod serves one path whose methods are the keys of methods: it
// calls serve with the entry of the request's method (a HEAD takes GET's),
// and answers any other method 405 in the envelope, with Allow listing
// the path's methods. It is the method dispatch of the v1 routes, and of
// the routes other packages register with Handle.
func ByMethod[H any](s *Server, methods map[string]H, serve func(http.ResponseWriter, *http.Request, H)) http.Handler {
	allowed := strings.Join(slices.Sorted(maps.Keys(methods)), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = methods[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allowed)
			s.writeError(w, r, &userdata.Error{Code: userdata.CodeNoMethod})
			return
		}
		serve(w, r, h)
	})
}

// authenticate applies §2 to the Authorization header.
func (s *Server) authenticate(r *http.Request) (userdata.Tenant, error) {
	missing := &userdata.Error{Code: userdata.CodeUnauthorized}
	parts := strings.SplitN(r.Header.Get("Authorization"), " ", 3)
	if parts[0] != "Bearer" || len(parts) < 2 || parts[1] == "" {
		return userdata.Tenant{}, missing
	}
	return s.store.Authenticate(r.Context(), userdata.HashKey(userdata.TokenFromKey(parts[1])))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		wire.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	wire.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// statusRecorder remembers the status a handler wrote, for the log, and
// the error code of an error answer (see writeError).
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	code   string
	id     [1]string // the request id; the X-Request-Id header's value
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (see idleBody).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
