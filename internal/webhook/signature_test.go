package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tourd/internal/webhook"
)

// The cases of Usertour's webhook-signature.spec.ts: the t=,v1= format
// over "<t>.<body>", its known vector, and tampering.
func TestSign(t *testing.T) {
	const secret, ts, body = "whsec_test", 1752652800, `{"id":"whmsg_1","object":"webhookMessage"}`
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.Itoa(ts) + "." + body))
	got := webhook.Sign(secret, ts, []byte(body))
	if want := "t=1752652800,v1=" + hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
	if want := "t=1752652800,v1=153783454684e83f24a743b653fb3fb6c41dc90c0a54d122b2c207f4c93446a6"; got != want {
		t.Errorf("Sign = %q, want Usertour's vector %q", got, want)
	}
	if tampered := webhook.Sign(secret, ts, []byte(body+" ")); tampered == got {
		t.Error("a tampered body has the same signature")
	}
}

// The Standard Webhooks signature verifies with the Standard Webhooks
// library, given the secret's random part as the key (raw, or base64
// after whsec_), and fails with another secret or a tampered body.
func TestSignStandard(t *testing.T) {
	secret := webhook.NewSecret()
	id, now, body := "whmsg_0123456789abcdef0123456789abcdef", time.Now().Unix(), []byte(`{"id":"whmsg_0123456789abcdef0123456789abcdef","type":"user.created"}`)
	sig, err := webhook.SignStandard(secret, id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(webhook.HeaderStandardID, id)
	h.Set(webhook.HeaderStandardTimestamp, strconv.FormatInt(now, 10))
	h.Set(webhook.HeaderStandardSignatures, sig)
	key, _ := hex.DecodeString(secret[len(webhook.SecretPrefix):])
	raw, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	b64, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	for name, wh := range map[string]*standardwebhooks.Webhook{"raw key": raw, "whsec_ base64": b64} {
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("%s: Verify = %v", name, err)
		}
		if err := wh.Verify(append(body, ' '), h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Errorf("%s: Verify of a tampered body = %v, want ErrNoMatchingSignature", name, err)
		}
	}
	otherKey, _ := hex.DecodeString(webhook.NewSecret()[len(webhook.SecretPrefix):])
	other, _ := standardwebhooks.NewWebhookRaw(otherKey)
	if err := other.Verify(body, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("Verify with another secret = %v, want ErrNoMatchingSignature", err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_xyz", "3f9c2a7e", "whsec_3f9c2a7"} {
		if _, err := webhook.SignStandard(bad, id, now, body); !errors.Is(err, webhook.ErrSecretFormat) {
			t.Errorf("SignStandard(secret %q) = %v, want ErrSecretFormat", bad, err)
		}
	}
}
