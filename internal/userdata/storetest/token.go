package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// newToken returns the input of a new token of the project with the given
// scopes and environments, and its hash.
func newToken(project string, scopes []userdata.Capability, envs ...string) userdata.TokenInput {
	_, hash, prefix := userdata.NewToken()
	return userdata.TokenInput{ProjectID: project, Hash: hash, Prefix: prefix, Scopes: scopes, Environments: envs}
}

func createToken(t *testing.T, s userdata.Store, in userdata.TokenInput) *userdata.Token {
	t.Helper()
	tok, err := s.CreateToken(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateToken(%+v): %v", in, err)
	}
	return tok
}

var (
	userRead  = []userdata.Capability{"user:read"}
	attrRead  = []userdata.Capability{"attribute:read"}
	userWrite = []userdata.Capability{"user:read", "user:write", "environment:read"}
)

// Tokens are stored as given, listed oldest first, and authenticate to
// what they may do.
func testTokens(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	prod := p.Environments[0]
	staging := createEnvironment(t, s, p.ID, "staging")
	other := createProject(t, s, "other")

	expires := time.Now().Add(time.Hour).Round(0)
	in := newToken(p.ID, userWrite, prod.ID, staging.ID)
	in.Name, in.ExpiresAt = "ci", &expires
	tok := createToken(t, s, in)
	want := &userdata.Token{ID: tok.ID, ProjectID: p.ID, Name: "ci", Prefix: in.Prefix, Scopes: userWrite,
		Environments: []string{prod.ID, staging.ID}, CreatedAt: tok.CreatedAt, ExpiresAt: tok.ExpiresAt}
	if diff := cmp.Diff(want, tok); diff != "" || tok.ID == "" || tok.CreatedAt.IsZero() || !tok.ExpiresAt.Equal(expires.Truncate(time.Microsecond)) {
		t.Errorf("CreateToken (-want +got):\n%s", diff)
	}
	projectLevel := createToken(t, s, newToken(p.ID, attrRead))
	otherTok := createToken(t, s, newToken(other.ID, userdata.Capabilities, other.Environments[0].ID))

	for name, tt := range map[string]struct {
		in       userdata.TokenInput
		code     userdata.Code
		resource string
		message  string
	}{
		"unknown project":             {newToken("nope", attrRead), userdata.CodeNotFound, userdata.ResourceProject, ""},
		"another project's env":       {newToken(p.ID, userRead, prod.ID, other.Environments[0].ID), userdata.CodeInvalid, "", other.Environments[0].ID},
		"unknown env":                 {newToken(p.ID, userRead, "nope"), userdata.CodeInvalid, "", "environment nope is not a live environment of project " + p.ID},
		"env-targeted without a list": {newToken(p.ID, userRead), userdata.CodeInvalid, "", "user:read"},
		"no scopes":                   {newToken(p.ID, nil), userdata.CodeInvalid, "", ""},
	} {
		_, err := s.CreateToken(ctx, tt.in)
		wantCode(t, "CreateToken: "+name, err, tt.code, tt.resource)
		if !strings.Contains(err.Error(), tt.message) {
			t.Errorf("CreateToken: %s: %v, want a message naming %s", name, err, tt.message)
		}
	}

	tokens, err := s.ListTokens(ctx, p.ID)
	if diff := cmp.Diff([]*userdata.Token{tok, projectLevel}, tokens); err != nil || diff != "" {
		t.Errorf("ListTokens(p): %v (-want +got):\n%s", err, diff)
	}
	all, err := s.ListTokens(ctx, "")
	if diff := cmp.Diff([]*userdata.Token{tok, projectLevel, otherTok}, all); err != nil || diff != "" {
		t.Errorf("ListTokens(all): %v (-want +got):\n%s", err, diff)
	}
	_, err = s.ListTokens(ctx, "nope")
	wantCode(t, "ListTokens(unknown project)", err, userdata.CodeNotFound, userdata.ResourceProject)

	for range 2 { // from the database, then from the cache
		got, err := s.AuthenticateToken(ctx, in.Hash)
		wantP := userdata.Principal{TokenID: tok.ID, ProjectID: p.ID, Scopes: userWrite, Environments: []string{prod.ID, staging.ID}, ExpiresAt: tok.ExpiresAt}
		if diff := cmp.Diff(wantP, got); err != nil || diff != "" {
			t.Errorf("AuthenticateToken: %v (-want +got):\n%s", err, diff)
		}
	}
	if got, err := s.AuthenticateToken(ctx, userdata.HashKey("utp_nope")); userdata.ErrorCode(err) != userdata.CodeForbidden {
		t.Errorf("AuthenticateToken(unknown) = %+v, %v; want CodeForbidden", got, err)
	}
	// Keys and tokens are apart: neither hash opens the other.
	_, keyHash, keyPrefix := userdata.NewKey()
	if _, err := s.CreateKey(ctx, p.ID, prod.ID, keyHash, keyPrefix); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, in.Hash); userdata.ErrorCode(err) != userdata.CodeForbidden {
		t.Errorf("Authenticate(a token's hash): %v, want CodeForbidden", err)
	}
	if _, err := s.AuthenticateToken(ctx, keyHash); userdata.ErrorCode(err) != userdata.CodeForbidden {
		t.Errorf("AuthenticateToken(a key's hash): %v, want CodeForbidden", err)
	}
}

