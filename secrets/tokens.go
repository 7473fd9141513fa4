package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Bearer tokens let HTTP clients reach `serve --http`. The file holds only
// their SHA-256 digests: a token is shown once, when it is created, and
// whoever reads the file cannot use what it holds. A token has 256 random
// bits, so a plain digest resists guessing as well as a slow hash would.
const (
	tokensFileName = "http-tokens.json"
	// TokenPrefix starts every token, so that scanners and people recognize one.
	TokenPrefix  = "cfmcp_"
	maxTokenName = 100
)

// TokenInfo is what may be shown of a token: never the token or its digest.
type TokenInfo struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

type tokenEntry struct {
	TokenInfo
	SHA256 string `json:"sha256"` // hex digest of the token
}

type tokenFile struct {
	Tokens []tokenEntry `json:"tokens"`
}

// ErrNoToken is returned by RevokeToken for an unknown id.
var ErrNoToken = errors.New("no such token")

// TokensPath is the token file: in the user's configuration folder beside
// the trust file (see TrustPath), outside every project.
func TokensPath(opts Options) (string, error) {
	dir, err := configDir(opts)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, tokensFileName), nil
}

// CreateToken makes a new token named name and records its digest. The
// token is returned once: nothing keeps it.
func CreateToken(opts Options, name string) (token string, info TokenInfo, err error) {
	if err := checkTokenName(name); err != nil {
		return "", TokenInfo{}, err
	}
	path, err := TokensPath(opts)
	if err != nil {
		return "", TokenInfo{}, err
	}
	secret := make([]byte, 32)
	idBytes := make([]byte, 4)
	if _, err := rand.Read(secret); err != nil {
		return "", TokenInfo{}, fmt.Errorf("token: %w", err)
	}
	if _, err := rand.Read(idBytes); err != nil {
		return "", TokenInfo{}, fmt.Errorf("token id: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	info = TokenInfo{ID: "tok_" + hex.EncodeToString(idBytes), Name: name, Created: time.Now().UTC().Truncate(time.Second)}
	err = editTokens(path, func(tf *tokenFile) error {
		tf.Tokens = append(tf.Tokens, tokenEntry{TokenInfo: info, SHA256: tokenDigest(token)})
		return nil
	})
	if err != nil {
		return "", TokenInfo{}, err
	}
	return token, info, nil
}

// ListTokens returns every recorded token, oldest first.
func ListTokens(opts Options) ([]TokenInfo, error) {
	path, err := TokensPath(opts)
	if err != nil {
		return nil, err
	}
	tf, err := readTokens(path)
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(tf.Tokens))
	for _, t := range tf.Tokens {
		out = append(out, t.TokenInfo)
	}
	return out, nil
}

// RevokeToken forgets the token with id: a running server refuses it from
// its next request on.
func RevokeToken(opts Options, id string) (TokenInfo, error) {
	path, err := TokensPath(opts)
	if err != nil {
		return TokenInfo{}, err
	}
	var revoked TokenInfo
	err = editTokens(path, func(tf *tokenFile) error {
		i := slices.IndexFunc(tf.Tokens, func(t tokenEntry) bool { return t.ID == id })
		if i < 0 {
			return fmt.Errorf("%w %q in %s", ErrNoToken, id, path)
		}
		revoked = tf.Tokens[i].TokenInfo
		tf.Tokens = slices.Delete(tf.Tokens, i, i+1)
		return nil
	})
	return revoked, err
}

func checkTokenName(name string) error {
	if len(name) > maxTokenName {
		return fmt.Errorf("token name is %d bytes long, more than %d", len(name), maxTokenName)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
		return fmt.Errorf("token name has an unprintable character at byte %d", i)
	}
	return nil
}

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func readTokens(path string) (tokenFile, error) {
	var tf tokenFile
	if err := readConfigJSON(path, &tf); err != nil {
		return tf, err
	}
	for _, t := range tf.Tokens {
		if d, err := hex.DecodeString(t.SHA256); err != nil || len(d) != sha256.Size {
			return tf, fmt.Errorf("%s: token %q has no valid sha256: fix or delete it", path, t.ID)
		}
	}
	return tf, nil
}

// editTokens rewrites the token file (mode 0600, folder 0700, replaced
// atomically) with edit applied; an error from edit writes nothing.
func editTokens(path string, edit func(*tokenFile) error) error {
	tf, err := readTokens(path)
	if err != nil {
		return err
	}
	if err := edit(&tf); err != nil {
		return err
	}
	return writeConfigJSON(path, tf)
}

// TokenVerifier checks bearer tokens against the token file, read again
// whenever it changes, so that a token revoked while a server runs is
// refused from the next request on.
type TokenVerifier struct {
	path string

	mu      sync.Mutex
	stat    os.FileInfo // of the file the digests were read from; nil: none read
	entries []verifiedEntry
}

type verifiedEntry struct {
	info   TokenInfo
	digest []byte
}

// NewTokenVerifier returns a verifier of the token file opts names.
func NewTokenVerifier(opts Options) (*TokenVerifier, error) {
	path, err := TokensPath(opts)
	if err != nil {
		return nil, err
	}
	return &TokenVerifier{path: path}, nil
}

// Path is the token file the verifier reads.
func (v *TokenVerifier) Path() string { return v.path }

// Count is how many tokens the file holds now.
func (v *TokenVerifier) Count() (int, error) {
	entries, err := v.current()
	return len(entries), err
}

// Verify returns the token's info when token is one of the file's. Every
// digest is compared, in constant time, whatever matched: the time taken
// says nothing of the tokens. An unreadable file is an error (refuse all).
func (v *TokenVerifier) Verify(token string) (TokenInfo, bool, error) {
	entries, err := v.current()
	if err != nil {
		return TokenInfo{}, false, err
	}
	sum := sha256.Sum256([]byte(token))
	var found TokenInfo
	match := 0
	for _, e := range entries {
		if subtle.ConstantTimeCompare(sum[:], e.digest) == 1 {
			found, match = e.info, 1
		}
	}
	return found, match == 1, nil
}

// current returns the file's digests, reading it again when it was replaced or changed.
func (v *TokenVerifier) current() ([]verifiedEntry, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st, err := os.Stat(v.path)
	if errors.Is(err, os.ErrNotExist) {
		v.stat, v.entries = nil, nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	if v.stat != nil && os.SameFile(v.stat, st) && v.stat.ModTime().Equal(st.ModTime()) && v.stat.Size() == st.Size() {
		return v.entries, nil
	}
	tf, err := readTokens(v.path)
	if err != nil {
		return nil, err
	}
	entries := make([]verifiedEntry, 0, len(tf.Tokens))
	for _, t := range tf.Tokens {
		d, _ := hex.DecodeString(t.SHA256) // readTokens checked it
		entries = append(entries, verifiedEntry{info: t.TokenInfo, digest: d})
	}
	v.stat, v.entries = st, entries
	return entries, nil
}
