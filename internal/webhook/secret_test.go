package webhook_test

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"tourd/internal/webhook"
	"tourd/internal/webhook/webhooktest"
)

func TestNewSecret(t *testing.T) {
	re := regexp.MustCompile(`^whsec_[0-9a-f]{64}$`)
	seen := map[string]bool{}
	for range 100 {
		s := webhook.NewSecret()
		if !re.MatchString(s) || seen[s] {
			t.Fatalf("NewSecret() = %q: not whsec_ and 64 hex digits, or seen before", s)
		}
		seen[s] = true
	}
}

// Two keys, each in the forms a key may take.
var (
	keyA    = strings.Repeat("0123456789abcdef", 4)
	rawA, _ = hex.DecodeString(keyA)
	keyB    = base64.StdEncoding.EncodeToString([]byte("another key of thirty-two bytes!"))
)

// Without a key, a secret is stored as it is.
func TestKeyringPlain(t *testing.T) {
	for name, k := range map[string]*webhook.Keyring{"zero": {}, "no key": webhooktest.Keyring(t, "")} {
		secret := webhook.NewSecret()
		if got := k.Seal(secret); got != secret {
			t.Errorf("%s: Seal = %q, want the secret", name, got)
		}
		if got := k.Open(secret); got != secret {
			t.Errorf("%s: Open(plain) = %q", name, got)
		}
		if k.Encrypts() {
			t.Errorf("%s: Encrypts", name)
		}
		if got := k.Open(webhooktest.Keyring(t, keyA).Seal(secret)); got != "" {
			t.Errorf("%s: Open(sealed) = %q, want \"\"", name, got)
		}
	}
}

// With a key, a secret is sealed, differently each time, opened by any
// form of the key; secrets stored before the key was set still read.
func TestKeyringSeal(t *testing.T) {
	k := webhooktest.Keyring(t, keyA)
	if !k.Encrypts() {
		t.Error("a keyring with a key does not encrypt")
	}
	secret := webhook.NewSecret()
	one, two := k.Seal(secret), k.Seal(secret)
	if !strings.HasPrefix(one, "enc1:") || strings.Contains(one, secret[len("whsec_"):]) || one == two {
		t.Errorf("Seal = %q and %q: want two different enc1: forms without the secret", one, two)
	}
	for _, form := range []string{keyA, strings.ToUpper(keyA), " " + keyA + "\n", base64.StdEncoding.EncodeToString(rawA),
		base64.RawStdEncoding.EncodeToString(rawA), base64.URLEncoding.EncodeToString(rawA), base64.RawURLEncoding.EncodeToString(rawA)} {
		if got := webhooktest.Keyring(t, form).Open(one); got != secret {
			t.Errorf("Open with the key written %q = %q, want the secret", form, got)
		}
	}
	if got := k.Open(secret); got != secret {
		t.Errorf("Open(a secret stored plain) = %q", got)
	}
}

// A stored form no key of the keyring can open reads as "": the key that
// sealed it is gone, or the stored form is damaged.
func TestKeyringCannotOpen(t *testing.T) {
	k := webhooktest.Keyring(t, keyA)
	sealed := k.Seal("whsec_x")
	prefix, payload := sealed[:len("enc1:")+9], sealed[len("enc1:")+9:]
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	for name, stored := range map[string]string{
		"another key":       webhooktest.Keyring(t, keyB).Seal("whsec_x"),
		"a flipped bit":     prefix + base64.RawURLEncoding.EncodeToString(raw),
		"not base64":        prefix + "!!!",
		"too short":         prefix + "AAAA",
		"empty":             "enc1:",
		"no key id":         "enc1:" + payload,
		"another key id":    "enc1:00000000:" + payload,
		"a truncated value": sealed[:len(sealed)-4],
	} {
		if got := k.Open(stored); got != "" {
			t.Errorf("Open(%s) = %q, want \"\"", name, got)
		}
	}
}

// Rotating the key: the old one, given as an old key, still opens what it
// sealed; the new one seals. Without a current key, old keys still open.
func TestKeyringRotation(t *testing.T) {
	before := webhooktest.Keyring(t, keyA).Seal("whsec_before")
	k := webhooktest.Keyring(t, keyB, keyA, keyA)
	if got := k.Open(before); got != "whsec_before" {
		t.Errorf("Open(sealed with the old key) = %q", got)
	}
	after := k.Seal("whsec_after")
	if got := webhooktest.Keyring(t, keyB).Open(after); got != "whsec_after" {
		t.Errorf("the rotated keyring did not seal with the new key: %q", got)
	}
	if got := webhooktest.Keyring(t, keyA).Open(after); got != "" {
		t.Errorf("the old key opens what the new one sealed: %q", got)
	}
	plain := webhooktest.Keyring(t, "", keyA)
	if got := plain.Seal("whsec_p"); got != "whsec_p" {
		t.Errorf("without a current key, Seal = %q", got)
	}
	if got := plain.Open(before); got != "whsec_before" {
		t.Errorf("an old key alone does not open: %q", got)
	}
}

// A key that is not 32 bytes in one of the forms is refused with an
// error that names it without showing it.
func TestKeyringBadKeys(t *testing.T) {
	for _, bad := range []string{
		keyA[:62], keyA + "00", strings.Repeat("g", 64), "not a key at all, not even base64!",
		base64.StdEncoding.EncodeToString(rawA[:31]), base64.StdEncoding.EncodeToString(append(rawA, 0)),
	} {
		for _, tt := range []struct {
			current string
			old     []string
			want    string
		}{{bad, nil, "the key must be 32 bytes"}, {keyA, []string{keyB, bad}, "old key 2 of 2 must be 32 bytes"}} {
			_, err := webhook.NewKeyring(tt.current, tt.old...)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), bad) {
				t.Errorf("NewKeyring(%q, %q) = %v, want an error starting %q that does not show the key", tt.current, tt.old, err, tt.want)
			}
		}
	}
}
