package webhook_test

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"tourd/internal/userdata"
	"tourd/internal/webhook"
	"tourd/internal/webhook/webhooktest"
)

func TestParseURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("é", webhook.MaxURLLength-len("https://example.com/"))
	for _, ok := range []string{"https://example.com", "http://example.com:8080/hook?a=b#c", "https://user:pw@93.184.215.14/x",
		"https://[2606:4700::1111]/hook", long, "http://127.0.0.1/"} {
		if u, err := webhook.ParseURL(ok); err != nil || u.Hostname() == "" {
			t.Errorf("ParseURL(%.40q) = %v, %v; want it accepted", ok, u, err)
		}
	}
	for _, bad := range []string{"", "example.com", "ftp://example.com/", "HTTPS://example.com/", " https://example.com/",
		"https://", "https:///path", "https://:443/", "http://exa mple.com/", "https://example.com:port/", "javascript:alert(1)",
		"https://example.com/\x7f", long + "x"} {
		if _, err := webhook.ParseURL(bad); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("ParseURL(%.40q) = %v, want CodeInvalid", bad, err)
		}
	}
}

func TestForbidden(t *testing.T) {
	for _, addr := range []string{
		"127.0.0.1", "127.255.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "169.254.0.1",
		"100.64.0.1", "100.100.100.200", "0.0.0.0", "0.1.2.3", "224.0.0.1", "255.255.255.255", "240.0.0.1",
		"192.0.0.192", "192.0.2.1", "198.18.0.1", "198.51.100.1", "203.0.113.1",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::127.0.0.1", "fe80::1", "fe80::1%eth0",
		"fc00::1", "fd00:ec2::254", "ff02::1", "64:ff9b::a00:1", "2001:db8::1", "2002:a00:1::", "2001::1", "fec0::1", "100::1",
	} {
		if why := webhook.Forbidden(netip.MustParseAddr(addr)); why == "" {
			t.Errorf("Forbidden(%s) = \"\", want a reason", addr)
		}
	}
	for _, addr := range []string{"93.184.215.14", "1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.32.0.1",
		"2606:4700::1111", "2a00:1450:4001::200e", "::ffff:1.1.1.1"} {
		if why := webhook.Forbidden(netip.MustParseAddr(addr)); why != "" {
			t.Errorf("Forbidden(%s) = %q, want \"\"", addr, why)
		}
	}
	if webhook.Forbidden(netip.Addr{}) == "" {
		t.Error("the zero Addr is not forbidden")
	}
}

var resolver = webhooktest.Resolver{
	"hooks.example.com":    {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
	"internal.example.com": {"10.0.0.7"},
	"mixed.example.com":    {"93.184.215.14", "127.0.0.1"},
	"metadata.example.com": {"::ffff:169.254.169.254"},
}

func TestCheckURL(t *testing.T) {
	g := &webhook.Guard{Resolver: resolver}
	open := &webhook.Guard{Resolver: resolver, AllowPrivate: true}
	for _, raw := range []string{"https://hooks.example.com/in", "http://hooks.example.com/in", "https://93.184.215.14/",
		"https://[2606:4700::1111]:8443/", "https://nowhere.invalid/hook", "https://HOOKS.example.com./x"} {
		if err := g.CheckURL(t.Context(), mustParse(t, raw)); err != nil {
			t.Errorf("CheckURL(%s) = %v, want it allowed", raw, err)
		}
	}
	for raw, detail := range map[string]string{
		"https://127.0.0.1/hook":             "127.0.0.1 is a loopback address",
		"http://[::1]:8080/":                 "::1 is a loopback address",
		"http://[::ffff:10.0.0.1]/":          "::ffff:10.0.0.1 is a private address",
		"http://169.254.169.254/latest":      "169.254.169.254 is a link-local address (cloud metadata services among them)",
		"http://[fd00:ec2::254]/":            "fd00:ec2::254 is a private address",
		"http://100.100.100.200/":            "100.100.100.200 is a shared (CGNAT) address",
		"http://0.0.0.0:80/":                 "0.0.0.0 is the unspecified address",
		"https://localhost/":                 "localhost is the local host",
		"https://LocalHost./":                "localhost is the local host",
		"https://api.localhost/":             "api.localhost is the local host",
		"https://internal.example.com/":      "internal.example.com resolves to 10.0.0.7, a private address",
		"https://mixed.example.com/":         "mixed.example.com resolves to 127.0.0.1, a loopback address",
		"https://metadata.example.com/":      "metadata.example.com resolves to 169.254.169.254, a link-local address (cloud metadata services among them)",
		"https://[fe80::1%25eth0]:8443/hook": "fe80::1%eth0 is a link-local address (cloud metadata services among them)",
	} {
		err := g.CheckURL(t.Context(), mustParse(t, raw))
		var e *userdata.Error
		if !errors.As(err, &e) || e.Code != userdata.CodeRefusedURL || e.Detail != detail {
			t.Errorf("CheckURL(%s) = %v, want CodeRefusedURL with detail %q", raw, err, detail)
		}
		if err := open.CheckURL(t.Context(), mustParse(t, raw)); err != nil {
			t.Errorf("CheckURL(%s) allowing private addresses = %v", raw, err)
		}
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := webhook.ParseURL(raw)
	if err != nil {
		t.Fatalf("ParseURL(%s): %v", raw, err)
	}
	return u
}

// At connect time the guard checks the address itself: a loopback
// listener is refused, by its address and by a name that resolves to it,
// unless private addresses are allowed.
func TestDialGuard(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, addr := range []string{ln.Addr().String(), net.JoinHostPort("localhost", port)} {
		c, err := (&webhook.Guard{}).DialContext(t.Context(), "tcp", addr)
		if err == nil {
			c.Close()
			t.Errorf("DialContext(%s) connected; want it refused", addr)
		} else if !strings.Contains(err.Error(), "loopback") {
			t.Errorf("DialContext(%s) = %v, want a refusal naming the loopback address", addr, err)
		}
	}
	c, err := (&webhook.Guard{AllowPrivate: true}).DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("DialContext allowing private addresses: %v", err)
	}
	c.Close()
	g := &webhook.Guard{}
	if err := g.Control("tcp4", "93.184.215.14:443", nil); err != nil {
		t.Errorf("Control(public address) = %v", err)
	}
	for _, addr := range []string{"10.0.0.1:80", "[::1]:443", "[::ffff:169.254.169.254]:80", "not-an-address:80"} {
		if err := g.Control("tcp", addr, nil); err == nil {
			t.Errorf("Control(%s) = nil, want a refusal", addr)
		}
	}
}
