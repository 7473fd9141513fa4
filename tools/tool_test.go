package tools

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The names are the contract AGENTS.md, tests and users rely on.
var wantTools = []string{
	"list_endpoints", "check_credentials", "preview_endpoint", "configure_pipeline",
	"start_load", "load_status", "cancel_load", "explain_load", "pipeline_info", "describe_table", "query", "ci_metrics", "explain_build",
}

func TestToolNames(t *testing.T) {
	var got []string
	for _, tl := range Definitions() {
		got = append(got, tl.Def.Name)
	}
	if !slices.Equal(got, wantTools) {
		t.Fatalf("tools = %v, want %v", got, wantTools)
	}
}

// Every tool states all four annotations: mcp-go's defaults would call a
// read-only tool destructive, and --read-only relies on readOnlyHint.
func TestEveryToolSetsAllAnnotations(t *testing.T) {
	for _, tl := range Definitions() {
		b, err := json.Marshal(tl.Def)
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			Annotations map[string]any `json:"annotations"`
		}
		if err := json.Unmarshal(b, &def); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint", "title"} {
			if _, ok := def.Annotations[k]; !ok {
				t.Errorf("%s: annotation %s not set", tl.Def.Name, k)
			}
		}
	}
}

// Every tool has its title at the top level too, and an outputSchema: a
// plain object schema (no $ref), derived from the Go type of its results.
func TestTitlesAndOutputSchemas(t *testing.T) {
	for _, tl := range Definitions() {
		if tl.Def.Title == "" || tl.Def.Title != tl.Def.Annotations.Title {
			t.Errorf("%s: title %q, annotation title %q", tl.Def.Name, tl.Def.Title, tl.Def.Annotations.Title)
		}
		raw := string(tl.Def.RawOutputSchema)
		if strings.Contains(raw, "$ref") || strings.Contains(raw, "$defs") || strings.Contains(raw, "$schema") {
			t.Errorf("%s: output schema has $ref/$defs/$schema: %s", tl.Def.Name, raw)
		}
		var s struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(tl.Def.RawOutputSchema, &s); err != nil || s.Type != "object" || len(s.Properties) == 0 {
			t.Errorf("%s: output schema %s (%v)", tl.Def.Name, raw, err)
		}
	}
}

// Schemas are plain objects: no $ref or $defs (clients break on them), no
// unknown properties, a description on every property.
func TestInputSchemas(t *testing.T) {
	for _, tl := range Definitions() {
		raw := string(tl.Def.RawInputSchema)
		if strings.Contains(raw, "$ref") || strings.Contains(raw, "$defs") || strings.Contains(raw, "$schema") {
			t.Errorf("%s: schema has $ref/$defs/$schema: %s", tl.Def.Name, raw)
		}
		var s struct {
			Type       string                    `json:"type"`
			Additional *bool                     `json:"additionalProperties"`
			Properties map[string]map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(tl.Def.RawInputSchema, &s); err != nil {
			t.Fatalf("%s: %v", tl.Def.Name, err)
		}
		if s.Type != "object" || s.Additional == nil || *s.Additional {
			t.Errorf("%s: want type object with additionalProperties false, got %s", tl.Def.Name, raw)
		}
		if s.Properties == nil {
			t.Errorf("%s: no properties object", tl.Def.Name)
		}
		checkDescriptions(t, tl.Def.Name, s.Properties)
		if tl.Def.Description == "" {
			t.Errorf("%s: no description", tl.Def.Name)
		}
	}
}

func checkDescriptions(t *testing.T, path string, props map[string]map[string]any) {
	t.Helper()
	for name, p := range props {
		d, _ := p["description"].(string)
		if d == "" {
			t.Errorf("%s.%s: no description", path, name)
		}
		// Some clients (Codex) drop minimum, maximum and default: a limit
		// must be in the words too.
		for _, k := range []string{"minimum", "maximum", "default"} {
			v, ok := p[k]
			if !ok || (k == "minimum" && (v == 0.0 || v == 1.0)) {
				continue // "at least 0 or 1" goes without saying for a count
			}
			if n, _ := json.Marshal(v); !strings.Contains(d, string(n)) {
				t.Errorf("%s.%s: %s %s is not stated in the description %q", path, name, k, n, d)
			}
		}
		if sub, ok := p["properties"].(map[string]any); ok {
			nested := map[string]map[string]any{}
			for k, v := range sub {
				nested[k], _ = v.(map[string]any)
			}
			checkDescriptions(t, path+"."+name, nested)
		}
	}
}

// Golden snapshots of every tool definition; UPDATE_TOOLSNAPS=1 rewrites them.
func TestToolSnapshots(t *testing.T) {
	update := os.Getenv("UPDATE_TOOLSNAPS") == "1"
	for _, tl := range Definitions() {
		b, err := json.MarshalIndent(tl.Def, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, '\n')
		path := filepath.Join("testdata", tl.Def.Name+".json")
		if update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run UPDATE_TOOLSNAPS=1 go test ./tools/ to create it)", err)
		}
		if !bytes.Equal(want, b) {
			t.Errorf("tool %s differs from %s (run UPDATE_TOOLSNAPS=1 go test ./tools/ if the change is intended):\n%s", tl.Def.Name, path, b)
		}
	}
}

// The README's tools section is what `codefresh-mcp docs` prints.
func TestReadmeToolsSection(t *testing.T) {
	md, err := Markdown(Definitions())
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReplaceSection(string(readme), md)
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Fatal("README.md tools section is stale: run `go run . docs --write README.md`")
	}
	for _, name := range wantTools {
		if !strings.Contains(md, "### "+name+"\n") {
			t.Errorf("docs lack a section for %s", name)
		}
	}
}

type argsIn struct {
	Name  string   `json:"name,omitempty" jsonschema_description:"n"`
	Count int      `json:"count,omitempty" jsonschema_description:"c"`
	Flag  bool     `json:"flag,omitempty" jsonschema_description:"f"`
	List  []string `json:"list,omitempty" jsonschema_description:"l"`
}

func TestDecodeArgs(t *testing.T) {
	_, props := inputSchema[argsIn]()
	in, err := decodeArgs[argsIn](json.RawMessage(`{"name":"x","count":"42","flag":"true","list":"builds"}`), props)
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "x" || in.Count != 42 || !in.Flag || !slices.Equal(in.List, []string{"builds"}) {
		t.Fatalf("coerced = %+v", in)
	}
	in, err = decodeArgs[argsIn](map[string]any{"count": 7.0, "list": []any{"a", "b"}}, props)
	if err != nil || in.Count != 7 || len(in.List) != 2 {
		t.Fatalf("map args = %+v, %v", in, err)
	}
	if _, err := decodeArgs[argsIn](nil, props); err != nil {
		t.Fatalf("no args: %v", err)
	}
	_, err = decodeArgs[argsIn](json.RawMessage(`{"nmae":"x"}`), props)
	if err == nil || !strings.Contains(err.Error(), "nmae") || !strings.Contains(err.Error(), "name, count, flag, list") {
		t.Fatalf("unknown argument error = %v", err)
	}
	_, err = decodeArgs[argsIn](json.RawMessage(`{"count":"many"}`), props)
	if err == nil || !strings.Contains(err.Error(), "invalid arguments") {
		t.Fatalf("bad number error = %v", err)
	}
}

func TestExplainAddsNextStep(t *testing.T) {
	got := explain(errorf("call load_status", "job %s unknown", "load_1"))
	if got != "job load_1 unknown\nNext: call load_status" {
		t.Fatalf("explain = %q", got)
	}
}
