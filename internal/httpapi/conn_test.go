package httpapi_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
)

// get sends GET /healthz on c, keeping the connection open.
func get(c net.Conn) error {
	_, err := fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	return err
}

// readAnswer reads one answer from br within d.
func readAnswer(c net.Conn, br *bufio.Reader, d time.Duration) (*http.Response, error) {
	c.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, err
}

// With MaxConns set, connections over the cap are not accepted until one
// closes: their requests wait, then are served.
func TestMaxConns(t *testing.T) {
	api := httpapi.New(backendtest.SQLite.Open(t), backendtest.Discard, "")
	api.MaxConns = 2
	srv := httptest.NewUnstartedServer(api)
	srv.Listener = api.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := get(c); err != nil {
			t.Fatal(err)
		}
		if res, err := readAnswer(c, bufio.NewReader(c), 10*time.Second); err != nil || res.StatusCode != 200 {
			t.Fatalf("connection %d under the cap: %v %v", len(open)+1, res, err)
		}
		open = append(open, c)
	}
	third, err := net.Dial("tcp", addr) // the kernel's backlog takes it
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if err := get(third); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(third)
	if res, err := readAnswer(third, br, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection over the cap was served: %v %v", res, err)
	}
	open[0].Close()
	if res, err := readAnswer(third, br, 10*time.Second); err != nil || res.StatusCode != 200 {
		t.Fatalf("after a connection closed, the waiting one got %v %v", res, err)
	}
}
