package tools_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/credcheck"
	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/tools"
)

func capability(out tools.CheckCredentialsOut, resource string) string {
	for _, c := range out.Capabilities {
		if c.Resource == resource {
			return c.Status
		}
	}
	return ""
}

// By default the check is one round trip (GET /user and GET /auth/keys at
// once); probe=true probes every resource, concurrently. The simulator
// answers each request after 400 ms, so requests sent at once overlap at a
// server in front that counts them.
func TestCheckCredentials(t *testing.T) {
	const latency = 400 * time.Millisecond
	var seen inFlight
	e := newEnv(t, envOpts{sim: cfsim.Config{Latency: latency}, front: seen.front(t)})
	var out tools.CheckCredentialsOut
	e.ok("check_credentials", nil, &out)
	if total, most := seen.take(); total != 2 || most != 2 {
		t.Errorf("default check: %d requests, at most %d at once; want 2, both at once", total, most)
	}
	if out.Status != credcheck.CheckOK || out.Source != "env:"+secrets.EnvAPIKey || out.Fingerprint == "" || out.BaseURL != e.base {
		t.Fatalf("check = %+v", out.Result)
	}
	if out.User == nil || out.User.Name == "" {
		t.Fatalf("user = %+v", out.User)
	}
	// The simulator's key list never matches the key (its prefixes are
	// random), so no scopes: nothing is claimed, probe=true is suggested.
	if out.Capabilities != nil || out.Matrix != "" || !strings.Contains(out.Next, "probe=true") {
		t.Fatalf("default check: matrix %q, %d capabilities, next %q", out.Matrix, len(out.Capabilities), out.Next)
	}

	e.ok("check_credentials", map[string]any{"probe": true}, &out)
	if total, most := seen.take(); most < 2 {
		t.Errorf("probe: %d requests, at most %d at once; want them concurrent", total, most)
	}
	if got := capability(out, "builds"); got != credcheck.CapLoadable || out.Matrix != credcheck.MatrixProbed {
		t.Fatalf("builds capability = %q, matrix %q", got, out.Matrix)
	}
	if len(out.Capabilities) != out.Summary[credcheck.CapLoadable] || !strings.Contains(out.Next, "preview_endpoint") {
		t.Fatalf("summary %v, next %q", out.Summary, out.Next)
	}
}

func TestCheckCredentialsMissingScope(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{Scopes: []string{"pipeline:read", "project:read"}}})
	var out tools.CheckCredentialsOut
	e.ok("check_credentials", map[string]any{"resources": []string{"builds", "pipelines"}}, &out)
	if got := capability(out, "builds"); !strings.HasPrefix(got, credcheck.CapMissingScope) || !strings.Contains(got, "build:read") {
		t.Fatalf("builds = %q, want missing_scope:build:read", got)
	}
	if got := capability(out, "pipelines"); got != credcheck.CapLoadable {
		t.Fatalf("pipelines = %q", got)
	}
	if len(out.Capabilities) != 2 {
		t.Fatalf("probed %d resources, want the 2 asked for", len(out.Capabilities))
	}
}

func TestCheckCredentialsWrongKey(t *testing.T) {
	// The simulator accepts another key: ours (the canary) is invalid there.
	e := newEnv(t, envOpts{sim: cfsim.Config{APIKey: "cfk-the-right-one-0123456789"}})
	var out tools.CheckCredentialsOut
	e.ok("check_credentials", nil, &out)
	if out.Status != credcheck.CheckKeyInvalid || !strings.Contains(out.Next, "secrets set") {
		t.Fatalf("check = %+v next %q", out.Result, out.Next)
	}
}

func TestCheckCredentialsNoKey(t *testing.T) {
	e := newEnv(t, envOpts{noKey: true})
	var out tools.CheckCredentialsOut
	e.ok("check_credentials", nil, &out)
	if out.Status != credcheck.CheckNoKey || !strings.Contains(out.Next, "codefresh-mcp secrets set") {
		t.Fatalf("check = %+v next %q", out.Result, out.Next)
	}
	if len(out.Sources) == 0 {
		t.Fatal("no source report")
	}
}

