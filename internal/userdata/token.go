package userdata

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TokenPrefix starts every personal token of the v2 API (v2.md §3).
const TokenPrefix = "utp_"

// NewToken returns a new random personal token as shown once to the
// operator (utp_ and 43 URL-safe characters), its hash for storage (as
// HashKey hashes v1 keys, here of the whole token) and a short prefix that
// identifies it in listings.
func NewToken() (token, hash, prefix string) {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error (crypto/rand)
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashKey(token), token[:len(TokenPrefix)+6]
}

// Capability is one thing a personal token may do (v2.md §4).
type Capability string

// Capabilities lists the 22 capabilities of the user-data part of v2, in
// the order listings show them.
var Capabilities = []Capability{
	"attribute:read", "attribute:create", "attribute:update", "attribute:delete",
	"event:read", "event:create", "event:update", "event:delete",
	"segment:read", "segment:create", "segment:update", "segment:delete",
	"user:read", "user:write", "user:delete",
	"company:read", "company:write", "company:delete",
	"environment:read", "environment:manage",
	"webhook:read", "webhook:manage",
}

// ScopeAll is the scope that grants every capability.
const ScopeAll = "all"

// EnvTargeted reports whether c acts on an environment's data, so that a
// token holding it must name its environments (v2.md §4).
func (c Capability) EnvTargeted() bool {
	area, _, _ := strings.Cut(string(c), ":")
	switch area {
	case "user", "company", "segment", "webhook":
		return true
	}
	return false
}

// ParseScopes parses a comma-separated list of capabilities, or the word
// all, into the capabilities it grants, in the order of Capabilities,
// without repeats. Spaces around names are ignored; an unknown name is a
// CodeInvalid error that names it.
func ParseScopes(s string) ([]Capability, error) {
	want := map[Capability]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == ScopeAll:
			return slices.Clone(Capabilities), nil
		case name == "":
			continue
		case !slices.Contains(Capabilities, Capability(name)):
			return nil, Errorf(CodeInvalid, "unknown scope %q: want all or capabilities such as user:read (%s)", name, joinCapabilities(Capabilities))
		}
		want[Capability(name)] = true
	}
	if len(want) == 0 {
		return nil, Errorf(CodeInvalid, "no scope given: want all or capabilities such as user:read")
	}
	var out []Capability
	for _, c := range Capabilities {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// EnvTargetedScopes returns the capabilities of scopes that act on an
// environment's data.
func EnvTargetedScopes(scopes []Capability) []Capability {
	var out []Capability
	for _, c := range scopes {
		if c.EnvTargeted() {
			out = append(out, c)
		}
	}
	return out
}

func joinCapabilities(cs []Capability) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// Project is a tenant of the v2 API: it owns definitions and environments.
type Project struct {
	ID           string
	Name         string
	CreatedAt    time.Time
	Environments []*Environment // in creation order, the primary first
}

// Environment is a project's environment: it owns users, companies,
// memberships and events.
type Environment struct {
	ID        string
	ProjectID string
	Name      string
	IsPrimary bool
	// Token is the environment's public SDK token: a random, stable public
	// identifier, not a credential of this API.
	Token     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TokenInput is a new personal token to store.
type TokenInput struct {
	ProjectID string
	Name      string
	Hash      string // HashKey of the whole token
	Prefix    string // for listings
	Scopes    []Capability
	// Environments are the environment ids the token may act on; nil when
	// it has no env-targeted capability (then it may act on every one).
	Environments []string
	ExpiresAt    *time.Time // nil: never
}

// Token is a stored personal token, never the token itself.
type Token struct {
	ID           string
	ProjectID    string
	Name         string
	Prefix       string
	Scopes       []Capability
	Environments []string // nil: every environment
	CreatedAt    time.Time
	ExpiresAt    *time.Time
	LastUsedAt   *time.Time
	RevokedAt    *time.Time
}

// Principal is what an authenticated personal token may do: the answer of
// Store.AuthenticateToken.
type Principal struct {
	TokenID      string
	ProjectID    string
	Scopes       []Capability
	Environments []string   // nil: every environment of the project
	ExpiresAt    *time.Time // nil: never
}

// Can reports whether the principal holds capability c.
func (p Principal) Can(c Capability) bool { return slices.Contains(p.Scopes, c) }

// InScope reports whether the principal may act on the environment envID.
func (p Principal) InScope(envID string) bool {
	return p.Environments == nil || slices.Contains(p.Environments, envID)
}

// Expired reports whether the principal's token has expired at now.
func (p Principal) Expired(now time.Time) bool {
	return p.ExpiresAt != nil && !now.Before(*p.ExpiresAt)
}

// ParseExpiresIn parses a token lifetime: a Go duration (90m, 720h) or a
// number of days (30d). It must be positive.
func ParseExpiresIn(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days {
			return 0, Errorf(CodeInvalid, "--expires-in %q: want a Go duration such as 720h or a number of days such as 30d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, Errorf(CodeInvalid, "--expires-in %q: want a Go duration such as 720h or a number of days such as 30d", s)
		}
	}
	if d <= 0 {
		return 0, Errorf(CodeInvalid, "--expires-in %q: must be positive", s)
	}
	return d, nil
}
