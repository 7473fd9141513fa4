package credcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// canary is a key the tests watch for: it must never leave the Authorization header.
const canary = "cfk-CANARY-7f3a9d1e5b"

// newKeyListener is a loopback Codefresh (the simulator, accepting the
// canary); its KeyCount says how many requests it got and how many carried
// the key.
func newKeyListener(t *testing.T) (*cfsim.Server, string) {
	t.Helper()
	sim := cfsim.New(cfsim.Config{Seed: 3, Pipelines: 2, Builds: 4, APIKey: canary})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL + "/api"
}

// secretsWorld is an isolated world for secrets.Resolve: empty project,
// empty home, its own trust folder, the environment in vars (with a D-Bus
// address so that the mocked keyring is consulted).
func secretsWorld(t *testing.T, vars map[string]string) secrets.Options {
	t.Helper()
	keyring.MockInit()
	env := func(k string) string {
		if k == "DBUS_SESSION_BUS_ADDRESS" {
			if v, ok := vars[k]; ok {
				return v
			}
			return "unix:path=/nonexistent/test-bus"
		}
		return vars[k]
	}
	return secrets.Options{ProjectDir: t.TempDir(), HomeDir: t.TempDir(), ConfigDir: t.TempDir(), Env: env}
}

func writeFile0600(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeSecretsTOML(t *testing.T, o secrets.Options, content string) {
	writeFile0600(t, secrets.SecretsTOMLPath(o.ProjectDir), content)
}

func writeCFConfig(t *testing.T, o secrets.Options, content string) {
	writeFile0600(t, filepath.Join(o.HomeDir, ".cfconfig"), content)
}

const cfconfigFmt = `contexts:
  prod:
    type: APIKey
    name: prod
    url: %s
    token: %s
current-context: %s
`

func trustYes(*secrets.TrustResult) error { return nil }

// quickCheck sends GET /user and GET /auth/keys only.
var quickCheck = Options{RetryBaseWait: time.Millisecond, SkipMatrix: true}

// For every key source, a pipeline file naming another listener gets no
// request at all, and the refusal names the key's source, its own URL and
// why; once the user trusts the origin for the key and project, it is used.
func TestProjectURLRefusedForEachKeySource(t *testing.T) {
	cases := []struct {
		name, source, keyURL, why string
		setup                     func(t *testing.T, o secrets.Options, vars map[string]string)
	}{
		{"env", "env:CF_API_KEY", secrets.DefaultBaseURL, "default: no CODEFRESH_BASE_URL is set beside the key", func(t *testing.T, o secrets.Options, vars map[string]string) {
			vars[secrets.EnvAPIKey] = canary
		}},
		{"env dlt", "env:SOURCES__CODEFRESH_SOURCE__API_KEY", secrets.DefaultBaseURL, "default: no CODEFRESH_BASE_URL is set beside the key", func(t *testing.T, o secrets.Options, vars map[string]string) {
			vars[secrets.EnvDltAPIKey] = canary
		}},
		{"secrets.toml", secrets.SourceSecretsTOML, "https://onprem.example.com/api", "stored with the key in .dlt/secrets.toml", func(t *testing.T, o secrets.Options, vars map[string]string) {
			writeSecretsTOML(t, o, "[sources.codefresh_source]\napi_key = \""+canary+"\"\nbase_url = \"https://onprem.example.com/api/\"\n")
		}},
		{"secrets.toml without url", secrets.SourceSecretsTOML, secrets.DefaultBaseURL, "default: no URL is stored with the key in .dlt/secrets.toml", func(t *testing.T, o secrets.Options, vars map[string]string) {
			writeSecretsTOML(t, o, "[sources.codefresh_source]\napi_key = \""+canary+"\"\n")
		}},
		{"cfconfig", secrets.SourceCFConfig, "https://g.codefresh.io/api", "stored with the key in ~/.cfconfig", func(t *testing.T, o secrets.Options, vars map[string]string) {
			writeCFConfig(t, o, fmt.Sprintf(cfconfigFmt, "https://g.codefresh.io", canary, "prod"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{}
			o := secretsWorld(t, vars)
			tc.setup(t, o, vars)
			sim, lurl := newKeyListener(t)
			o.ProjectBaseURL = lurl + "/"

			res, creds, err := ResolveAndCheck(context.Background(), o, quickCheck)
			if err != nil || creds != nil {
				t.Fatalf("err %v, creds %v", err, creds)
			}
			fp := secrets.Fingerprint(canary)
			wantMsg := fmt.Sprintf("refused to send the API key from %s (fingerprint %s) to %s, which codefresh_pipeline.toml base_url asks for: "+
				"the key belongs to %s (%s), another origin; nothing was sent", tc.source, fp, lurl, tc.keyURL, tc.why)
			if res.Status != CheckUntrustedURL || res.Message != wantMsg || res.BaseURL != lurl || res.BaseURLSource != secrets.SourcePipelineFile ||
				res.Source != tc.source || res.Fingerprint != fp {
				t.Fatalf("result %+v\nwant message %s", res, wantMsg)
			}
			wantCmd := "codefresh-mcp --project " + o.ProjectDir + " secrets trust-url " + lurl
			if res.TrustCommand != wantCmd {
				t.Fatalf("trust command %q, want %q", res.TrustCommand, wantCmd)
			}
			if n, _ := sim.KeyCount(); n != 0 {
				t.Fatalf("the untrusted listener got %d requests", n)
			}
			_, err = secrets.Resolve(context.Background(), o)
			var ue *secrets.UntrustedURLError
			if !errors.As(err, &ue) || ue.Error() != wantMsg {
				t.Fatalf("Resolve: %v", err)
			}

			// The user trusts it outside the project: the key goes there.
			tr, err := secrets.Trust(context.Background(), o, lurl, trustYes)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Fingerprint != fp || tr.KeySource != tc.source || tr.Origin != strings.TrimSuffix(lurl, "/api") || tr.AlreadyAllowed != "" {
				t.Fatalf("trust %+v", tr)
			}
			res, _, err = ResolveAndCheck(context.Background(), o, quickCheck)
			if err != nil || res.Status != CheckOK || res.BaseURL != lurl {
				t.Fatalf("after trust: %v %+v", err, res)
			}
			if !strings.HasPrefix(res.BaseURLReason, tr.Origin+" trusted for this key and project with `codefresh-mcp secrets trust-url` on ") {
				t.Fatalf("reason %q", res.BaseURLReason)
			}
			if _, withKey := sim.KeyCount(); withKey == 0 {
				t.Fatal("trusted listener got no request with the key")
			}

			// untrust-url takes it back.
			if _, err := secrets.Untrust(o, lurl); err != nil {
				t.Fatal(err)
			}
			if _, err := secrets.Resolve(context.Background(), o); !errors.As(err, &ue) {
				t.Fatalf("after untrust: %v", err)
			}
		})
	}
}
