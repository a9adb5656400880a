package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// The headers of a delivery that carry its signatures (webhooks.md §3):
// Usertour's, and those of Standard Webhooks.
const (
	HeaderSignature          = "X-Usertour-Signature"
	HeaderStandardID         = "webhook-id"
	HeaderStandardTimestamp  = "webhook-timestamp"
	HeaderStandardSignatures = "webhook-signature"
)

// Sign returns Usertour's signature of a body sent at t (Unix seconds)
// with secret, the value of HeaderSignature: t=<t>,v1=<hex HMAC-SHA256 of
// "<t>.<body>">, keyed with the whole secret string, so that Usertour's
// receivers verify tourd's deliveries unchanged.
func Sign(secret string, t int64, body []byte) string {
	ts := strconv.FormatInt(t, 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrSecretFormat is SignStandard's error for a secret that is not
// SecretPrefix and hex digits.
var ErrSecretFormat = errors.New("the signing secret is not whsec_ and hexadecimal digits")

// SignStandard returns the Standard Webhooks signature of message id's
// body sent at t with secret, the value of HeaderStandardSignatures:
// v1,<base64 HMAC-SHA256 of "<id>.<t>.<body>">, keyed with the secret's
// random part (what follows SecretPrefix) decoded from hex. Standard
// Webhooks libraries verify it when given that key (the base64 of those
// bytes, after whsec_, where a library wants a whsec_ string).
func SignStandard(secret, id string, t int64, body []byte) (string, error) {
	hexKey, ok := strings.CutPrefix(secret, SecretPrefix)
	key, err := hex.DecodeString(hexKey)
	if !ok || err != nil || len(key) == 0 {
		return "", ErrSecretFormat
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(t, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
