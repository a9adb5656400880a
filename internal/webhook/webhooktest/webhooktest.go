// Package webhooktest holds what the tests of several packages need of
// package webhook: a resolver that asks no DNS server, and keyrings.
package webhooktest

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"tourd/internal/webhook"
)

// Resolver resolves the host names it maps to addresses; any other name
// does not exist (a not-found DNS error).
type Resolver map[string][]string

// LookupNetIP returns the addresses of host.
func (r Resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

// Keyring returns the keyring of the given keys (webhook.NewKeyring),
// failing the test on error.
func Keyring(t testing.TB, current string, old ...string) *webhook.Keyring {
	t.Helper()
	k, err := webhook.NewKeyring(current, old...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}
