package tools_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// A damaged newest trace is reported by explain_load and pipeline_info as
// such, never replaced by the load before it.
func TestUnreadableNewestTraceReported(t *testing.T) {
	e := newEnv(t, envOpts{})
	first := e.load("pipelines")
	second := e.load("pipelines")
	path := filepath.Join(e.dir, ".codefresh-mcp", "traces", second.LoadID+".json")
	if err := os.WriteFile(path, []byte(`{"load_id": "`), 0o600); err != nil {
		t.Fatal(err)
	}
	cause := "the trace of load " + second.LoadID + " (" + path + ") cannot be read: not a load trace: unexpected end of JSON input; the trace before it is load " + first.LoadID + "'s"
	want := cause + "\nNext: explain_load with load_id " + first.LoadID + " shows the load before it; pipeline_info shows what the database committed"
	if got := e.fail("explain_load", map[string]any{}); got != want {
		t.Errorf("explain_load:\n%s\nwant\n%s", got, want)
	}
	var info tools.PipelineInfoOut
	e.ok("pipeline_info", map[string]any{}, &info)
	if l := info.LastLoad; l == nil || l.LoadID != second.LoadID || l.Status != trace.Unreadable || l.Next != cause {
		t.Errorf("pipeline_info last_load: %+v", l)
	}
	e.assertNoCanary()
}
