package backendtest

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Proxy is a TCP proxy that injects network faults between tourd and a
// database server, so that tests can make the database stall, vanish or
// never answer without touching the server, which other tests share.
// It forwards until told otherwise:
//
//   - Freeze stops forwarding, in both directions, but keeps every socket
//     open and accepts new connections: a server that stopped responding
//     (SIGSTOP, a stalled disk). Restore forwards what was held back.
//   - Cut closes every connection and refuses new ones: a server that was
//     stopped or killed. Restore listens again on the same address.
//   - Blackhole accepts new connections and never answers them: an address
//     that swallows traffic.
//   - Reset closes every connection and goes on accepting new ones: a
//     server that dropped its clients.
type Proxy struct {
	t      testing.TB
	target string
	addr   string

	mu        sync.Mutex
	ln        net.Listener  // nil while cut
	thaw      chan struct{} // not nil while frozen; closed by Restore or Cut
	blackhole bool
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// NewProxy starts a proxy on a loopback port to target (host:port),
// stopped when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// ProxyPostgres puts a Proxy between cfg's connections and its server and
// returns it.
func ProxyPostgres(t testing.TB, cfg *pgxpool.Config) *Proxy {
	t.Helper()
	c := cfg.ConnConfig
	p := NewProxy(t, net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))))
	host, port := p.HostPort()
	c.Host, c.Port = host, port
	for _, f := range c.Fallbacks {
		f.Host, f.Port = host, port
	}
	return p
}

// Addr returns the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.addr }

// HostPort returns the proxy's host and port.
func (p *Proxy) HostPort() (string, uint16) {
	host, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return host, uint16(n)
}

// Freeze stops forwarding, keeping connections open; see Proxy.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.thaw == nil {
		p.thaw = make(chan struct{})
	}
}

// Blackhole makes new connections go unanswered; see Proxy.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
}

// Cut closes every connection and refuses new ones; see Proxy.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.closeAll()
}

// Reset closes every connection; see Proxy.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeAll()
}

// closeAll closes every connection, and ends a freeze so that what it held
// back goes nowhere. Called with p.mu held.
func (p *Proxy) closeAll() {
	for c := range p.conns {
		c.Close()
	}
	p.unfreeze()
}

// Restore forwards again: after Freeze what was held back goes through;
// after Cut the proxy listens again on its address; after Blackhole new
// connections are forwarded (those swallowed stay so until closed).
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unfreeze()
	p.blackhole = false
	if p.ln == nil {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			p.t.Errorf("proxy: listen again on %s: %v", p.addr, err)
			return
		}
		p.serve(ln)
	}
}

func (p *Proxy) unfreeze() {
	if p.thaw != nil {
		close(p.thaw)
		p.thaw = nil
	}
}

// serve accepts connections on ln until it is closed. Called with p.mu
// held, or before p is shared.
func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(c) })
		}
	})
}

// forward connects c to the target and copies both ways until either side
// closes, or swallows c in blackhole mode.
func (p *Proxy) forward(c net.Conn) {
	p.mu.Lock()
	if p.ln == nil { // cut since it was accepted
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c] = struct{}{}
	blackhole := p.blackhole
	p.mu.Unlock()
	defer p.drop(c)
	if blackhole {
		io.Copy(io.Discard, c) // until Restore, Cut or the client closes it
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { p.pump(up, c); done <- struct{}{} }()
	go func() { p.pump(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// track records a connection so that Cut closes it, unless the proxy was
// cut meanwhile.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// pump copies src to dst, holding each chunk back while the proxy is
// frozen.
func (p *Proxy) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thaw := p.thaw
			p.mu.Unlock()
			if thaw != nil {
				<-thaw
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
