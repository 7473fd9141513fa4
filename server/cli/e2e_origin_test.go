package cli

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
)

// A cloned project whose pipeline file names another host: `load` and
// `secrets check` refuse with the same URL and reason and send nothing
// there; `secrets trust-url` (the user's word, recorded outside the
// project) lets the load go; `untrust-url` takes it back. The demo, whose
// simulator URL the binary sets itself, is not affected.
func TestE2EPipelineFileCannotRedirectTheKey(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "CF_API_KEY="+e2eCanary)
	sim := cfsim.New(cfsim.Config{Seed: 7, Pipelines: 3, Builds: 20, Projects: 1, APIKey: e2eCanary})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	other := srv.URL + "/api"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "codefresh_pipeline.toml"), "base_url = \""+other+"\"\n")

	r := e.run(dir, "load", "--resources", "pipelines")
	trustCmd := "codefresh-mcp --project " + dir + " secrets trust-url " + other
	refusal := "refused to send the API key from env:CF_API_KEY (fingerprint "
	if r.code != 1 || !strings.Contains(r.stderr, refusal) || !strings.Contains(r.stderr, "the key belongs to https://g.codefresh.io/api") ||
		!strings.Contains(r.stderr, "If you trust "+other+" with this key, run:\n  "+trustCmd+"\n") {
		t.Fatalf("load: %s", r)
	}
	r = e.run(dir, "secrets", "check", "--json")
	got := checkJSON(t, r.stdout)
	if r.code != 1 || got.Status != "untrusted_url" || !strings.Contains(r.stdout, `"base_url": "`+other+`"`) ||
		!strings.Contains(r.stdout, `"base_url_source": "codefresh_pipeline.toml"`) || !strings.Contains(r.stderr, trustCmd) {
		t.Fatalf("secrets check: %s", r)
	}
	r = e.run(dir, "secrets", "trust-url", other)
	if r.code != 1 || !strings.Contains(r.stderr, "not a terminal: run this yourself in a terminal, or pass --yes to confirm") {
		t.Fatalf("trust-url without a terminal: %s", r)
	}
	if n, withKey := sim.KeyCount(); n != 0 {
		t.Fatalf("the pipeline file's host got %d requests before trust (%d with the key)", n, withKey)
	}

	r = e.must(dir, "secrets", "trust-url", "--yes", other)
	trustFile := filepath.Join(e.home, ".config", "codefresh-mcp", "trusted-origins.json")
	if !strings.Contains(r.stdout, "Trusted: the key from env:CF_API_KEY") || !strings.Contains(r.stdout, "Recorded in "+trustFile) {
		t.Fatalf("trust-url: %s", r)
	}
	if _, err := os.Stat(trustFile); err != nil {
		t.Fatal(err)
	}
	r = e.must(dir, "load", "--resources", "pipelines")
	if _, withKey := sim.KeyCount(); withKey == 0 {
		t.Fatalf("trusted load sent nothing: %s", r)
	}
	r = e.must(dir, "secrets", "untrust-url", other)
	if !strings.Contains(r.stdout, "Removed 1 trust entries") {
		t.Fatalf("untrust-url: %s", r)
	}
	before, _ := sim.KeyCount()
	if r = e.run(dir, "load", "--resources", "pipelines"); r.code != 1 || !strings.Contains(r.stderr, refusal) {
		t.Fatalf("load after untrust: %s", r)
	}
	if after, _ := sim.KeyCount(); after != before {
		t.Fatal("a request went out after untrust-url")
	}
	e.must(dir, "load", "--demo", "--demo-builds", "20", "--resources", "pipelines")

	for _, s := range e.allOutputs() {
		if leaked(s) {
			t.Errorf("canary in an output: %.300q", s)
		}
	}
	for _, root := range []string{dir, e.home, e.tmp} {
		assertNoCanaryInFiles(t, root)
	}
}
