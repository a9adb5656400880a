package userdata_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func TestNewToken(t *testing.T) {
	token, hash, prefix := userdata.NewToken()
	if !regexp.MustCompile(`^utp_[A-Za-z0-9_-]{43}$`).MatchString(token) || hash != userdata.HashKey(token) || !strings.HasPrefix(token, prefix) || len(prefix) != 10 {
		t.Errorf("NewToken() = %q, %q, %q", token, hash, prefix)
	}
	if other, _, _ := userdata.NewToken(); other == token {
		t.Error("two tokens are equal")
	}
	env := userdata.NewEnvironmentToken()
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(env) || env == userdata.NewEnvironmentToken() {
		t.Errorf("NewEnvironmentToken() = %q", env)
	}
}

func TestParseScopes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []userdata.Capability // nil: an error
	}{
		{"all", userdata.Capabilities},
		{"user:read, all", userdata.Capabilities},
		{"user:write,attribute:read,user:write", []userdata.Capability{"attribute:read", "user:write"}},
		{" environment:manage ,", []userdata.Capability{"environment:manage"}},
		{"", nil},
		{" , ", nil},
		{"user:read,users:read", nil},
		{"ALL", nil},
	} {
		got, err := userdata.ParseScopes(tt.in)
		if tt.want == nil {
			if userdata.ErrorCode(err) != userdata.CodeInvalid {
				t.Errorf("ParseScopes(%q) = %v, %v; want CodeInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if len(userdata.Capabilities) != 22 {
		t.Errorf("%d capabilities, want 22", len(userdata.Capabilities))
	}
	got := userdata.EnvTargetedScopes(userdata.Capabilities)
	want := []userdata.Capability{"segment:read", "segment:create", "segment:update", "segment:delete",
		"user:read", "user:write", "user:delete", "company:read", "company:write", "company:delete", "webhook:read", "webhook:manage"}
	if !cmp.Equal(got, want) {
		t.Errorf("EnvTargetedScopes(all) = %v, want %v", got, want)
	}
}

func TestParseExpiresIn(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "1d": 24 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute} {
		if got, err := userdata.ParseExpiresIn(in); err != nil || got != want {
			t.Errorf("ParseExpiresIn(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0d", "-1h", "d", "1.5d", "01d", "+1d", "1w", "x"} {
		if got, err := userdata.ParseExpiresIn(in); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("ParseExpiresIn(%q) = %v, %v; want CodeInvalid", in, got, err)
		}
	}
}

func TestPrincipal(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := userdata.Principal{Scopes: []userdata.Capability{"user:read"}, Environments: []string{"e1"}, ExpiresAt: &at}
	if !p.Can("user:read") || p.Can("user:write") || !p.InScope("e1") || p.InScope("e2") {
		t.Errorf("Can/InScope wrong for %+v", p)
	}
	if p.Expired(at.Add(-time.Nanosecond)) || !p.Expired(at) {
		t.Error("Expired: want false before ExpiresAt and true at it")
	}
	all := userdata.Principal{}
	if !all.InScope("any") || all.Expired(at) {
		t.Error("a principal without environments or expiry must act on every environment and never expire")
	}
}

func TestTokenInputValidate(t *testing.T) {
	valid := func() *userdata.TokenInput {
		return &userdata.TokenInput{ProjectID: "p", Hash: "h", Prefix: "utp_x", Scopes: []userdata.Capability{"user:read", "attribute:read"}, Environments: []string{"e"}}
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	projectLevel := &userdata.TokenInput{ProjectID: "p", Hash: "h", Prefix: "utp_x", Scopes: []userdata.Capability{"attribute:read", "environment:manage"}}
	if err := projectLevel.Validate(); err != nil {
		t.Fatalf("project-level token: %v", err)
	}
	for name, tt := range map[string]struct {
		change func(*userdata.TokenInput)
		want   string
	}{
		"no scopes":          {func(in *userdata.TokenInput) { in.Scopes = nil }, "no scope given"},
		"unknown scope":      {func(in *userdata.TokenInput) { in.Scopes = append(in.Scopes, "user:fly") }, `unknown scope "user:fly"`},
		"no environments":    {func(in *userdata.TokenInput) { in.Environments = nil }, "scopes user:read act on an environment's data"},
		"empty environments": {func(in *userdata.TokenInput) { in.Environments = []string{} }, "scopes user:read act on an environment's data"},
		"needless list":      {func(in *userdata.TokenInput) { in.Scopes = []userdata.Capability{"attribute:read"} }, "give no environments"},
		"blank name":         {func(in *userdata.TokenInput) { in.Name = " " }, "token name must not be empty"},
		"no hash":            {func(in *userdata.TokenInput) { in.Hash = "" }, "hash"},
	} {
		in := valid()
		tt.change(in)
		if err := in.Validate(); userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want CodeInvalid containing %q", name, err, tt.want)
		}
	}
}

func TestTokenLists(t *testing.T) {
	for _, tt := range []struct {
		scopes []userdata.Capability
		envs   []string
	}{
		{[]userdata.Capability{"user:read", "company:write"}, []string{"e1", `e"2`}},
		{[]userdata.Capability{"attribute:read"}, nil},
		{userdata.Capabilities, []string{"e"}},
	} {
		s, e := userdata.EncodeTokenLists(tt.scopes, tt.envs)
		scopes, envs, err := userdata.DecodeTokenLists(s, e)
		if err != nil || !cmp.Equal(scopes, tt.scopes) || !cmp.Equal(envs, tt.envs) {
			t.Errorf("%v, %v stored as %q, %v read back as %v, %v, %v", tt.scopes, tt.envs, s, e, scopes, envs, err)
		}
	}
	bad := "{}"
	for _, tt := range []struct {
		scopes string
		envs   *string
	}{{"user:nope", nil}, {"user:read", &bad}} {
		if _, _, err := userdata.DecodeTokenLists(tt.scopes, tt.envs); err == nil {
			t.Errorf("DecodeTokenLists(%q, %v) succeeded", tt.scopes, tt.envs)
		}
	}
}

func TestTouchDue(t *testing.T) {
	now := time.Now()
	last := now.Add(-userdata.TokenUseInterval + time.Second)
	stale := now.Add(-userdata.TokenUseInterval)
	if !userdata.TouchDue(nil, now) || userdata.TouchDue(&last, now) || !userdata.TouchDue(&stale, now) {
		t.Error("TouchDue: want true for never and for a minute ago, false for less")
	}
}

func TestTokenInputToken(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	in := &userdata.TokenInput{ProjectID: "p", Name: "n", Hash: "h", Prefix: "utp_x", Scopes: []userdata.Capability{"user:read"}, Environments: []string{"e"}, ExpiresAt: &at}
	got := in.Token("id", at)
	utc := time.Date(2026, 1, 2, 2, 4, 5, 123456000, time.UTC)
	want := &userdata.Token{ID: "id", ProjectID: "p", Name: "n", Prefix: "utp_x", Scopes: in.Scopes, Environments: in.Environments, CreatedAt: utc, ExpiresAt: &utc}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Token (-want +got):\n%s", diff)
	}
	if in.Token("id", at).ExpiresAt == in.ExpiresAt {
		t.Error("Token shares the input's expiry")
	}
}

// A token's use is recorded by one goroutine at a time.
func TestTouches(t *testing.T) {
	var touches userdata.Touches
	release := make(chan struct{})
	ran := make(chan string, 10)
	record := func(id string) func() {
		return func() { ran <- id; <-release }
	}
	touches.Go("a", record("a"))
	<-ran
	touches.Go("a", record("a again")) // skipped: a's is still running
	touches.Go("b", record("b"))
	if got := <-ran; got != "b" {
		t.Errorf("ran %q, want b", got)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		touches.Go("a", func() { ran <- "a later" })
		select {
		case got := <-ran:
			if got != "a later" {
				t.Fatalf("ran %q, want a later", got)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("a's second recording never ran once the first was done")
		}
	}
}
