package tools_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// A damaged DuckDB file: every reading tool says so and what the user does
// about it, never "fix the SQL".
func TestDamagedDatabaseFile(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.load("pipelines")
	path := filepath.Join(e.dir, "codefresh.duckdb")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(strings.Repeat("\xa5", 64)), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := "database file " + path + ` is damaged: IO Error: The file "` + path + `" exists, but it is not a valid DuckDB database file!` +
		"\nNext: the DuckDB file is damaged, so nothing can be read from it: ask the user to move " + path +
		" aside (e.g. rename it to codefresh.duckdb.damaged); start_load then rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)"
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"query", map[string]any{"sql": "SELECT 1"}},
		{"pipeline_info", nil},
		{"describe_table", map[string]any{"table": "pipelines"}},
	} {
		if got := e.fail(call.tool, call.args); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", call.tool, got, want)
		}
	}
}

// A key the API echoes back (plain and JSON-escaped) reaches no tool result
// in any spelling: it was redacted before the load stored it.
func TestEchoedKeyInNoToolResult(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{Deviations: cfsim.Deviations{EchoKey: "/pipelines"}}})
	e.load("pipelines")
	var out struct {
		Rows [][]any `json:"rows"`
	}
	e.ok("query", map[string]any{"sql": "SELECT echo_plain, echo_escaped, echo_mixed, echo_nested FROM codefresh_data.pipelines LIMIT 1"}, &out)
	if len(out.Rows) != 1 || fmt.Sprint(out.Rows[0]) != `[[REDACTED] [REDACTED] [REDACTED] {"token":"[REDACTED]"}]` {
		t.Fatalf("rows = %v", out.Rows)
	}
	e.ok("describe_table", map[string]any{"table": "pipelines"}, nil)
	e.ok("pipeline_info", nil, nil)
	red := secrets.NewRedactor(canary)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.seen {
		if red.Redact(s) != s {
			t.Fatalf("a result holds the key: %.300s", s)
		}
	}
}

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
