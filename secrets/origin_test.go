package secrets

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
)

// newListener is a loopback Codefresh (the simulator, accepting the
// canary); its KeyCount says how many requests it got and how many carried
// the key.
func newListener(t *testing.T) (*cfsim.Server, string) {
	t.Helper()
	sim := cfsim.New(cfsim.Config{Seed: 3, Pipelines: 2, Builds: 4, APIKey: canary})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL + "/api"
}

// trustOpts is testOpts with a trust file folder of the test's own.
func trustOpts(t *testing.T, vars map[string]string) Options {
	o := testOpts(t, vars)
	o.ConfigDir = t.TempDir()
	return o
}

func yes(*TrustResult) error { return nil }

// A keyring entry is looked up under the URL asked for: the key stored for
// the default URL is not found for another one (nothing sent), and a key
// stored for the asked URL belongs there.
func TestProjectURLWithKeyring(t *testing.T) {
	o := trustOpts(t, map[string]string{})
	sim, lurl := newListener(t)
	if err := keyring.Set(KeyringService, DefaultBaseURL, canary); err != nil {
		t.Fatal(err)
	}
	o.ProjectBaseURL = lurl
	if _, err := Resolve(context.Background(), o); !errors.As(err, new(*NoKeyError)) {
		t.Fatalf("keyring key for the default URL, project asks another: %v", err)
	}
	if err := keyring.Set(KeyringService, lurl, canary); err != nil {
		t.Fatal(err)
	}
	c, err := Resolve(context.Background(), o)
	if err != nil || c.BaseURL != lurl || c.BaseURLSource != SourcePipelineFile || c.Source != SourceKeyring {
		t.Fatalf("key stored for the asked URL: %v %+v", err, c)
	}
	if want := "same origin as the key's URL " + lurl + " (the keyring entry's user)"; c.BaseURLReason != want {
		t.Fatalf("reason %q, want %q", c.BaseURLReason, want)
	}
	if all, _ := sim.KeyCount(); all != 0 {
		t.Fatal("Resolve sent a request")
	}
}

// The owner's URL (flag or environment) wins over a project file's, which
// is then ignored with a warning; a .dlt/secrets.toml base_url binds only
// the key in that file.
func TestOwnerURLAndSecretsTOMLURL(t *testing.T) {
	vars := map[string]string{EnvAPIKey: canary, EnvBaseURL: "https://owner.example.com/api"}
	o := trustOpts(t, vars)
	o.ProjectBaseURL = "https://elsewhere.example.com/api"
	c, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://owner.example.com/api" || c.BaseURLSource != "env:CODEFRESH_BASE_URL" || c.BaseURLReason != "set by env:CODEFRESH_BASE_URL" {
		t.Fatalf("got %+v", c)
	}
	want := "codefresh_pipeline.toml base_url https://elsewhere.example.com/api ignored: env:CODEFRESH_BASE_URL sets https://owner.example.com/api"
	if len(c.Warnings) != 1 || c.Warnings[0] != want {
		t.Fatalf("warnings %q", c.Warnings)
	}

	// A secrets.toml base_url does not move the env key.
	delete(vars, EnvBaseURL)
	o.ProjectBaseURL = ""
	writeSecrets(t, o, "[sources.codefresh_source]\nbase_url = \"https://toml.example.com/api\"\n")
	_, err = Resolve(context.Background(), o)
	var ue *UntrustedURLError
	if !errors.As(err, &ue) || ue.URLSource != SourceSecretsTOML || ue.URL != "https://toml.example.com/api" || ue.KeyURL != DefaultBaseURL {
		t.Fatalf("secrets.toml URL for the env key: %v", err)
	}
	// ... but does go with the key beside it.
	delete(vars, EnvAPIKey)
	writeSecrets(t, o, "[sources.codefresh_source]\nbase_url = \"https://toml.example.com/api\"\napi_key = \""+canary+"\"\n")
	c, err = Resolve(context.Background(), o)
	if err != nil || c.BaseURL != "https://toml.example.com/api" || c.BaseURLSource != SourceSecretsTOML {
		t.Fatalf("secrets.toml pair: %v %+v", err, c)
	}
}

