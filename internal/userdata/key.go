package userdata

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// KeyPrefix is the optional prefix of API keys on the wire (§2).
const KeyPrefix = "ak_"

// NewKey returns a new random API key as shown to the operator (ak_ and 43
// URL-safe characters), its hash for storage, and a short prefix that
// identifies it in listings.
func NewKey() (key, hash, prefix string) {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(b)
	return KeyPrefix + token, HashKey(token), KeyPrefix + token[:6]
}

// HashKey returns the stored form of a key's token (without the ak_
// prefix). Keys carry 256 random bits, so a plain SHA-256 is enough.
func HashKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenFromKey strips the ak_ prefix once, as authentication does.
func TokenFromKey(key string) string {
	return strings.TrimPrefix(key, KeyPrefix)
}
