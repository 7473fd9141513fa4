package tools_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/tools"
)

func table(out tools.PreviewEndpointOut, name string) *tools.PreviewTable {
	for i := range out.Tables {
		if out.Tables[i].Name == name {
			return &out.Tables[i]
		}
	}
	return nil
}

func TestPreviewPipelines(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.PreviewEndpointOut
	e.ok("preview_endpoint", map[string]any{"resource": "pipelines", "limit": 4, "samples": 2}, &out)
	if out.Status != 200 || out.RecordsAt != "docs" || out.RecordCount != 4 || len(out.Samples) != 2 || !out.MorePages {
		t.Fatalf("preview = %+v", out)
	}
	if !strings.HasPrefix(out.URL, e.base+"/pipelines") || strings.Contains(out.URL, canary) {
		t.Fatalf("url = %q", out.URL)
	}
	tb := table(out, "pipelines")
	if tb == nil || tb.Columns["metadata__id"] == "" || tb.Columns["_dlt_id"] == "" {
		t.Fatalf("pipelines table = %+v", tb)
	}
	if len(e.sim.SideEffectCalls()) != 0 {
		t.Fatalf("side-effect calls: %v", e.sim.SideEffectCalls())
	}
}

func TestPreviewBuildsCutsLongStrings(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{YAMLSize: 5000}})
	var out tools.PreviewEndpointOut
	e.ok("preview_endpoint", map[string]any{"resource": "builds"}, &out)
	if out.RecordsAt != "workflows.docs" || out.Paging != "page_cursor" || out.RecordCount != 5 || len(out.Samples) != 3 {
		t.Fatalf("preview = %+v", out)
	}
	b, _ := json.Marshal(out.Samples)
	var longest int
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			longest = max(longest, len([]rune(x)))
		case map[string]any:
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var samples []any
	_ = json.Unmarshal(b, &samples)
	walk(samples)
	if longest > 230 || !strings.Contains(string(b), "chars)") {
		t.Fatalf("longest sample string %d chars; samples not cut", longest)
	}
	if table(out, "builds") == nil {
		t.Fatalf("no builds table in %+v", out.Tables)
	}
}

func TestPreviewDetailTakesIDFromParent(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.PreviewEndpointOut
	e.ok("preview_endpoint", map[string]any{"resource": "builds_by_id"}, &out)
	id := out.PathParams["id"]
	if id == "" || out.RecordCount != 1 || !strings.Contains(out.URL, "/builds/"+id) {
		t.Fatalf("preview = %+v", out)
	}
}

func TestPreviewErrorsExplainNextStep(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{Scopes: []string{"pipeline:read"}}})
	text := e.fail("preview_endpoint", map[string]any{"resource": "builds"})
	if !strings.Contains(text, "403") || !strings.Contains(text, "build:read") || !strings.Contains(text, "Next: call check_credentials") {
		t.Fatalf("403 error = %q", text)
	}
	text = e.fail("preview_endpoint", map[string]any{"resource": "nope"})
	if !strings.Contains(text, `no resource "nope"`) || !strings.Contains(text, "list_endpoints") {
		t.Fatalf("unknown resource error = %q", text)
	}
	text = e.fail("preview_endpoint", map[string]any{"resource": "pipelines", "params": map[string]any{"decrypt": "true"}})
	if !strings.Contains(text, "decrypt") {
		t.Fatalf("decrypting parameter error = %q", text)
	}
}

func TestPreviewWrongKeyNeverShowsIt(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{APIKey: "cfk-the-right-one-0123456789"}})
	text := e.fail("preview_endpoint", map[string]any{"resource": "pipelines"})
	if !strings.Contains(text, "401") || !strings.Contains(text, "secrets set") {
		t.Fatalf("401 error = %q", text)
	}
}

// build_steps previews the rows a load writes: one per step of a build's
// last revision, with build_id and step_order, not the revisions.
func TestPreviewBuildStepsShowsStepRows(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.PreviewEndpointOut
	e.ok("preview_endpoint", map[string]any{"resource": "build_steps"}, &out)
	id := out.PathParams["id"]
	if id == "" || out.RecordCount == 0 {
		t.Fatalf("preview = %+v", out)
	}
	tb := table(out, "build_steps")
	if tb == nil || tb.Columns["build_id"] == "" || tb.Columns["step_order"] == "" || tb.Columns["name"] == "" || tb.Columns["context__stepsMetadata"] != "" {
		t.Fatalf("build_steps table = %+v", tb)
	}
	for i, s := range out.Samples {
		m := s.(map[string]any)
		if m["build_id"] != id || m["step_order"] != float64(i) {
			t.Fatalf("sample %d = %v, want build_id %s and step_order %d", i, m, id, i)
		}
	}
}

// The next step follows the pipeline file: builds (on by default) is ready
// to load; build_steps (off by default) wants configure_pipeline first.
func TestPreviewNextMatchesTheState(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.PreviewEndpointOut
	e.ok("preview_endpoint", map[string]any{"resource": "builds", "limit": 1}, &out)
	if strings.Contains(out.Next, "configure_pipeline") || !strings.Contains(out.Next, "start_load") {
		t.Errorf("builds: next = %q", out.Next)
	}
	e.ok("preview_endpoint", map[string]any{"resource": "build_steps", "limit": 1}, &out)
	if !strings.Contains(out.Next, "configure_pipeline to enable build_steps") {
		t.Errorf("build_steps: next = %q", out.Next)
	}
}