// URLs that must never get the key are refused with the source named,
// from the flag, the environment and a project file alike; the owner may
// allow a link-local address with CODEFRESH_ALLOW_LINK_LOCAL=1.
func TestResolveRefusesDangerousURLs(t *testing.T) {
	cases := []struct {
		where func(o *Options, vars map[string]string, u string)
		url   string
		want  string
	}{
		{func(o *Options, _ map[string]string, u string) { o.BaseURL = u }, "file:///etc/passwd",
			`--base-url: base URL file:… refused: scheme "file": only http and https are allowed`},
		{func(o *Options, _ map[string]string, u string) { o.ProjectBaseURL = u }, "https://me:pw@example.com/api",
			"codefresh_pipeline.toml base_url: base URL https://example.com/api refused: it carries a user name or password; the API key goes in the Authorization header only"},
		{func(o *Options, _ map[string]string, u string) { o.BaseURL = u }, "http://169.254.169.254/api",
			"flag:--base-url: base URL http://169.254.169.254/api refused: 169.254.169.254 is a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"},
		{func(_ *Options, vars map[string]string, u string) { vars[EnvBaseURL] = u }, "http://[fd00:ec2::254]/api",
			"env:CODEFRESH_BASE_URL: base URL http://[fd00:ec2::254]/api refused: fd00:ec2::254 is a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"},
	}
	for _, tc := range cases {
		vars := map[string]string{EnvAPIKey: canary}
		o := trustOpts(t, vars)
		tc.where(&o, vars, tc.url)
		_, err := Resolve(context.Background(), o)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.url, err, tc.want)
		}
	}
	vars := map[string]string{EnvAPIKey: canary, "CODEFRESH_ALLOW_LINK_LOCAL": "1"}
	o := trustOpts(t, vars)
	o.BaseURL = "http://169.254.169.254/api"
	c, err := Resolve(context.Background(), o)
	if err != nil || !c.AllowLinkLocal() {
		t.Fatalf("allowed link-local: %v", err)
	}
}

// The trust file is outside the project, written 0600; trust for one
// project does not carry over to another; a broken trust file fails closed.
func TestTrustFile(t *testing.T) {
	vars := map[string]string{EnvAPIKey: canary}
	o := trustOpts(t, vars)
	o.ProjectBaseURL = "https://other.example.com/api"
	res, err := Trust(context.Background(), o, "https://OTHER.example.com:443/api/", yes)
	if err != nil {
		t.Fatal(err)
	}
	if res.Origin != "https://other.example.com:443" || res.Path != filepath.Join(o.ConfigDir, "trusted-origins.json") {
		t.Fatalf("trust %+v", res)
	}
	fi, err := os.Stat(res.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("trust file: %v %v", err, fi.Mode())
	}
	b, _ := os.ReadFile(res.Path)
	if strings.Contains(string(b), canary) {
		t.Fatal("trust file holds the key")
	}
	if _, err := Resolve(context.Background(), o); err != nil {
		t.Fatalf("trusted: %v", err)
	}
	// Another project with the same pipeline file is not trusted.
	o2 := o
	o2.ProjectDir = t.TempDir()
	if _, err := Resolve(context.Background(), o2); !errors.As(err, new(*UntrustedURLError)) {
		t.Fatalf("other project: %v", err)
	}
	// A refused confirmation writes nothing.
	if _, err := Trust(context.Background(), o2, o.ProjectBaseURL, func(*TrustResult) error { return errors.New("no") }); err == nil || err.Error() != "no" {
		t.Fatalf("refused confirmation: %v", err)
	}
	if _, err := Resolve(context.Background(), o2); !errors.As(err, new(*UntrustedURLError)) {
		t.Fatalf("after refused confirmation: %v", err)
	}
	// Trusting the key's own origin records nothing.
	own, err := Trust(context.Background(), o, DefaultBaseURL, yes)
	if err != nil || own.AlreadyAllowed == "" {
		t.Fatalf("own origin: %v %+v", err, own)
	}
	if err := os.WriteFile(res.Path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(context.Background(), o); err == nil || !strings.Contains(err.Error(), "is not valid JSON") {
		t.Fatalf("broken trust file: %v", err)
	}
}

// `secrets set` stores a key for the owner's URL, never for a URL a project
// file names, and writes that URL beside a key kept in .dlt/secrets.toml.
func TestStoreIgnoresProjectURLs(t *testing.T) {
	o := trustOpts(t, map[string]string{})
	o.ProjectBaseURL = "https://pipeline.example.com/api"
	writeSecrets(t, o, "[sources.codefresh_source]\nbase_url = \"https://shipped.example.com/api\"\n")
	res, err := Store(context.Background(), o, canary)
	if err != nil {
		t.Fatal(err)
	}
	if res.BaseURL != DefaultBaseURL || res.BaseURLSource != SourceDefault {
		t.Fatalf("stored for %s (%s)", res.BaseURL, res.BaseURLSource)
	}
	keyring.MockInitWithError(errors.New("no keyring"))
	o.ProjectBaseURL = ""
	if _, err := Store(context.Background(), o, canary); err != nil {
		t.Fatal(err)
	}
	_, tree := readSecretsTree(t, o)
	if got := subTable(tree, false)["base_url"]; got != DefaultBaseURL {
		t.Fatalf("secrets.toml base_url = %v, want the owner's %s", got, DefaultBaseURL)
	}
}
