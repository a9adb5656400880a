package userdata

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
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

// Validate checks what the store cannot: a hash, known scopes, a name
// CheckName accepts if one is given, and an environment list exactly when
// a scope acts on an environment's data (v2.md §4). Whether the
// environments are the project's is the store's to check.
func (in *TokenInput) Validate() error {
	if in.Hash == "" || in.Prefix == "" {
		return Errorf(CodeInvalid, "token hash and prefix must not be empty")
	}
	if len(in.Scopes) == 0 {
		return Errorf(CodeInvalid, "no scope given: want all or capabilities such as user:read")
	}
	for _, c := range in.Scopes {
		if !slices.Contains(Capabilities, c) {
			return Errorf(CodeInvalid, "unknown scope %q", c)
		}
	}
	if in.Name != "" {
		if err := CheckName("token", in.Name); err != nil {
			return err
		}
	}
	envScopes := EnvTargetedScopes(in.Scopes)
	switch {
	case len(envScopes) > 0 && len(in.Environments) == 0:
		return Errorf(CodeInvalid, "scopes %s act on an environment's data: name the environments the token may act on", joinCapabilities(envScopes))
	case len(envScopes) == 0 && in.Environments != nil:
		return Errorf(CodeInvalid, "a token without scopes that act on an environment's data acts on every environment: give no environments")
	}
	return nil
}

// Token returns the stored token in describes, with the given id and
// creation time, its times in UTC at the microsecond the databases keep.
func (in *TokenInput) Token(id string, now time.Time) *Token {
	t := &Token{ID: id, ProjectID: in.ProjectID, Name: in.Name, Prefix: in.Prefix, Scopes: in.Scopes,
		Environments: in.Environments, CreatedAt: now.UTC().Truncate(time.Microsecond)}
	if in.ExpiresAt != nil {
		at := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		t.ExpiresAt = &at
	}
	return t
}

// EncodeTokenLists returns the stored forms of a token's scopes (their
// names joined by commas) and of its environment list (a JSON array, or
// nil for every environment).
func EncodeTokenLists(scopes []Capability, envs []string) (string, *string) {
	s := make([]string, len(scopes))
	for i, c := range scopes {
		s[i] = string(c)
	}
	if envs == nil {
		return strings.Join(s, ","), nil
	}
	b, _ := json.Marshal(envs) // a []string always encodes
	js := string(b)
	return strings.Join(s, ","), &js
}

// DecodeTokenLists reverses EncodeTokenLists.
func DecodeTokenLists(scopes string, envs *string) ([]Capability, []string, error) {
	caps, err := ParseScopes(scopes)
	if err != nil {
		return nil, nil, fmt.Errorf("stored scopes %q: %w", scopes, err)
	}
	if envs == nil {
		return caps, nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(*envs), &list); err != nil || list == nil {
		return nil, nil, fmt.Errorf("stored environments %q are not a JSON array: %v", *envs, err)
	}
	return caps, list, nil
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
// Store.AuthenticateToken. Its slices may be shared with a cache: never
// modify them.
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

// TokenUseInterval is how often, at most, a token's last use is recorded.
const TokenUseInterval = time.Minute

// TouchDue reports whether a token last recorded as used at last (nil:
// never) is to be recorded as used at now.
func TouchDue(last *time.Time, now time.Time) bool {
	return last == nil || now.Sub(*last) >= TokenUseInterval
}

// Touches runs the writes that record tokens' use apart from the requests
// that used them, at most one at a time per token, so that however many
// requests read a token from the database at once, and however slow the
// writes, they cost one goroutine per token.
type Touches struct{ running sync.Map }

// Go runs record in a new goroutine, unless the one it ran for the token
// before is still running.
func (t *Touches) Go(tokenID string, record func()) {
	if _, busy := t.running.LoadOrStore(tokenID, struct{}{}); busy {
		return
	}
	go func() {
		defer t.running.Delete(tokenID)
		record()
	}()
}

// TokenCache is the cache of personal tokens: a Cache whose entries go at
// their token's expiry at the latest.
type TokenCache struct{ c *Cache[Principal] }

// NewTokenCache returns a token cache; epoch and maxAge are NewCache's.
func NewTokenCache(epoch func() int64, maxAge time.Duration) *TokenCache {
	c := NewCache[Principal](epoch, maxAge)
	c.expires = func(p Principal) (time.Time, bool) {
		if p.ExpiresAt == nil {
			return time.Time{}, false
		}
		return *p.ExpiresAt, true
	}
	return &TokenCache{c}
}

// Authenticate returns the principal of the token with the given hash,
// from the cache or, on a miss, from lookup. Expiry is checked at now on
// every call, cached or not: an expired token is a CodeExpired error,
// returned with its principal.
func (t *TokenCache) Authenticate(ctx context.Context, hash string, now time.Time, lookup func(context.Context, string) (Principal, error)) (Principal, error) {
	p, err := t.c.Get(ctx, hash, lookup)
	if err == nil && p.Expired(now) {
		err = Errorf(CodeExpired, "the token expired at %s", FormatTime(*p.ExpiresAt))
	}
	return p, err
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
