package pipeline

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

func TestEmptyConfigLoadsTheSeedResources(t *testing.T) {
	cfg, err := LoadConfig(t.TempDir()) // no file at all
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"user", "projects", "pipelines", "pipelines_names", "builds", "images", "step_types", "triggers", "auth_keys"}
	got := cfg.EnabledResources()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("default resources = %v, want %v", got, want)
	}
	if cfg.Pipeline() != "codefresh_pipeline" || cfg.Dataset() != "codefresh_data" || cfg.DestinationType() != "duckdb" {
		t.Fatalf("defaults: %s %s %s", cfg.Pipeline(), cfg.Dataset(), cfg.DestinationType())
	}
}

func TestConfigOverrides(t *testing.T) {
	cfg, err := ParseConfig("f.toml", []byte(`
dataset_name = "cf"
[resources.builds]
params = { status = "error" }
initial_value = "2024-01-01"
[resources.build_steps]
enabled = true
[resources.auth_keys]
enabled = false
[resources.projects]
write_disposition = "append"
`))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.EnabledResources()
	if !slices.Contains(got, "build_steps") || slices.Contains(got, "auth_keys") {
		t.Fatalf("enabled = %v", got)
	}
	projects, _ := codefresh.Lookup("projects")
	if d := cfg.Disposition(projects); d != "append" {
		t.Fatalf("projects disposition = %s", d)
	}
	if cfg.Resources["builds"].Params["status"] != "error" || cfg.Dataset() != "cf" {
		t.Fatalf("cfg = %+v", cfg)
	}
}

func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct{ text, want string }{
		{"pipeline_name = \"x\"\n[resources.bulds]\nenabled = true\n", "f.toml:2: resources.bulds: no such resource"},
		{"[resources.builds]\n\nstatuss = \"x\"\n", "f.toml:3: resources.builds.statuss: unknown key"},
		{"[resources.projects]\nwrite_disposition = \"upsert\"\n", "f.toml:2: resources.projects.write_disposition: \"upsert\": use replace, append or merge"},
		{"[resources.user]\nwrite_disposition = \"merge\"\n[resources.triggers]\n", ""},
		{"[resources.builds]\ninitial_value = \"yesterday\"\n", "f.toml:2: resources.builds.initial_value"},
		{"[resources.contexts]\nparams = { decrypt = \"true\" }\n", "f.toml:2: resources.contexts.params.decrypt"},
		{"[destination]\ntype = \"snowflake\"\n", "f.toml:2: destination.type"},
		{"concurrency = 99\n", "f.toml:1: concurrency: use 1 to 32"},
		{"[resources.builds\n", "f.toml:2: expected '.' or ']' to end table name"},
		{"[incremental]\nlookback = \"a day\"\n", "f.toml:2: incremental.lookback"},
	}
	for _, c := range cases {
		_, err := ParseConfig("f.toml", []byte(c.text))
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: unexpected %v", c.text, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s...", c.text, err, c.want)
		}
	}
}

func TestSaveConfigRoundTrips(t *testing.T) {
	dir := t.TempDir()
	on := true
	cfg := Config{Concurrency: 3, Resources: map[string]ResourceConfig{"build_steps": {Enabled: &on}, "builds": {Params: map[string]string{"branchName": "main"}}}}
	if err := SaveConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Concurrency != 3 || !slices.Contains(back.EnabledResources(), "build_steps") || back.Resources["builds"].Params["branchName"] != "main" {
		t.Fatalf("round trip: %+v", back)
	}
	bad := Config{Resources: map[string]ResourceConfig{"nope": {}}}
	if err := SaveConfig(dir, bad); err == nil {
		t.Fatal("saved an invalid config")
	}
	data, _ := os.ReadFile(dir + "/" + ConfigFile)
	if strings.Contains(string(data), "nope") {
		t.Fatal("invalid config reached the file")
	}
}

func TestConfigSchema(t *testing.T) {
	b, err := ConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	props, _ := s["properties"].(map[string]any)
	for _, k := range []string{"pipeline_name", "dataset_name", "destination", "resources", "incremental", "requests_per_second"} {
		if _, ok := props[k]; !ok {
			t.Errorf("schema lacks %s", k)
		}
	}
	if _, ok := s["$ref"]; ok {
		t.Error("top-level $ref")
	}
}
