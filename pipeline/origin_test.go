package pipeline_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// newKeyCounter is a loopback Codefresh (the simulator, accepting the
// canary); its KeyCount says how many requests it got and how many carried
// the key.
func newKeyCounter(t *testing.T) (*cfsim.Server, string) {
	t.Helper()
	sim := cfsim.New(cfsim.Config{Seed: 7, Pipelines: 2, Builds: 4, Projects: 1, APIKey: canary})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL + "/api"
}

// isolated points HOME and the configuration folder at temp folders and
// mocks the keyring, so that only the test's key sources exist.
func isolated(t *testing.T) (home string) {
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	keyring.MockInit()
	return home
}

// A pipeline file naming another host gets no request with the key from
// any source a load resolves; the error names the key's own URL.
func TestLoadNeverSendsTheKeyToAPipelineFileURL(t *testing.T) {
	sources := map[string]func(t *testing.T, dir, home string, env map[string]string){
		"env": func(_ *testing.T, _, _ string, env map[string]string) { env[secrets.EnvAPIKey] = canary },
		"secrets.toml": func(t *testing.T, dir, _ string, _ map[string]string) {
			writeTestFile(t, secrets.SecretsTOMLPath(dir), "[sources.codefresh_source]\napi_key = \""+canary+"\"\n")
		},
		"cfconfig": func(t *testing.T, _, home string, _ map[string]string) {
			writeTestFile(t, filepath.Join(home, ".cfconfig"), "contexts:\n  prod:\n    type: APIKey\n    url: https://g.codefresh.io\n    token: "+canary+"\ncurrent-context: prod\n")
		},
		"keyring for another URL": func(t *testing.T, _, _ string, env map[string]string) {
			env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/test-bus"
			if err := keyring.Set(secrets.KeyringService, secrets.DefaultBaseURL, canary); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range sources {
		t.Run(name, func(t *testing.T) {
			home := isolated(t)
			otherSim, otherURL := newKeyCounter(t)
			dir := t.TempDir()
			env := map[string]string{}
			setup(t, dir, home, env)
			writeTestFile(t, filepath.Join(dir, pipeline.ConfigFile), "base_url = \""+otherURL+"\"\n")
			p, err := pipeline.OpenProject(dir)
			if err != nil {
				t.Fatal(err)
			}
			p.Env = func(k string) string { return env[k] }
			_, err = p.Run(context.Background(), pipeline.Options{Resources: []string{"pipelines"}})
			var ue *secrets.UntrustedURLError
			var nk *secrets.NoKeyError
			switch {
			case errors.As(err, &ue):
				if ue.URL != otherURL || ue.KeyURL != secrets.DefaultBaseURL || ue.URLSource != secrets.SourcePipelineFile {
					t.Fatalf("refusal %+v", ue)
				}
			case name == "keyring for another URL" && errors.As(err, &nk):
				// The keyring is asked for the URL's own entry: there is none.
			default:
				t.Fatalf("load: %v", err)
			}
			if n, withKey := otherSim.KeyCount(); n != 0 {
				t.Fatalf("the pipeline file's host got %d requests (%d with the key)", n, withKey)
			}
		})
	}
}

// After the user trusts the origin (outside the project), the load goes there.
func TestLoadAfterTrust(t *testing.T) {
	isolated(t)
	otherSim, otherURL := newKeyCounter(t)
	dir := t.TempDir()
	env := map[string]string{secrets.EnvAPIKey: canary}
	writeTestFile(t, filepath.Join(dir, pipeline.ConfigFile), "base_url = \""+otherURL+"\"\n")
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Env = func(k string) string { return env[k] }
	p.RatePerSecond = 1000
	if _, err := secrets.Trust(context.Background(), p.SecretsOptions(), otherURL, func(*secrets.TrustResult) error { return nil }); err != nil {
		t.Fatal(err)
	}
	info, err := p.Run(context.Background(), pipeline.Options{Resources: []string{"pipelines"}})
	if err != nil || info.Status != trace.LoadSucceeded {
		t.Fatalf("trusted load: %v", err)
	}
	if _, withKey := otherSim.KeyCount(); withKey == 0 {
		t.Fatal("the trusted host got no request")
	}
	for _, f := range []string{dir, filepath.Join(dir, ".dlt")} {
		if entries, _ := os.ReadDir(f); strings.Contains(strings.Join(namesOf(entries), ","), "trusted") {
			t.Fatalf("trust recorded inside the project: %v", namesOf(entries))
		}
	}
}

func namesOf(es []os.DirEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name()
	}
	return out
}

// A simulator that redirects to another port during a load: not followed,
// the other listener gets nothing, the resource fails with the redirect.
func TestLoadDoesNotFollowRedirectToAnotherPort(t *testing.T) {
	otherSim, otherURL := newKeyCounter(t)
	f := newFixture(t, cfsim.Config{Pipelines: 3, Builds: 10, Projects: 1}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/pipelines") {
				http.Redirect(w, r, otherURL+strings.TrimPrefix(r.URL.Path, "/api"), http.StatusTemporaryRedirect)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	info, err := f.proj.Run(context.Background(), pipeline.Options{Resources: []string{"pipelines", "projects"}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := otherSim.KeyCount(); n != 0 {
		t.Fatalf("the other port got %d requests", n)
	}
	for _, r := range info.Resources {
		if r.Name != "pipelines" {
			continue
		}
		if r.Status != trace.StatusFailed || r.Cause != trace.CauseUntrustedURL || !strings.Contains(r.Reason, "redirect from "+f.srv.URL+"/api/pipelines to "+otherURL+"/pipelines not followed") {
			t.Fatalf("pipelines: %+v", r)
		}
	}
}

// A Retry-After of 28 hours ends the resource at once, saying so.
func TestLoadRetryAfter28Hours(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 3, Builds: 10, Projects: 1}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/pipelines") {
				w.Header().Set("Retry-After", "100800")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	info, err := f.proj.Run(context.Background(), pipeline.Options{Resources: []string{"pipelines", "projects"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range info.Resources {
		if r.Name != "pipelines" {
			continue
		}
		wantStep := "Codefresh asked to wait 28h0m0s before the next request, longer than a load waits: load again after that (the cursor did not move); a lower request rate does not shorten it"
		if r.Status != trace.StatusFailed || r.Cause != trace.CauseRateLimit || r.NextStep != wantStep ||
			!strings.Contains(r.Reason, "the API asked to retry after 28h0m0s, more than the 2m0s a request may wait") {
			t.Fatalf("pipelines: %+v", r)
		}
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
