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
