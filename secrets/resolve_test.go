package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

const (
	canary      = "cfk-CANARY-7f3a9d1e5b"
	otherKey    = "cfk-OTHER-0123456789"
	thirdKey    = "cfk-THIRD-abcdef0123"
	fakeBusAddr = "unix:path=/nonexistent/test-bus" // lets keyringUsable pass; the mock answers
)

// env returns an Options.Env over a map, with a D-Bus address so that the
// mocked keyring is consulted.
func env(m map[string]string) func(string) string {
	return func(k string) string {
		if k == "DBUS_SESSION_BUS_ADDRESS" {
			if v, ok := m[k]; ok {
				return v
			}
			return fakeBusAddr
		}
		return m[k]
	}
}

// testOpts is an isolated world: empty project, empty home, no env.
func testOpts(t *testing.T, vars map[string]string) Options {
	t.Helper()
	keyring.MockInit()
	return Options{ProjectDir: t.TempDir(), HomeDir: t.TempDir(), Env: env(vars)}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func writeSecrets(t *testing.T, o Options, content string) {
	writeFile(t, SecretsTOMLPath(o.ProjectDir), content, 0o600)
}

func writeCFConfig(t *testing.T, o Options, content string) {
	writeFile(t, filepath.Join(o.HomeDir, ".cfconfig"), content, 0o600)
}

const cfconfigFmt = `contexts:
  prod:
    type: APIKey
    name: prod
    url: %s
    token: %s
    beta: false
    onPrem: false
  session:
    type: JWT
    name: session
    url: https://g.codefresh.io
    token: eyJhbGciOiJIUzI1NiJ9.e30.sig
current-context: %s
`

func report(t *testing.T, reports []SourceReport, source string) SourceReport {
	t.Helper()
	for _, r := range reports {
		if r.Source == source {
			return r
		}
	}
	t.Fatalf("no report for %s in %+v", source, reports)
	return SourceReport{}
}

func TestResolveEachSource(t *testing.T) {
	cases := []struct {
		name, source string
		setup        func(t *testing.T, o *Options, vars map[string]string)
	}{
		{"env CF_API_KEY", "env:CF_API_KEY", func(t *testing.T, o *Options, vars map[string]string) {
			vars[EnvAPIKey] = " " + canary + "\n"
		}},
		{"env dlt", "env:SOURCES__CODEFRESH_SOURCE__API_KEY", func(t *testing.T, o *Options, vars map[string]string) {
			vars[EnvDltAPIKey] = canary
		}},
		{"keyring", SourceKeyring, func(t *testing.T, o *Options, vars map[string]string) {
			if err := keyring.Set(KeyringService, DefaultBaseURL, canary); err != nil {
				t.Fatal(err)
			}
		}},
		{"secrets.toml", SourceSecretsTOML, func(t *testing.T, o *Options, vars map[string]string) {
			writeSecrets(t, *o, "[sources.codefresh_source]\napi_key = \""+canary+"\"\n")
		}},
		{"cfconfig", SourceCFConfig, func(t *testing.T, o *Options, vars map[string]string) {
			writeCFConfig(t, *o, fmt.Sprintf(cfconfigFmt, "https://g.codefresh.io", canary, "prod"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{}
			o := testOpts(t, vars)
			tc.setup(t, &o, vars)
			c, err := Resolve(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if c.APIKey() != canary || c.Source != tc.source {
				t.Fatalf("got source %q key ok=%v", c.Source, c.APIKey() == canary)
			}
			if c.Fingerprint != Fingerprint(canary) || c.BaseURL != DefaultBaseURL {
				t.Fatalf("fingerprint %q base %q", c.Fingerprint, c.BaseURL)
			}
			if len(c.Sources) != 5 {
				t.Fatalf("want 5 reports, got %+v", c.Sources)
			}
			for _, r := range c.Sources {
				want := StatusNotFound
				if r.Source == tc.source {
					want = StatusFound
				}
				if r.Status != want {
					t.Errorf("%s: status %s, want %s (%s)", r.Source, r.Status, want, r.Reason)
				}
			}
			if len(c.Warnings) != 0 {
				t.Errorf("unexpected warnings %v", c.Warnings)
			}
			assertNoCanary(t, c)
		})
	}
}

// assertNoCanary checks every printable form of the credentials.
func assertNoCanary(t *testing.T, c *Credentials) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(b), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprintf("%v", *c), fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", *c), fmt.Sprint(c.Warnings)} {
		if strings.Contains(s, canary) {
			t.Fatalf("canary leaked in %q", s)
		}
	}
}

func TestResolvePrecedenceAndDisagreement(t *testing.T) {
	vars := map[string]string{}
	o := testOpts(t, vars)
	vars[EnvAPIKey] = canary
	vars[EnvDltAPIKey] = otherKey
	if err := keyring.Set(KeyringService, DefaultBaseURL, thirdKey); err != nil {
		t.Fatal(err)
	}
	writeSecrets(t, o, "[sources.codefresh_source]\napi_key = \""+canary+"\"\n")
	writeCFConfig(t, o, fmt.Sprintf(cfconfigFmt, "https://g.codefresh.io", otherKey, "prod"))

	order := []string{"env:CF_API_KEY", "env:SOURCES__CODEFRESH_SOURCE__API_KEY", SourceKeyring, SourceSecretsTOML, SourceCFConfig}
	keys := []string{canary, otherKey, thirdKey, canary, otherKey}
	for i := range order {
		c, err := Resolve(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if c.Source != order[i] || c.APIKey() != keys[i] {
			t.Fatalf("step %d: source %s, want %s", i, c.Source, order[i])
		}
		// Every other source holding a different key is named in a warning;
		// sources holding the same key are not.
		for j := i + 1; j < len(order); j++ {
			named := false
			for _, w := range c.Warnings {
				if strings.HasPrefix(w, order[j]+" holds a different key") {
					named = true
				}
			}
			if named != (keys[j] != keys[i]) {
				t.Errorf("step %d: warning about %s = %v, want %v; warnings %v", i, order[j], named, keys[j] != keys[i], c.Warnings)
			}
		}
		for _, w := range c.Warnings {
			for _, k := range []string{canary, otherKey, thirdKey} {
				if strings.Contains(w, k) {
					t.Fatalf("warning carries a key: %q", w)
				}
			}
		}
		// Remove the winner for the next round.
		switch order[i] {
		case "env:CF_API_KEY":
			delete(vars, EnvAPIKey)
		case "env:SOURCES__CODEFRESH_SOURCE__API_KEY":
			delete(vars, EnvDltAPIKey)
		case SourceKeyring:
			if err := keyring.Delete(KeyringService, DefaultBaseURL); err != nil {
				t.Fatal(err)
			}
		case SourceSecretsTOML:
			writeSecrets(t, o, "[sources.codefresh_source]\n")
		}
	}
}

func TestResolveKeyringUnavailable(t *testing.T) {
	t.Run("secret service error", func(t *testing.T) {
		o := testOpts(t, map[string]string{})
		keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
		writeSecrets(t, o, "[sources.codefresh_source]\napi_key = \""+canary+"\"\n")
		c, err := Resolve(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		r := report(t, c.Sources, SourceKeyring)
		if r.Status != StatusUnavailable || !strings.Contains(r.Reason, "org.freedesktop.secrets") {
			t.Fatalf("keyring report %+v", r)
		}
		if c.Source != SourceSecretsTOML {
			t.Fatalf("source %s", c.Source)
		}
	})
	t.Run("no session bus", func(t *testing.T) {
		if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
			t.Skip("this machine has a session bus socket")
		}
		o := testOpts(t, map[string]string{"DBUS_SESSION_BUS_ADDRESS": ""})
		// The mock holds a key, but without a bus the keyring is not asked.
		if err := keyring.Set(KeyringService, DefaultBaseURL, canary); err != nil {
			t.Fatal(err)
		}
		_, err := Resolve(context.Background(), o)
		var nk *NoKeyError
		if !errors.As(err, &nk) {
			t.Fatalf("want NoKeyError, got %v", err)
		}
		r := report(t, nk.Sources, SourceKeyring)
		if r.Status != StatusUnavailable || !strings.Contains(r.Reason, "D-Bus") {
			t.Fatalf("keyring report %+v", r)
		}
	})
}

func TestResolveNoKey(t *testing.T) {
	o := testOpts(t, map[string]string{})
	_, err := Resolve(context.Background(), o)
	var nk *NoKeyError
	if !errors.As(err, &nk) {
		t.Fatalf("want *NoKeyError, got %T %v", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"codefresh-mcp secrets set", "env:CF_API_KEY: not_found", "env:SOURCES__CODEFRESH_SOURCE__API_KEY",
		"keyring: not_found", ".dlt/secrets.toml: not_found (no file)", "~/.cfconfig: not_found (no file)", DefaultBaseURL} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
}

func TestResolveBaseURLPrecedence(t *testing.T) {
	vars := map[string]string{}
	o := testOpts(t, vars)
	o.BaseURL = "https://flag.example.com/api/"
	vars[EnvBaseURL] = "https://env.example.com/api"
	vars[EnvDltBaseURL] = "https://dltenv.example.com/api"
	writeSecrets(t, o, "[sources.codefresh_source]\nbase_url = \"https://toml.example.com/api\"\n")
	writeCFConfig(t, o, fmt.Sprintf(cfconfigFmt, "https://cfconfig.example.com/", canary, "prod"))

	steps := []struct{ url, source string }{
		{"https://flag.example.com/api", SourceFlag},
		{"https://env.example.com/api", "env:CODEFRESH_BASE_URL"},
		{"https://dltenv.example.com/api", "env:SOURCES__CODEFRESH_SOURCE__BASE_URL"},
		// .dlt/secrets.toml's base_url is a project file's: never the owner's URL.
		{"https://cfconfig.example.com/api", SourceCFConfig}, // host-only: /api added
		{DefaultBaseURL, SourceDefault},
	}
	for i, s := range steps {
		u, src, err := ResolveBaseURL(o)
		if err != nil {
			t.Fatal(err)
		}
		if u != s.url || src != s.source {
			t.Fatalf("step %d: got %s from %s, want %s from %s", i, u, src, s.url, s.source)
		}
		switch i {
		case 0:
			o.BaseURL = ""
		case 1:
			delete(vars, EnvBaseURL)
		case 2:
			delete(vars, EnvDltBaseURL)
		case 3:
			writeCFConfig(t, o, "contexts: {}\ncurrent-context: \"\"\n")
		}
	}

	o.BaseURL = "not a url"
	if _, _, err := ResolveBaseURL(o); err == nil || !strings.Contains(err.Error(), "--base-url") {
		t.Fatalf("bad flag: %v", err)
	}
	o.BaseURL = ""
	writeSecrets(t, o, "")
	vars[EnvBaseURL] = "ftp://nope"
	c, err := Resolve(context.Background(), Options{ProjectDir: o.ProjectDir, HomeDir: o.HomeDir, Env: env(map[string]string{EnvBaseURL: "ftp://nope", EnvAPIKey: canary})})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != DefaultBaseURL || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "env:CODEFRESH_BASE_URL ignored") {
		t.Fatalf("base %s warnings %v", c.BaseURL, c.Warnings)
	}
}

func TestKeyringUserIsBaseURL(t *testing.T) {
	o := testOpts(t, map[string]string{})
	if err := keyring.Set(KeyringService, "https://onprem.example.com/api", canary); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(context.Background(), o); err == nil {
		t.Fatal("key for another profile must not be found")
	}
	o.BaseURL = "https://onprem.example.com/api/"
	c, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != SourceKeyring || c.APIKey() != canary {
		t.Fatalf("got %v", c)
	}
}

func TestCFConfigCases(t *testing.T) {
	cases := []struct {
		name, content, status, reason string
	}{
		{"jwt context", fmt.Sprintf(cfconfigFmt, "https://g.codefresh.io", canary, "session"), StatusNotFound, `of type "JWT"`},
		{"unknown current", fmt.Sprintf(cfconfigFmt, "https://g.codefresh.io", canary, "gone"), StatusNotFound, `"gone" is not among`},
		{"no current", "contexts: {}\n", StatusNotFound, "no current-context"},
		{"no token", "contexts:\n  a:\n    type: APIKey\n    url: https://g.codefresh.io\ncurrent-context: a\n", StatusNotFound, "has no token"},
		{"bad yaml quoting the key", "contexts:\n  a: " + canary + "\n   x: [\ncurrent-context: a\n", StatusUnavailable, "not valid YAML"},
		{"wrong shape quoting the key", "contexts:\n  a: " + canary + "\ncurrent-context: a\n", StatusUnavailable, "not valid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := testOpts(t, map[string]string{})
			writeCFConfig(t, o, tc.content)
			_, err := Resolve(context.Background(), o)
			var nk *NoKeyError
			if !errors.As(err, &nk) {
				t.Fatalf("want NoKeyError, got %v", err)
			}
			r := report(t, nk.Sources, SourceCFConfig)
			if r.Status != tc.status || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("report %+v", r)
			}
			if strings.Contains(err.Error(), canary) {
				t.Fatalf("canary in %q", err)
			}
		})
	}

	t.Run("CFCONFIG path and url mismatch warning", func(t *testing.T) {
		vars := map[string]string{}
		o := testOpts(t, vars)
		path := filepath.Join(t.TempDir(), "custom.yaml")
		writeFile(t, path, fmt.Sprintf(cfconfigFmt, "https://onprem.example.com", canary, "prod"), 0o600)
		vars[EnvCFConfig] = path
		vars[EnvBaseURL] = "https://g.codefresh.io/api"
		c, err := Resolve(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if c.Source != SourceCFConfig || !strings.Contains(report(t, c.Sources, SourceCFConfig).Reason, `context "prod"`) {
			t.Fatalf("got %+v", c)
		}
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "https://onprem.example.com/api") {
			t.Fatalf("warnings %v", c.Warnings)
		}
	})
}

func TestSecretsTOMLCases(t *testing.T) {
	t.Run("malformed file quoting the key", func(t *testing.T) {
		o := testOpts(t, map[string]string{})
		writeSecrets(t, o, "[sources.codefresh_source]\napi_key = "+canary+"\n")
		_, err := Resolve(context.Background(), o)
		var nk *NoKeyError
		if !errors.As(err, &nk) {
			t.Fatalf("want NoKeyError, got %v", err)
		}
		r := report(t, nk.Sources, SourceSecretsTOML)
		if r.Status != StatusUnavailable || !strings.Contains(r.Reason, "line 2") || strings.Contains(err.Error(), canary) {
			t.Fatalf("report %+v", r)
		}
	})
	t.Run("base_url and readable warning", func(t *testing.T) {
		o := testOpts(t, map[string]string{})
		writeFile(t, SecretsTOMLPath(o.ProjectDir), "[sources.codefresh_source]\napi_key = \""+canary+"\"\nbase_url = \"https://onprem.example.com/api/\"\n", 0o644)
		c, err := Resolve(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL != "https://onprem.example.com/api" || c.BaseURLSource != SourceSecretsTOML {
			t.Fatalf("base %s from %s", c.BaseURL, c.BaseURLSource)
		}
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "readable by other users") {
			t.Fatalf("warnings %v", c.Warnings)
		}
	})
}

func TestFingerprint(t *testing.T) {
	f := Fingerprint(canary)
	if len(f) != 8 || strings.Trim(f, "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q is not 8 hex digits", f)
	}
	if Fingerprint(canary) != f {
		t.Fatal("not deterministic")
	}
	if Fingerprint(canary+"x") == f || Fingerprint(otherKey) == f {
		t.Fatal("different keys share a fingerprint")
	}
	if Fingerprint("") != "" {
		t.Fatal("empty key has a fingerprint")
	}
	// Nothing of the key shows: no 3-character run of the key, in either case.
	low := strings.ToLower(canary)
	for i := 0; i+3 <= len(low); i++ {
		if strings.Contains(f, low[i:i+3]) {
			t.Fatalf("fingerprint %q contains %q of the key", f, low[i:i+3])
		}
	}
}

func TestStatic(t *testing.T) {
	c := Static(canary, "http://127.0.0.1:1/api", "demo simulator")
	if c.APIKey() != canary || c.Source != "demo simulator" || c.Fingerprint != Fingerprint(canary) ||
		c.BaseURL != "http://127.0.0.1:1/api" || len(c.Sources) != 1 || c.Sources[0].Status != StatusFound {
		t.Fatalf("got %v", c)
	}
	assertNoCanary(t, c)
}
