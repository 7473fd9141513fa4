package pipeline

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/tomledit"
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

func TestConfigRefusesInvalidValuesWithKeyAndLine(t *testing.T) {
	cases := []struct{ text, want string }{
		{"# names\ndataset_name = \"x; DROP TABLE y\"\n", `f.toml:2: dataset_name: "x; DROP TABLE y": use lowercase letters, digits and underscores, at most 60, such as "x_drop_table_y"`},
		{"dataset_name = \"CF\"\n", `f.toml:1: dataset_name: "CF": use lowercase letters, digits and underscores, at most 60, such as "cf"`},
		// 61 bytes: its views' schema, <dataset>_ci, would pass PostgreSQL's 63.
		{"dataset_name = \"" + strings.Repeat("a", 61) + "\"\n", `f.toml:1: dataset_name: "` + strings.Repeat("a", 61) + `": use lowercase letters, digits and underscores, at most 60, such as "` + strings.Repeat("a", 60) + `"`},
		{"pipeline_name = \"" + strings.Repeat("p", 64) + "\"\n", `f.toml:1: pipeline_name: "` + strings.Repeat("p", 64) + `": use lowercase letters, digits and underscores, at most 63, such as "` + strings.Repeat("p", 63) + `"`},
		{"\npipeline_name = \"../p\"\n", `f.toml:2: pipeline_name: "../p": use lowercase letters, digits and underscores, at most 63, such as "_p"`},
		{"requests_per_second = nan\n", "f.toml:1: requests_per_second: NaN: use 0.01 to 1000 (or leave it out for 10)"},
		{"requests_per_second = inf\n", "f.toml:1: requests_per_second: +Inf: use 0.01 to 1000 (or leave it out for 10)"},
		{"requests_per_second = -1.0\n", "f.toml:1: requests_per_second: -1: use 0.01 to 1000 (or leave it out for 10)"},
		{"requests_per_second = 1e-9\n", "f.toml:1: requests_per_second: 1e-09: use 0.01 to 1000 (or leave it out for 10)"},
		{"concurrency = -1\n", "f.toml:1: concurrency: use 1 to 32"},
		{"[destination]\npath = \"/etc/x.duckdb\"\n", `f.toml:2: destination.path: "/etc/x.duckdb": use a path inside the project folder: relative, without ..`},
		{"[destination]\npath = \"../x\"\n", `f.toml:2: destination.path: "../x": use a path inside the project folder: relative, without ..`},
		{"destination.path = \"data/../../x\"\n", `f.toml:1: destination.path: "data/../../x": use a path inside the project folder: relative, without ..`},
		{"[destination]\npath = \".\"\n", `f.toml:2: destination.path: ".": name a file or folder inside the project folder, not the folder itself`},
		{"[destination]\npath = \".dlt/secrets.toml\"\n", `f.toml:2: destination.path: ".dlt/secrets.toml": .dlt holds the project's own files: choose another folder`},
		{"[destination]\npath = \"codefresh_pipeline.toml\"\n", `f.toml:2: destination.path: "codefresh_pipeline.toml": that is the pipeline file`},
		{"[destination]\ntype = \"postgres\"\nport = 70000\n", "f.toml:3: destination.port: 70000: use 1 to 65535"},
		{"[destination]\nsslmode = \"off\"\n", `f.toml:2: destination.sslmode: "off": use disable, allow, prefer, require, verify-ca or verify-full`},
		{"[destination]\npasword = \"x\"\n", "f.toml:2: destination.pasword: unknown key (see `codefresh-mcp schema`)"},
		{"[incremental]\nlookback = \"0s\"\n", `f.toml:2: incremental.lookback: "0s" is not a positive duration such as 24h`},
		{"[incremental]\nlookback = \"-1h\"\n", `f.toml:2: incremental.lookback: "-1h" is not a positive duration such as 24h`},
		{"[resources.builds]\npage_size = 10001\n", "f.toml:2: resources.builds.page_size: use 1 to 10000"},
		{"[resources.builds]\n\n\npage_size = -5\n", "f.toml:4: resources.builds.page_size: use 1 to 10000"},
		{"resources.builds.initial_value = \"2024-13-01\"\n", `f.toml:1: resources.builds.initial_value: "2024-13-01": use a date YYYY-MM-DD`},
		{"[resources]\nbuilds = { write_disposition = \"upsert\" }\n", `f.toml:2: resources.builds.write_disposition: "upsert": use replace, append or merge`},
	}
	for _, c := range cases {
		_, err := ParseConfig("f.toml", []byte(c.text))
		var ce *ConfigError
		if err == nil || err.Error() != c.want || !errors.As(err, &ce) {
			t.Errorf("%q:\n got %v\nwant %s", c.text, err, c.want)
		}
	}
}

