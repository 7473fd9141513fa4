package secrets

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokensCreateVerifyRevoke(t *testing.T) {
	opts := Options{ConfigDir: filepath.Join(t.TempDir(), "cfg")}
	v, err := NewTokenVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := v.Count(); err != nil || n != 0 {
		t.Fatalf("count before any token = %d, %v", n, err)
	}
	alice, ai, err := CreateToken(opts, "alice laptop")
	if err != nil {
		t.Fatal(err)
	}
	bob, bi, err := CreateToken(opts, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(alice, TokenPrefix) || len(alice) != len(TokenPrefix)+43 || alice == bob {
		t.Fatalf("tokens %q and %q", alice, bob)
	}
	if !strings.HasPrefix(ai.ID, "tok_") || len(ai.ID) != 12 || ai.ID == bi.ID || ai.Name != "alice laptop" || ai.Created.IsZero() {
		t.Fatalf("infos %+v %+v", ai, bi)
	}

	path, _ := TokensPath(opts)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Fatalf("config folder mode %v, want 0700", dst.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	sum := sha256.Sum256([]byte(alice))
	if strings.Contains(string(raw), alice) || strings.Contains(string(raw), alice[len(TokenPrefix):]) ||
		!strings.Contains(string(raw), hex.EncodeToString(sum[:])) {
		t.Fatalf("token file holds the token, or not its digest:\n%s", raw)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}

	list, err := ListTokens(opts)
	if err != nil || len(list) != 2 || list[0] != ai || list[1] != bi {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, tc := range []struct {
		token string
		want  string // id, or "" for refused
	}{
		{alice, ai.ID}, {bob, bi.ID}, {"", ""}, {alice[:len(alice)-1], ""}, {alice + "x", ""},
		{strings.ToUpper(alice), ""}, {hex.EncodeToString(sum[:]), ""},
	} {
		got, ok, err := v.Verify(tc.token)
		if err != nil || ok != (tc.want != "") || got.ID != tc.want {
			t.Errorf("Verify(%.12q...) = %+v, %v, %v; want id %q", tc.token, got, ok, err, tc.want)
		}
	}

	// Revoked while the verifier is in use: refused from the next call on.
	got, err := RevokeToken(opts, ai.ID)
	if err != nil || got != ai {
		t.Fatalf("revoke = %+v, %v", got, err)
	}
	if _, ok, err := v.Verify(alice); ok || err != nil {
		t.Fatalf("revoked token verified: %v, %v", ok, err)
	}
	if _, ok, _ := v.Verify(bob); !ok {
		t.Fatal("bob's token no longer verifies after alice's was revoked")
	}
	if _, err := RevokeToken(opts, ai.ID); !errors.Is(err, ErrNoToken) {
		t.Fatalf("second revoke = %v, want ErrNoToken", err)
	}
	if list, _ := ListTokens(opts); len(list) != 1 || list[0] != bi {
		t.Fatalf("list after revoke = %+v", list)
	}
}

func TestTokensRefuseAllWhenTheFileIsDamaged(t *testing.T) {
	opts := Options{ConfigDir: t.TempDir()}
	tok, _, err := CreateToken(opts, "x")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewTokenVerifier(opts)
	if _, ok, _ := v.Verify(tok); !ok {
		t.Fatal("token does not verify")
	}
	path, _ := TokensPath(opts)
	if err := os.WriteFile(path, []byte(`{"tokens":[{"id":"tok_1","sha256":"zz"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ok, err := v.Verify(tok)
	if ok || err == nil || !strings.Contains(err.Error(), `token "tok_1" has no valid sha256`) {
		t.Fatalf("damaged file: ok %v, err %v", ok, err)
	}
	if _, _, err := CreateToken(opts, "y"); err == nil {
		t.Fatal("create over a damaged file succeeded")
	}
}

func TestTokenNameChecked(t *testing.T) {
	opts := Options{ConfigDir: t.TempDir()}
	for _, name := range []string{"a\nb", "tab\there", strings.Repeat("n", 101)} {
		if _, _, err := CreateToken(opts, name); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if list, _ := ListTokens(opts); len(list) != 0 {
		t.Fatalf("refused names recorded: %+v", list)
	}
}