// inFlight is a server in front of the simulator counting the requests it
// passes on and how many were in flight at once.
type inFlight struct {
	mu        sync.Mutex
	now, most int
	total     int
}

func (f *inFlight) front(t *testing.T) func(string) string {
	return frontOf(t, func(w http.ResponseWriter, r *http.Request, sim http.Handler) {
		f.mu.Lock()
		f.now++
		f.total++
		f.most = max(f.most, f.now)
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.now--
			f.mu.Unlock()
		}()
		sim.ServeHTTP(w, r)
	})
}

// take returns the counts since the last take and starts again.
func (f *inFlight) take() (total, most int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	total, most = f.total, f.most
	f.total, f.most = 0, 0
	return total, most
}

// A pipeline file naming another host: check_credentials reports the URL,
// its source and the key's own URL before sending anything; start_load and
// preview_endpoint refuse with the same facts and tell the agent that only
// the user can allow it. Once the user trusts it, all three go there.
func TestCheckCredentialsUntrustedPipelineURL(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	e := newEnv(t, envOpts{noBaseURL: true})
	sim := cfsim.New(cfsim.Config{Seed: 7, Pipelines: 2, Builds: 4, Projects: 1, APIKey: canary})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	other := srv.URL + "/api"
	if err := os.WriteFile(filepath.Join(e.dir, pipeline.ConfigFile), []byte("base_url = \""+other+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var out tools.CheckCredentialsOut
	e.ok("check_credentials", nil, &out)
	fp := secrets.Fingerprint(canary)
	want := "refused to send the API key from env:CF_API_KEY (fingerprint " + fp + ") to " + other +
		", which codefresh_pipeline.toml base_url asks for: the key belongs to https://g.codefresh.io/api (default: no CODEFRESH_BASE_URL is set beside the key), another origin; nothing was sent"
	cmd := "codefresh-mcp --project " + e.dir + " secrets trust-url " + other
	if out.Status != credcheck.CheckUntrustedURL || out.Message != want || out.BaseURL != other || out.BaseURLSource != secrets.SourcePipelineFile ||
		out.TrustCommand != cmd || !strings.Contains(out.Next, "`"+cmd+"` in their own terminal") {
		t.Fatalf("check_credentials: %+v\nnext %s", out.Result, out.Next)
	}
	for _, tool := range []struct {
		name string
		args map[string]any
	}{{"start_load", map[string]any{"resources": []string{"pipelines"}}}, {"preview_endpoint", map[string]any{"resource": "pipelines"}}} {
		text := e.fail(tool.name, tool.args)
		if !strings.Contains(text, want) || !strings.Contains(text, "Next: you cannot allow this") || !strings.Contains(text, "`"+cmd+"`") {
			t.Fatalf("%s: %s", tool.name, text)
		}
	}
	if n, withKey := sim.KeyCount(); n != 0 {
		t.Fatalf("the pipeline file's host got %d requests (%d with the key)", n, withKey)
	}

	// The user trusts it in their terminal: check_credentials and a load
	// now agree on that URL and say why.
	opts := secrets.Options{ProjectDir: e.dir, ProjectBaseURL: other, Env: func(k string) string {
		return map[string]string{secrets.EnvAPIKey: canary}[k]
	}}
	if _, err := secrets.Trust(context.Background(), opts, other, func(*secrets.TrustResult) error { return nil }); err != nil {
		t.Fatal(err)
	}
	e.ok("check_credentials", nil, &out)
	if out.Status != credcheck.CheckOK || out.BaseURL != other || out.BaseURLSource != secrets.SourcePipelineFile ||
		!strings.HasPrefix(out.BaseURLReason, strings.TrimSuffix(other, "/api")+" trusted for this key and project") {
		t.Fatalf("after trust: %+v", out.Result)
	}
	var prev tools.PreviewEndpointOut
	e.ok("preview_endpoint", map[string]any{"resource": "pipelines"}, &prev)
	if _, withKey := sim.KeyCount(); !strings.HasPrefix(prev.URL, other+"/pipelines") || withKey == 0 {
		t.Fatalf("preview went to %s; trusted host saw %d requests with the key", prev.URL, withKey)
	}
}
