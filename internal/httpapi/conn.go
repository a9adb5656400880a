package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
)

// Listener wraps ln so that the errors net/http answers by itself, before
// any handler runs, reach the client in the envelope (§3.4) rather than as
// plain text: a malformed request line, path escape, header or body
// framing, headers over the size limit, an unsupported HTTP version,
// transfer encoding or Expect value. Each becomes 400 E1017 with net/http's
// reason in the message: none of them is the server's fault, so none is a
// 5xx.
func (s *Server) Listener(ln net.Listener) net.Listener { return listener{ln, s.docURL} }

type listener struct {
	net.Listener
	docURL string
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{c, l.docURL}, nil
}

// conn rewrites net/http's own error responses. net/http writes each with
// one Write straight to the connection: the status line, then exactly
// plainErrorHeaders, then a short text. A handler's response never matches,
// as net/http writes a Date header after Connection in it.
type conn struct {
	net.Conn
	docURL string
}

const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *conn) Write(p []byte) (int, error) {
	reason, ok := plainError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	body, _ := json.Marshal(errorBody{errorFields{"E1017", "the request could not be read: " + reason, c.docURL}})
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
