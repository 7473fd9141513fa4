package secrets

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/zalando/go-keyring"
)

const otherContent = `# dlt secrets
[destination.postgres.credentials]
password = "pg-pass" # keep me

[sources.codefresh_source]
# the Codefresh key
api_key = "old-key-value"
page_size = 50

[sources.other]
token = "x"
`

func readSecretsTree(t *testing.T, o Options) (string, map[string]any) {
	t.Helper()
	path := SecretsTOMLPath(o.ProjectDir)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tree := map[string]any{}
	if _, err := toml.Decode(string(data), &tree); err != nil {
		t.Fatalf("written file does not parse: %v\n%s", err, data)
	}
	return string(data), tree
}

func TestStoreKeyring(t *testing.T) {
	o := testOpts(t, map[string]string{})
	o.BaseURL = "https://onprem.example.com/api"
	res, err := Store(context.Background(), o, canary)
	if err != nil {
		t.Fatal(err)
	}
	if res.Where != StoredKeyring || res.BaseURL != o.BaseURL || res.Fingerprint != Fingerprint(canary) {
		t.Fatalf("got %+v", res)
	}
	if v, err := keyring.Get(KeyringService, o.BaseURL); err != nil || v != canary {
		t.Fatalf("keyring holds ok=%v err=%v", v == canary, err)
	}
	if _, err := os.Stat(SecretsTOMLPath(o.ProjectDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("no file must be written when the keyring works")
	}
	c, err := Resolve(context.Background(), o)
	if err != nil || c.Source != SourceKeyring {
		t.Fatalf("resolve after store: %v %v", c, err)
	}

	d, err := Delete(context.Background(), o, DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Places[0].Status != StatusDeleted || d.Places[1].Status != StatusSkipped {
		t.Fatalf("delete %+v", d)
	}
	if _, err := keyring.Get(KeyringService, o.BaseURL); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("entry still there: %v", err)
	}
	d, err = Delete(context.Background(), o, DeleteOptions{})
	if err != nil || d.Places[0].Status != StatusNotFound {
		t.Fatalf("second delete %+v %v", d, err)
	}
}

func TestStoreFallsBackToSecretsTOML(t *testing.T) {
	o := testOpts(t, map[string]string{})
	keyring.MockInitWithError(errors.New("no secret service"))
	writeFile(t, SecretsTOMLPath(o.ProjectDir), otherContent, 0o644)
	o.BaseURL = "https://onprem.example.com/api"

	res, err := Store(context.Background(), o, canary)
	if err != nil {
		t.Fatal(err)
	}
	if res.Where != StoredSecretsTOML || res.Path != SecretsTOMLPath(o.ProjectDir) || res.KeyringReason != "no secret service" {
		t.Fatalf("got %+v", res)
	}
	text, tree := readSecretsTree(t, o)
	// Comments and every other value survive; the key is replaced in place
	// and base_url (given by flag) is added to the same table.
	for _, want := range []string{"# dlt secrets", `password = "pg-pass" # keep me`, "# the Codefresh key",
		`api_key = "` + canary + `"`, "page_size = 50", `base_url = "https://onprem.example.com/api"`, `token = "x"`} {
		if !strings.Contains(text, want) {
			t.Errorf("file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "old-key-value") {
		t.Error("old key still present")
	}
	cf := subTable(tree, false)
	if cf["api_key"] != canary || cf["page_size"] != int64(50) {
		t.Fatalf("table %v", cf)
	}

	c, err := Resolve(context.Background(), Options{ProjectDir: o.ProjectDir, HomeDir: o.HomeDir, Env: o.Env})
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != SourceSecretsTOML || c.APIKey() != canary || c.BaseURL != "https://onprem.example.com/api" {
		t.Fatalf("resolve: %v", c)
	}

	// delete --secrets-toml removes only the api_key line.
	d, err := Delete(context.Background(), o, DeleteOptions{SecretsTOML: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Places[0].Status != StatusUnavailable || d.Places[1].Status != StatusDeleted {
		t.Fatalf("delete %+v", d)
	}
	text, tree = readSecretsTree(t, o)
	if strings.Contains(text, canary) || !strings.Contains(text, "# the Codefresh key") || !strings.Contains(text, "page_size = 50") {
		t.Fatalf("after delete:\n%s", text)
	}
	if _, ok := subTable(tree, false)["api_key"]; ok {
		t.Fatal("api_key still there")
	}
	removed, err := RemoveSecretsTOMLKey(o.ProjectDir)
	if err != nil || removed {
		t.Fatalf("second remove: %v %v", removed, err)
	}
}

func TestWriteSecretsTOMLLayouts(t *testing.T) {
	cases := []struct{ name, content string }{
		{"no file", ""},
		{"no table", "[other]\na = 1"},
		{"dotted keys at top level", "sources.codefresh_source.api_key = \"old-key-value\"\nsources.codefresh_source.page_size = 5\n"},
		{"inline table", "sources = { codefresh_source = { api_key = \"old-key-value\" } }\n"},
		{"spaced header with comment", "[ sources.codefresh_source ] # cf\napi_key=\"old-key-value\"\n\n[x]\ny = 2\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := testOpts(t, map[string]string{})
			before := map[string]any{}
			if tc.content != "" {
				writeSecrets(t, o, tc.content)
				if _, err := toml.Decode(tc.content, &before); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := WriteSecretsTOML(o.ProjectDir, canary, ""); err != nil {
				t.Fatal(err)
			}
			_, tree := readSecretsTree(t, o)
			want := cloneTree(before)
			subTable(want, true)["api_key"] = canary
			if !equalTrees(tree, want) {
				t.Fatalf("got %v, want %v", tree, want)
			}
		})
	}
}

func equalTrees(a, b map[string]any) bool {
	var sa, sb strings.Builder
	_ = toml.NewEncoder(&sa).Encode(a)
	_ = toml.NewEncoder(&sb).Encode(b)
	return sa.String() == sb.String()
}

func TestWriteSecretsTOMLRefusesBrokenFile(t *testing.T) {
	o := testOpts(t, map[string]string{})
	broken := "[sources.codefresh_source\napi_key = \"x\"\n"
	writeSecrets(t, o, broken)
	_, err := WriteSecretsTOML(o.ProjectDir, canary, "")
	if err == nil || !strings.Contains(err.Error(), "left unchanged") || strings.Contains(err.Error(), canary) {
		t.Fatalf("err %v", err)
	}
	if data, _ := os.ReadFile(SecretsTOMLPath(o.ProjectDir)); string(data) != broken {
		t.Fatal("broken file was modified")
	}
}

func TestValidateKey(t *testing.T) {
	for _, k := range []string{"", "short", canary + " x", canary + "\x00", canary + "é", strings.Repeat("a", 5000)} {
		err := ValidateKey(k)
		if err == nil {
			t.Errorf("%q accepted", k)
			continue
		}
		if len(k) >= minSecretLen && strings.Contains(err.Error(), k) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
	if err := ValidateKey("6650c0d1e2f3a40516273901.0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	o := testOpts(t, map[string]string{})
	if _, err := Store(context.Background(), o, "bad key"); err == nil {
		t.Fatal("Store accepted an invalid key")
	}
}