// Revoked tokens are refused at once and listed with their revocation
// time, which a second revocation keeps.
func testTokenRevocation(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	byID, byHash := newToken(p.ID, attrRead), newToken(p.ID, attrRead)
	a, b := createToken(t, s, byID), createToken(t, s, byHash)
	for _, in := range []userdata.TokenInput{byID, byHash} {
		if _, err := s.AuthenticateToken(ctx, in.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeToken(ctx, a.ID); err != nil {
		t.Fatalf("RevokeToken(id): %v", err)
	}
	if err := s.RevokeToken(ctx, byHash.Hash); err != nil {
		t.Fatalf("RevokeToken(hash): %v", err)
	}
	for _, in := range []userdata.TokenInput{byID, byHash} {
		_, err := s.AuthenticateToken(ctx, in.Hash)
		wantCode(t, "AuthenticateToken(revoked)", err, userdata.CodeForbidden, "")
	}
	first, _ := s.ListTokens(ctx, p.ID)
	if err := s.RevokeToken(ctx, b.ID); err != nil {
		t.Errorf("RevokeToken(revoked): %v", err)
	}
	again, _ := s.ListTokens(ctx, p.ID)
	if len(first) != 2 || first[0].RevokedAt == nil || first[1].RevokedAt == nil || !cmp.Equal(first, again) {
		t.Errorf("tokens after revocations: %+v, after revoking again %+v", first, again)
	}
	wantCode(t, "RevokeToken(unknown)", s.RevokeToken(ctx, "nope"), userdata.CodeNotFound, userdata.ResourceToken)
	wantCode(t, "RevokeToken(a key's id)", s.RevokeToken(ctx, createKey(t, s, p.ID, "Production").ID), userdata.CodeNotFound, userdata.ResourceToken)
}

// An expired token is refused with CodeExpired, from its expiry instant on,
// cached or not.
func testTokenExpiry(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	past := time.Now().Add(-time.Second)
	expired := newToken(p.ID, attrRead)
	expired.ExpiresAt = &past
	tok := createToken(t, s, expired)
	got, err := s.AuthenticateToken(ctx, expired.Hash)
	wantCode(t, "AuthenticateToken(expired)", err, userdata.CodeExpired, "")
	if got.TokenID != tok.ID {
		t.Errorf("AuthenticateToken(expired) = %+v, want its principal", got)
	}
	soon := time.Now().Add(time.Second)
	expiring := newToken(p.ID, attrRead)
	expiring.ExpiresAt = &soon
	createToken(t, s, expiring)
	if _, err := s.AuthenticateToken(ctx, expiring.Hash); err != nil {
		t.Fatalf("AuthenticateToken before its expiry: %v", err)
	}
	time.Sleep(time.Until(soon))
	_, err = s.AuthenticateToken(ctx, expiring.Hash)
	wantCode(t, "AuthenticateToken at its expiry", err, userdata.CodeExpired, "")
	time.Sleep(200 * time.Millisecond) // a use would be recorded by now
	tokens, _ := s.ListTokens(ctx, p.ID)
	if tokens[0].LastUsedAt != nil {
		t.Errorf("the use of an expired token was recorded: %+v", tokens[0])
	}
}

// A token's use is recorded, at most every TokenUseInterval.
func testTokenLastUsed(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	in := newToken(p.ID, attrRead)
	createToken(t, s, in)
	lastUsed := func() *time.Time {
		tokens, err := s.ListTokens(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tokens[0].LastUsedAt
	}
	if lastUsed() != nil {
		t.Fatal("a new token was used")
	}
	before := time.Now().Add(-time.Second)
	if _, err := s.AuthenticateToken(ctx, in.Hash); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for lastUsed() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the token's use was not recorded within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	first := lastUsed()
	if first.Before(before) || first.After(time.Now()) {
		t.Errorf("last used %v, want about now", first)
	}
	// Another use within the interval, even read from the database (a
	// revocation empties the caches), records nothing.
	if err := s.RevokeToken(ctx, createToken(t, s, newToken(p.ID, attrRead)).ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateToken(ctx, in.Hash); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if again := lastUsed(); !again.Equal(*first) {
		t.Errorf("a use %v after the last was recorded: %v, was %v", again.Sub(*first), again, first)
	}
}

// A token revoked through one store is refused by the other at once, even
// after that one has cached it; a token created through one store works
// through the other at once.
func testTokenRevocationAcrossStores(t *testing.T, a, b userdata.Store) {
	ctx := t.Context()
	p := createProject(t, a, "p")
	in := newToken(p.ID, attrRead)
	createToken(t, a, in)
	for i, s := range []userdata.Store{a, b, a, b} {
		if _, err := s.AuthenticateToken(ctx, in.Hash); err != nil {
			t.Fatalf("store %d: AuthenticateToken before revocation: %v", i%2, err)
		}
	}
	if err := b.RevokeToken(ctx, in.Hash); err != nil {
		t.Fatal(err)
	}
	for i, s := range []userdata.Store{a, b} {
		_, err := s.AuthenticateToken(ctx, in.Hash)
		wantCode(t, fmt.Sprintf("store %d: AuthenticateToken after revocation", i), err, userdata.CodeForbidden, "")
	}
}
