package tools_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/tools"
)

func TestConfigurePipelineReads(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.ConfigurePipelineOut
	e.ok("configure_pipeline", nil, &out)
	if out.Saved || len(out.Changes) != 0 || !slices.Equal(out.Enabled, codefresh.DefaultResources()) {
		t.Fatalf("read = %+v", out)
	}
	if out.Effect.Dataset != "codefresh_data" || out.Effect.Destination != "duckdb" || out.Effect.Location != filepath.Join(e.dir, "codefresh.duckdb") {
		t.Fatalf("effective = %+v", out.Effect)
	}
	if _, err := os.Stat(filepath.Join(e.dir, pipeline.ConfigFile)); !os.IsNotExist(err) {
		t.Fatalf("reading wrote the file: %v", err)
	}
}

func TestConfigurePipelineChanges(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.ConfigurePipelineOut
	e.ok("configure_pipeline", map[string]any{
		"enable":  []string{"teams"},
		"disable": []string{"images"},
		"set": map[string]any{
			"resources": map[string]any{"builds": map[string]any{"params": map[string]any{"status": "error"}, "write_disposition": "merge"}},
		},
	}, &out)
	if !out.Saved {
		t.Fatalf("not saved: %+v", out)
	}
	for _, want := range []string{
		"resources.teams.enabled: (default) -> true",
		"resources.images.enabled: (default) -> false",
		`resources.builds.params.status: (default) -> "error"`,
		`resources.builds.write_disposition: (default) -> "merge"`,
	} {
		if !slices.Contains(out.Changes, want) {
			t.Errorf("changes %q lack %q", out.Changes, want)
		}
	}
	cfg, err := pipeline.LoadConfig(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Resources["builds"].Params["status"] != "error" || !slices.Contains(cfg.EnabledResources(), "teams") || slices.Contains(cfg.EnabledResources(), "images") {
		t.Fatalf("file = %+v", cfg)
	}

	// unset drops a key; the same change again changes nothing.
	e.ok("configure_pipeline", map[string]any{"unset": []string{"resources.builds.params.status"}}, &out)
	if !slices.Equal(out.Changes, []string{`resources.builds.params.status: "error" -> (default)`}) {
		t.Fatalf("unset changes = %q", out.Changes)
	}
	e.ok("configure_pipeline", map[string]any{"enable": []string{"teams"}}, &out)
	if out.Saved || len(out.Changes) != 0 {
		t.Fatalf("idempotent call = %+v", out)
	}
}

func TestConfigurePipelineValidates(t *testing.T) {
	e := newEnv(t, envOpts{})
	path := filepath.Join(e.dir, pipeline.ConfigFile)
	var out tools.ConfigurePipelineOut
	e.ok("configure_pipeline", map[string]any{"enable": []string{"teams"}, "validate_only": true}, &out)
	if out.Saved || len(out.Changes) != 1 {
		t.Fatalf("validate_only = %+v", out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("validate_only wrote the file")
	}
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"set": map[string]any{"destination": map[string]any{"type": "oracle"}}}, "destination.type"},
		{map[string]any{"enable": []string{"nope"}}, `no resource "nope"`},
		{map[string]any{"set": map[string]any{"resources": map[string]any{"nope": map[string]any{"page_size": 5}}}}, "resources.nope"},
		{map[string]any{"set": map[string]any{"destination": map[string]any{"path": "/etc/x.duckdb"}}}, `destination.path: "/etc/x.duckdb": use a path inside the project folder`},
		{map[string]any{"set": map[string]any{"resources": map[string]any{"pipelines": map[string]any{"params": map[string]any{"decryptVariables": "true"}}}}}, "decrypt"},
		{map[string]any{"unset": []string{"resources.builds"}}, "not set"},
		{map[string]any{"set": map[string]any{"resources": map[string]any{"builds": map[string]any{"paramz": map[string]any{"a": "b"}}}}}, `unknown field "paramz"`},
	}
	for _, c := range cases {
		text := e.fail("configure_pipeline", c.args)
		if !strings.Contains(text, c.want) || !strings.Contains(text, "Next:") {
			t.Errorf("%v: error %q lacks %q", c.args, text, c.want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("a refused change wrote the file")
	}
}

// handWritten is a pipeline file as a person writes it: comments, an odd
// order, blank lines, dotted and inline keys.
const handWritten = `# Our Codefresh pipeline. Ask Dana before changing the dataset.
dataset_name = "ci_data"   # the dashboards read this schema

concurrency = 2
[resources.builds]
# only failures: we triage these
params = { status = "error" }
write_disposition = "merge"


[destination]
  # a file next to the repo's other data
  path = "data/cf.duckdb"
  type = "duckdb"
`

func TestConfigurePipelineEditsTheFileInPlace(t *testing.T) {
	e := newEnv(t, envOpts{})
	path := filepath.Join(e.dir, pipeline.ConfigFile)
	if err := os.WriteFile(path, []byte(handWritten), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		args map[string]any
		want string // the whole file afterwards
	}{
		{ // one key changed: only its line, its comment kept
			map[string]any{"set": map[string]any{"dataset_name": "ci_data_v2"}},
			strings.Replace(handWritten, `dataset_name = "ci_data"`, `dataset_name = "ci_data_v2"`, 1),
		},
		{ // a new key goes at the end of its table; an inline table takes a key
			map[string]any{"set": map[string]any{"destination": map[string]any{"sslmode": "require"}, "resources": map[string]any{"builds": map[string]any{"params": map[string]any{"branchName": "main"}}}}},
			strings.NewReplacer(`dataset_name = "ci_data"`, `dataset_name = "ci_data_v2"`,
				`params = { status = "error" }`, `params = { branchName = "main", status = "error" }`,
				"type = \"duckdb\"\n", "type = \"duckdb\"\n  sslmode = \"require\"\n").Replace(handWritten),
		},
		{ // null in the patch and unset remove lines; enable adds a table at the end
			map[string]any{"set": map[string]any{"destination": map[string]any{"sslmode": nil, "path": nil}}, "unset": []string{"resources.builds.write_disposition"}, "enable": []string{"teams"}},
			strings.NewReplacer(`dataset_name = "ci_data"`, `dataset_name = "ci_data_v2"`,
				`params = { status = "error" }`, `params = { branchName = "main", status = "error" }`,
				"write_disposition = \"merge\"\n", "",
				"  path = \"data/cf.duckdb\"\n", "").Replace(handWritten) + "\n[resources.teams]\nenabled = true\n",
		},
	}
	for i, s := range steps {
		var out tools.ConfigurePipelineOut
		e.ok("configure_pipeline", s.args, &out)
		if !out.Saved {
			t.Fatalf("step %d not saved: %+v", i, out)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != s.want {
			t.Fatalf("step %d: file is\n%s\nwant\n%s", i, got, s.want)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Fatalf("step %d: mode %v, want 0600 kept", i, st.Mode().Perm())
		}
	}
	// Removing the last key of an inline table removes its line.
	var out tools.ConfigurePipelineOut
	e.ok("configure_pipeline", map[string]any{"unset": []string{"resources.builds.params"}}, &out)
	got, _ := os.ReadFile(path)
	if strings.Contains(string(got), "params") || !strings.Contains(string(got), "# only failures: we triage these\n\n\n[destination]") {
		t.Fatalf("after unset params:\n%s", got)
	}
	entries, _ := os.ReadDir(e.dir)
	for _, en := range entries {
		if strings.Contains(en.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", en.Name())
		}
	}
}

func TestConfigurePipelineCreatesAFileWithOnlyTheKeysSet(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.ConfigurePipelineOut
	e.ok("configure_pipeline", map[string]any{"set": map[string]any{"concurrency": 3}}, &out)
	got, err := os.ReadFile(filepath.Join(e.dir, pipeline.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "# codefresh-mcp pipeline file; schema: `codefresh-mcp schema`\nconcurrency = 3\n"
	if string(got) != want {
		t.Fatalf("file is\n%s\nwant\n%s", got, want)
	}
}

func TestConfigurePipelineRefusesBaseURL(t *testing.T) {
	e := newEnv(t, envOpts{})
	path := filepath.Join(e.dir, pipeline.ConfigFile)
	orig := "# ours\nbase_url = \"https://cf.example.com/api\"\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "base_url cannot be changed with configure_pipeline: the API key is sent to the base URL, so the key's owner chooses it outside the agent; nothing was written\n" +
		"Next: ask the user to run, in their own terminal, `codefresh-mcp --base-url URL secrets set` to store a key for that URL, or `codefresh-mcp secrets trust-url URL` to trust it for the stored key"
	for _, args := range []map[string]any{
		{"set": map[string]any{"base_url": "https://evil.example/api"}},
		{"set": map[string]any{"base_url": "https://cf.example.com/api"}, "validate_only": true},
		{"set": map[string]any{"base_url": nil}},
		{"unset": []string{"base_url"}},
	} {
		if got := e.fail("configure_pipeline", args); got != want {
			t.Errorf("%v:\n got %q\nwant %q", args, got, want)
		}
	}
	if got, _ := os.ReadFile(path); string(got) != orig {
		t.Fatalf("file changed:\n%s", got)
	}
	// Reading keeps working and shows it.
	var out tools.ConfigurePipelineOut
	e.ok("configure_pipeline", nil, &out)
	if out.Config.BaseURL != "https://cf.example.com/api" {
		t.Fatalf("read base_url = %q", out.Config.BaseURL)
	}
}

func TestConfigurePipelineRefusesAnInvalidFileWithoutWriting(t *testing.T) {
	e := newEnv(t, envOpts{})
	path := filepath.Join(e.dir, pipeline.ConfigFile)
	orig := "# ours\n\ndataset_name = \"x; DROP TABLE y\"\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	got := e.fail("configure_pipeline", map[string]any{"set": map[string]any{"concurrency": 2}})
	if !strings.HasPrefix(got, `codefresh_pipeline.toml:3: dataset_name: "x; DROP TABLE y": use lowercase letters`) {
		t.Fatalf("error %q", got)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Fatalf("file changed:\n%s", b)
	}
}

func TestListEndpoints(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.ListEndpointsOut
	e.ok("list_endpoints", nil, &out)
	if out.Count != len(codefresh.Catalog()) || out.Count < 18 || len(out.Endpoints) != out.Count {
		t.Fatalf("count = %d, endpoints %d, catalog %d", out.Count, len(out.Endpoints), len(codefresh.Catalog()))
	}
	if !slices.Equal(out.Enabled, codefresh.DefaultResources()) {
		t.Fatalf("enabled = %v, want the catalog defaults %v", out.Enabled, codefresh.DefaultResources())
	}
	var builds *tools.Endpoint
	for i, ep := range out.Endpoints {
		if ep.Name == "builds" {
			builds = &out.Endpoints[i]
		}
		if ep.Enabled != slices.Contains(out.Enabled, ep.Name) {
			t.Errorf("%s: enabled flag %v disagrees with the enabled list", ep.Name, ep.Enabled)
		}
	}
	if builds == nil || builds.Path != "/workflow" || builds.RecordsAt != "workflows.docs" || builds.Scope != "build:read" || !builds.Enabled {
		t.Fatalf("builds = %+v", builds)
	}
}

func TestListEndpointsFilters(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.ListEndpointsOut
	e.ok("list_endpoints", map[string]any{"name": "BUILD"}, &out)
	if out.Count == 0 {
		t.Fatal("no endpoint matches build")
	}
	for _, ep := range out.Endpoints {
		if !strings.Contains(ep.Name, "build") && !strings.Contains(strings.ToLower(ep.Path), "build") {
			t.Errorf("%s (%s) does not match the name filter", ep.Name, ep.Path)
		}
	}
	e.ok("list_endpoints", map[string]any{"scope": "pipeline"}, &out)
	if out.Count == 0 {
		t.Fatal("no endpoint needs a pipeline scope")
	}
	for _, ep := range out.Endpoints {
		if !strings.HasPrefix(ep.Scope, "pipeline") {
			t.Errorf("%s has scope %q", ep.Name, ep.Scope)
		}
	}
	e.ok("list_endpoints", map[string]any{"enabled_only": true}, &out)
	if out.Count != len(codefresh.DefaultResources()) {
		t.Fatalf("enabled_only gave %d, want %d", out.Count, len(codefresh.DefaultResources()))
	}
}

func TestListEndpointsShowsConfiguredResources(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("configure_pipeline", map[string]any{"enable": []string{"teams"}, "disable": []string{"images"}}, nil)
	var out tools.ListEndpointsOut
	e.ok("list_endpoints", map[string]any{"name": "teams"}, &out)
	if out.Count != 1 || !out.Endpoints[0].Enabled {
		t.Fatalf("teams after enabling = %+v", out.Endpoints)
	}
	if slices.Contains(out.Enabled, "images") {
		t.Fatalf("images still enabled: %v", out.Enabled)
	}
}

func TestUnknownArgumentIsAToolError(t *testing.T) {
	e := newEnv(t, envOpts{})
	text := e.fail("list_endpoints", map[string]any{"filter": "x"})
	if !strings.Contains(text, "filter") || !strings.Contains(text, "name, scope, enabled_only") {
		t.Fatalf("error = %q", text)
	}
}
