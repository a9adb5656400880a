package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"tourd/internal/httpapi/wire"
)

// DefaultMaxConns is a cap on connections that keeps the process below its
// file descriptor limit (RLIMIT_NOFILE, whose soft value Go raises to the
// hard one at start-up): 4096, or the limit less 64 for the database's
// files and the logs if that is lower. Where the limit is unknown
// (Windows), it is 4096.
func DefaultMaxConns() int {
	const most, reserve = 4096, 64
	limit, ok := fdLimit()
	if !ok || limit >= most+reserve {
		return most
	}
	return max(1, int(limit)-reserve)
}

// Listener wraps ln so that the errors net/http answers by itself, before
// any handler runs, reach the client in the envelope (§3.4) rather than as
// plain text: a malformed request line, path escape, header or body
// framing, headers over the size limit, an unsupported HTTP version,
// transfer encoding or Expect value. Each becomes 400 E1017 with net/http's
// reason in the message: none of them is the server's fault, so none is a
// 5xx.
//
// If s.MaxConns is positive, at most that many connections are open at
// once: Accept waits for one to close before it takes the next, which
// waits in the kernel's listen backlog meanwhile.
func (s *Server) Listener(ln net.Listener) net.Listener {
	l := &listener{Listener: ln, docURL: s.docURL, closed: make(chan struct{})}
	if s.MaxConns > 0 {
		l.slots = make(chan struct{}, s.MaxConns)
	}
	return l
}

type listener struct {
	net.Listener
	docURL    string
	slots     chan struct{} // one element per open connection; nil: no cap
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		case <-l.closed:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.release()
		return nil, err
	}
	return &conn{Conn: c, docURL: l.docURL, l: l}, nil
}

// Close closes the listener and ends an Accept waiting for a slot.
func (l *listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// release frees the slot of a connection.
func (l *listener) release() {
	if l.slots != nil {
		<-l.slots
	}
}

// conn rewrites net/http's own error responses. net/http writes each with
// one Write straight to the connection: the status line, then exactly
// plainErrorHeaders, then a short text. A handler's response never matches,
// as net/http writes a Date header after Connection in it.
type conn struct {
	net.Conn
	docURL string
	l      *listener
	closed atomic.Bool
}

// Close closes the connection and frees its slot (see Listener).
func (c *conn) Close() error {
	if !c.closed.Swap(true) {
		c.l.release()
	}
	return c.Conn.Close()
}

const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *conn) Write(p []byte) (int, error) {
	reason, ok := plainError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	body, _ := json.Marshal(wire.ErrorBody{Error: wire.ErrorFields{Code: "E1017", Message: "the request could not be read: " + reason, DocURL: c.docURL}})
	resp := fmt.Appendf(nil, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	if _, err := c.Conn.Write(resp); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite lets net/http half-close the connection after an error, as it
// does on a bare TCP connection.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// plainError reports whether p is one of net/http's own error responses,
// and returns its text. Besides the plain-text ones, that is the empty 417
// it sends for an Expect header other than 100-continue: no handler
// answers 417.
func plainError(p []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok {
		return "", false
	}
	if bytes.HasPrefix(rest, []byte("417 ")) {
		return "417 Expectation Failed: the only Expect value supported is 100-continue", true
	}
	i := bytes.IndexByte(rest, '\r')
	if i < 0 {
		return "", false
	}
	text, ok := bytes.CutPrefix(rest[i:], []byte(plainErrorHeaders))
	return string(text), ok
}