// Earlier versions of configure_pipeline wrote zeros for every key the user
// had not set: such files keep loading, zero being the default.
func TestConfigZerosAreDefaults(t *testing.T) {
	cfg, err := ParseConfig("f.toml", []byte("requests_per_second = 0.0\nconcurrency = 0\n[destination]\nport = 0\n[resources.builds]\npage_size = 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RequestsPerSecond != 0 || cfg.Concurrency != 0 || cfg.Destination.Port != 0 {
		t.Fatalf("cfg = %+v", cfg)
	}
}

// nestedInline is "x = {a = {a = ... 1}}" of about size bytes.
func nestedInline(size int) []byte {
	n := (size - 5) / 6
	return []byte("x = " + strings.Repeat("{a = ", n) + "1" + strings.Repeat("}", n) + "\n")
}

func TestConfigBoundedBeforeDecoding(t *testing.T) {
	const depthErr = "nested 17 levels deep, over the limit of 16 (tables, dotted keys, arrays and inline tables)"
	cases := []struct {
		name string
		text []byte
		want string
	}{
		{"32 KB of nested inline tables", nestedInline(32 << 10), "f.toml:1: " + depthErr},
		{"300 KB file", nestedInline(300 << 10), "f.toml: the file is 307200 bytes, over the limit of 262144 bytes"},
		{"nested arrays", []byte("# a comment [[[[\n\nx = " + strings.Repeat("[", 20) + strings.Repeat("]", 20) + "\n"), "f.toml:3: " + depthErr},
		{"arrays over lines", []byte("x = [\n" + strings.Repeat("[\n", 20) + strings.Repeat("]\n", 21)), "f.toml:16: " + depthErr},
		{"dotted key", []byte("\n" + strings.Repeat("a.", 16) + "b = 1\n"), "f.toml:2: " + depthErr},
		{"table header", []byte("[" + strings.Repeat("a.", 16) + "b]\n"), "f.toml:1: " + depthErr},
		{"header plus inline", []byte("[resources.builds]\nparams = " + strings.Repeat("{a = ", 14) + "1" + strings.Repeat("}", 14) + "\n"), "f.toml:2: " + depthErr},
		{"dotted keys inside an inline table", []byte("x = { " + strings.Repeat("a.", 20) + "b = 1 }\n"), "f.toml:1: " + depthErr},
	}
	for _, c := range cases {
		_, err := ParseConfig("f.toml", c.text)
		var ce *ConfigError
		var le *tomledit.LimitError
		if err == nil || err.Error() != c.want || !errors.As(err, &ce) || !errors.As(err, &le) {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
	// Brackets in strings and comments do not nest.
	ok := "pipeline_name = \"" + strings.Repeat("{[", 20) + "\" # " + strings.Repeat("[{", 20) + "\n" +
		"dataset_name = '''\n" + strings.Repeat("{", 40) + "'''\n"
	if _, err := ParseConfig("f.toml", []byte(ok)); err == nil || !strings.Contains(err.Error(), "pipeline_name: ") {
		t.Errorf("brackets in strings: %v (want the name refused, not the nesting)", err)
	}
}

func TestLoadConfigReadsNoMoreThanTheLimit(t *testing.T) {
	dir := t.TempDir()
	big := append([]byte("# x\n"), make([]byte, 1<<20)...) // 1 MiB of NULs after a comment
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), big, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(dir)
	want := "codefresh_pipeline.toml: the file is 1048580 bytes, over the limit of 262144 bytes"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
