package tools_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/credcheck"
	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/tools"
)

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
