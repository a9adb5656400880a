package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"tourd/internal/userdata"
)

// MaxURLLength bounds an endpoint's URL, in characters (Usertour's).
const MaxURLLength = 2083

// ParseURL checks the form of an endpoint's URL (Usertour's
// CreateWebhookBodyDto): at most MaxURLLength characters, starting with
// http:// or https://, and a URL with a host. It returns a CodeInvalid
// error for anything else.
func ParseURL(raw string) (*url.URL, error) {
	if utf8.RuneCountInString(raw) > MaxURLLength {
		return nil, userdata.Errorf(userdata.CodeInvalid, "url must be at most %d characters long", MaxURLLength)
	}
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		return nil, userdata.Errorf(userdata.CodeInvalid, "url must be an http(s) URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil, userdata.Errorf(userdata.CodeInvalid, "url must be a valid URL")
	}
	return u, nil
}

// Resolver looks host names up, as *net.Resolver does.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps webhooks from reaching the addresses of the network tourd
// runs in (webhooks.md §2): loopback, private, link-local (cloud metadata
// services among them), shared (CGNAT), multicast, unspecified and the
// other reserved ranges. Only globally routable unicast addresses are
// allowed, unless AllowPrivate. It checks an endpoint's URL when it is
// saved (CheckURL) and every address a delivery connects to (Control,
// DialContext), so that a name that resolved to a public address then
// cannot be made to reach a private one later (DNS rebinding). A Guard
// is safe for concurrent use.
type Guard struct {
	// AllowPrivate allows every address (TOURD_WEBHOOK_ALLOW_PRIVATE=1).
	AllowPrivate bool
	// Resolver looks up the host names of URLs; nil is
	// net.DefaultResolver.
	Resolver Resolver
}

// resolveTimeout bounds the lookup of a URL's host name by CheckURL.
const resolveTimeout = 5 * time.Second

// CheckURL refuses, with a CodeRefusedURL error whose detail says why,
// the URL of an endpoint whose host is a forbidden address, is localhost
// or a name under .localhost, or is a name that resolves to any forbidden
// address. A name that does not resolve (now) is accepted: it reaches
// nothing, and a delivery checks the addresses it connects to again.
func (g *Guard) CheckURL(ctx context.Context, u *url.URL) error {
	if g.AllowPrivate {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return refusedURL(host + " is the local host")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if why := Forbidden(addr); why != "" {
			return refusedURL(fmt.Sprintf("%s is %s", addr, why))
		}
		return nil
	}
	var r Resolver = net.DefaultResolver
	if g.Resolver != nil {
		r = g.Resolver
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, addr := range addrs {
		if why := Forbidden(addr); why != "" {
			return refusedURL(fmt.Sprintf("%s resolves to %s, %s", host, addr.Unmap().WithZone(""), why))
		}
	}
	return nil
}

// refusedURL is CheckURL's error, with detail.
func refusedURL(detail string) error {
	return &userdata.Error{Code: userdata.CodeRefusedURL, Message: "url refused", Detail: detail}
}

// Control refuses to connect to an address the guard forbids. It is a
// net.Dialer's Control, which runs for each address a dial tries, after
// the name is resolved: use it (or DialContext) for every connection of a
// delivery, and no proxy (http.Transport's Proxy nil), or the guard
// would check the proxy's address instead of the endpoint's.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: refusing to connect to %q: not an IP address", address)
	}
	if why := Forbidden(ap.Addr()); why != "" {
		return fmt.Errorf("webhook: refusing to connect to %s (%s): %s", address, network, why)
	}
	return nil
}

// DialContext dials as a net.Dialer with the guard's Control does, for
// http.Transport's DialContext.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{Control: g.Control}
	return d.DialContext(ctx, network, address)
}

// forbiddenPrefixes are the ranges Forbidden refuses beyond what netip's
// predicates name.
var forbiddenPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a 6to4 relay address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("5f00::/16"), "a segment routing address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// Forbidden returns why a webhook may not reach addr ("a loopback
// address", …), or "" when it may: addr is then a globally routable
// unicast address. An IPv4-mapped IPv6 address is judged as its IPv4
// address.
func Forbidden(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "not an address"
	case addr.IsUnspecified():
		return "the unspecified address"
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata services among them)"
	case addr.IsMulticast():
		return "a multicast address"
	case addr.IsPrivate():
		return "a private address"
	case !addr.IsGlobalUnicast():
		return "not a unicast address"
	}
	for _, f := range forbiddenPrefixes {
		if f.prefix.Contains(addr.WithZone("")) {
			return f.why
		}
	}
	return ""
}
