package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret: SecretPrefix and 32 random
// bytes in lowercase hexadecimal (Usertour's form).
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails
	return SecretPrefix + hex.EncodeToString(b[:])
}

// sealedPrefix starts a secret sealed with a key: "enc1:", the key's id
// (keyID), ":", then the nonce and the AES-256-GCM ciphertext of the
// secret, in unpadded base64url. A stored secret without it is the secret
// itself, as stored when no key was set.
const sealedPrefix = "enc1:"

// Keyring keeps signing secrets at rest (webhooks.md §3): it seals them
// with its current key, if it has one, and opens what any of its keys
// sealed. A Keyring is safe for concurrent use; its zero value, like
// NewKeyring(""), has no key and stores secrets as they are.
type Keyring struct {
	current *sealKey   // nil: secrets are stored as they are
	keys    []*sealKey // every key that opens, current first
}

// sealKey is one key of a keyring.
type sealKey struct {
	id   string // keyID
	aead cipher.AEAD
}

// KeyFormat says what a key must be, for messages.
const KeyFormat = "32 bytes, written as 64 hexadecimal characters or in base64 (openssl rand -hex 32 makes one)"

// errKeyFormat refuses a key; it never holds the key.
var errKeyFormat = errors.New("must be " + KeyFormat)

// NewKeyring returns a keyring that seals with current ("" for none: the
// secrets are then stored as they are) and opens what current or any of
// old sealed. Each key is 32 bytes, as 64 hexadecimal characters or in
// base64 (standard or URL alphabet, padded or not). The error of a key in
// another form says which key it is ("the key" or "old key N of M"),
// never what it holds.
func NewKeyring(current string, old ...string) (*Keyring, error) {
	k := &Keyring{}
	if current != "" {
		sk, err := newSealKey(current)
		if err != nil {
			return nil, fmt.Errorf("the key %w", err)
		}
		k.current, k.keys = sk, []*sealKey{sk}
	}
	for i, o := range old {
		sk, err := newSealKey(o)
		if err != nil {
			return nil, fmt.Errorf("old key %d of %d %w", i+1, len(old), err)
		}
		if !k.has(sk.id) {
			k.keys = append(k.keys, sk)
		}
	}
	return k, nil
}

// newSealKey parses a key.
func newSealKey(s string) (*sealKey, error) {
	s = strings.TrimSpace(s)
	raw, err := hex.DecodeString(s)
	if err != nil || len(s) != 64 {
		raw, err = decodeBase64(s)
	}
	if err != nil || len(raw) != 32 {
		return nil, errKeyFormat
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealKey{id: keyID(raw), aead: aead}, nil
}

// decodeBase64 decodes s in any of the usual base64 alphabets and
// paddings.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	return nil, errKeyFormat
}

// keyID names a key in what it seals: the first 4 bytes of the SHA-256 of
// "tourd webhook secret key " and the key, in hexadecimal. It tells the
// keys of a keyring apart without revealing them.
func keyID(raw []byte) string {
	sum := sha256.Sum256(append([]byte("tourd webhook secret key "), raw...))
	return hex.EncodeToString(sum[:4])
}

func (k *Keyring) has(id string) bool {
	for _, sk := range k.keys {
		if sk.id == id {
			return true
		}
	}
	return false
}

// Encrypts reports whether the keyring seals secrets with a key (a nil
// Keyring does not).
func (k *Keyring) Encrypts() bool { return k != nil && k.current != nil }

// Seal returns the form of secret to store: sealed with the current key,
// or secret itself when there is none.
func (k *Keyring) Seal(secret string) string {
	if k.current == nil {
		return secret
	}
	aead := k.current.aead
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	rand.Read(nonce) // never fails
	sealed := aead.Seal(nonce, nonce, []byte(secret), nil)
	return sealedPrefix + k.current.id + ":" + base64.RawURLEncoding.EncodeToString(sealed)
}

// Open returns the secret a stored form holds: the stored form itself when
// it was stored as it was (whatever keys the keyring has now), else the
// secret a key of the keyring sealed, or "" when none of its keys can open
// it (the key that sealed it is gone, or the stored form is damaged).
func (k *Keyring) Open(stored string) string {
	rest, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored
	}
	id, payload, _ := strings.Cut(rest, ":")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	for _, sk := range k.keys {
		if sk.id != id || len(raw) < sk.aead.NonceSize() {
			continue
		}
		n := sk.aead.NonceSize()
		if secret, err := sk.aead.Open(nil, raw[:n], raw[n:], nil); err == nil {
			return string(secret)
		}
	}
	return ""
}
