package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// fingerprintKey is fixed and public: the fingerprint only has to be stable
// across runs and machines, and being keyed to this app it cannot be matched
// against plain SHA-256 tables of leaked keys.
var fingerprintKey = []byte("codefresh-mcp/key-fingerprint/v1")

// Fingerprint names a key without revealing it: the first 8 hex digits of
// HMAC-SHA256(fingerprintKey, key). 32 bits tell keys apart and give an
// attacker nothing usable about a high-entropy key. Empty for an empty key.
func Fingerprint(key string) string {
	if key == "" {
		return ""
	}
	m := hmac.New(sha256.New, fingerprintKey)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))[:8]
}
