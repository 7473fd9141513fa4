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

func TestPipelineInfoBeforeAnyLoad(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &out)
	if len(out.Tables) != 0 || len(out.Loads) != 0 || !strings.Contains(out.Next, "start_load") {
		t.Fatalf("info = %+v", out)
	}
	if out.Dataset != "codefresh_data" || out.Pipeline != "codefresh_pipeline" || out.Destination != "duckdb" {
		t.Fatalf("info = %+v", out)
	}
	text := e.fail("describe_table", map[string]any{"table": "builds"})
	if !strings.Contains(text, "start_load") {
		t.Fatalf("describe before load = %q", text)
	}
	text = e.fail("query", map[string]any{"sql": "SELECT 1"})
	if !strings.Contains(text, "start_load") {
		t.Fatalf("query before load = %q", text)
	}
}

func TestPipelineInfoAfterLoad(t *testing.T) {
	e := newEnv(t, envOpts{})
	info := e.load("pipelines", "builds")
	var out tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &out)
	if len(out.Loads) != 1 || out.Loads[0].LoadID != info.LoadID {
		t.Fatalf("loads = %+v, want %s", out.Loads, info.LoadID)
	}
	rows := map[string]int64{}
	for _, tb := range out.Tables {
		if tb.System {
			t.Errorf("system table %s listed without system_tables", tb.Name)
		}
		rows[tb.Name] = tb.Rows
	}
	if rows["builds"] != 120 || rows["pipelines"] != 6 {
		t.Fatalf("row counts = %v", rows)
	}
	if c, ok := out.Cursors["builds.created"]; !ok || c.LastValue == "" {
		t.Fatalf("cursors = %+v", out.Cursors)
	}
	e.ok("pipeline_info", map[string]any{"system_tables": true, "loads": 1}, &out)
	var sys bool
	for _, tb := range out.Tables {
		sys = sys || tb.Name == "_dlt_loads"
	}
	if !sys {
		t.Fatalf("system_tables did not list _dlt_loads: %+v", out.Tables)
	}
}

func TestDescribeTable(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.load("pipelines")
	var out tools.DescribeTableOut
	e.ok("describe_table", map[string]any{"table": "pipelines"}, &out)
	if out.Rows != 6 || len(out.Columns) == 0 || !strings.Contains(out.Next, "codefresh_data.pipelines") {
		t.Fatalf("describe = %+v", out)
	}
	names := map[string]bool{}
	for _, c := range out.Columns {
		names[c.Name] = true
	}
	if !names["metadata__id"] || !names["_dlt_id"] || !names["_dlt_load_id"] {
		t.Fatalf("columns = %v", names)
	}
	if len(out.Children) == 0 || !strings.Contains(out.Children[0].On, "_dlt_parent_id") {
		t.Fatalf("children = %+v", out.Children)
	}
	text := e.fail("describe_table", map[string]any{"table": "pipelinez"})
	if !strings.Contains(text, "pipelines") || !strings.Contains(text, "Next:") {
		t.Fatalf("unknown table = %q", text)
	}
}

// queryOut is the part of query's result the tests read.
type queryOut struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	RowCount  int      `json:"row_count"`
	Truncated bool     `json:"truncated"`
	Hint      string   `json:"hint"`
}

func TestQuery(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.load("pipelines", "builds")
	var out queryOut
	e.ok("query", map[string]any{"sql": "SELECT status, count(*) AS n FROM codefresh_data.builds GROUP BY 1 ORDER BY 2 DESC"}, &out)
	var total float64
	for _, r := range out.Rows {
		total += r[1].(float64)
	}
	if total != 120 || out.Columns[1] != "n" || out.Truncated {
		t.Fatalf("query = %+v", out)
	}
	e.ok("query", map[string]any{"sql": "SELECT id, status FROM codefresh_data.builds", "max_rows": "7"}, &out)
	if len(out.Rows) != 7 || !out.Truncated || out.Hint == "" {
		t.Fatalf("capped query: %d rows, truncated %v, hint %q", len(out.Rows), out.Truncated, out.Hint)
	}
	e.ok("query", map[string]any{"sql": "SELECT * FROM range(10000000)"}, &out)
	if len(out.Rows) != 100 || !out.Truncated {
		t.Fatalf("10M rows: %d rows, truncated %v", len(out.Rows), out.Truncated)
	}
}

// The engine refuses writes and escapes, with an error that says what to do.
func TestQueryRefusesWhatIsNotAQuery(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.load("pipelines")
	for _, sql := range []string{
		"DROP TABLE codefresh_data.pipelines",
		"DELETE FROM codefresh_data.pipelines",
		"CREATE TABLE x AS SELECT 1",
		"SELECT 1; DROP TABLE codefresh_data.pipelines",
		"SELECT * FROM read_csv('/etc/passwd')",
		"ATTACH '/tmp/x.duckdb' AS x",
		"COPY codefresh_data.pipelines TO '/tmp/out.csv'",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET threads = 1",
	} {
		text := e.fail("query", map[string]any{"sql": sql})
		if !strings.Contains(text, "Next:") {
			t.Errorf("%s: error without next step: %q", sql, text)
		}
	}
	var out struct {
		Rows [][]any `json:"rows"`
	}
	e.ok("query", map[string]any{"sql": "SELECT count(*) FROM codefresh_data.pipelines"}, &out)
	if out.Rows[0][0] != float64(6) {
		t.Fatalf("pipelines after refused statements = %v", out.Rows)
	}
}

func TestQueryTimeout(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.load("pipelines")
	text := e.fail("query", map[string]any{"sql": "SELECT count(*) FROM range(100000000000) a", "timeout_seconds": 1})
	if !strings.Contains(text, "Next:") {
		t.Fatalf("timeout error = %q", text)
	}
}

// Default answers stay well under 10k tokens (about 3.5 bytes a token in
// JSON); a query, whose rows the agent asked for, under 15k.
func TestDefaultOutputsStayCompact(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{Builds: 300, Pipelines: 20, YAMLSize: 5000}})
	e.load()
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"list_endpoints", nil},
		{"check_credentials", nil},
		{"preview_endpoint", map[string]any{"resource": "builds"}},
		{"preview_endpoint", map[string]any{"resource": "pipelines"}},
		{"configure_pipeline", nil},
		{"pipeline_info", nil},
		{"describe_table", map[string]any{"table": "builds"}},
		{"query", map[string]any{"sql": "SELECT * FROM codefresh_data.builds"}},
		{"query", map[string]any{"sql": "SELECT * FROM codefresh_data.pipelines"}},
	} {
		res, text := e.call(c.tool, c.args)
		if res.IsError {
			t.Fatalf("%s: %s", c.tool, text)
		}
		budget := 26 << 10
		if c.tool == "query" {
			budget = 52 << 10 // 48 KiB of rows and the columns, types and hint
		}
		if len(text) > budget {
			t.Errorf("%s(%v): %d bytes, budget %d", c.tool, c.args, len(text), budget)
		}
	}
}

func TestQueryByteCap(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{YAMLSize: 5000}})
	e.load("builds")
	var out struct {
		Rows      [][]any `json:"rows"`
		Truncated bool    `json:"truncated"`
		Hint      string  `json:"hint"`
	}
	e.ok("query", map[string]any{"sql": "SELECT * FROM codefresh_data.builds"}, &out)
	if !out.Truncated || len(out.Rows) == 0 || len(out.Rows) >= 100 || !strings.Contains(out.Hint, "aggregate") {
		t.Fatalf("byte cap: %d rows, truncated %v, hint %q", len(out.Rows), out.Truncated, out.Hint)
	}
}

// An agent's first look at builds, SELECT * ... LIMIT 50, comes back whole:
// the pipeline YAML summarised, long text cut with a marker, the hint says
// which columns and how to read them whole.
func TestQueryWideRowsFit(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{YAMLSize: 5000}})
	e.load("builds")
	var out queryOut
	res, text := e.call("query", map[string]any{"sql": "SELECT * FROM codefresh_data.builds ORDER BY id LIMIT 50"})
	e.decode(res, &out)
	t.Logf("%d bytes", len(text))
	if out.RowCount != 50 || len(out.Rows) != 50 || out.Truncated {
		t.Fatalf("%d rows, truncated %v, hint %q", len(out.Rows), out.Truncated, out.Hint)
	}
	col := func(name string) int {
		for i, c := range out.Columns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, out.Columns)
		return -1
	}
	yaml := out.Rows[0][col("final_workflow_yaml")].(string)
	if !strings.HasPrefix(yaml, "[yaml: ") || !strings.HasSuffix(yaml, " chars]") {
		t.Errorf("final_workflow_yaml = %.200q, want a summary", yaml)
	}
	if !strings.Contains(out.Hint, "final_workflow_yaml") || !strings.Contains(out.Hint, "alone") {
		t.Errorf("hint = %q", out.Hint)
	}
	// The column alone comes back whole.
	res, _ = e.call("query", map[string]any{"sql": "SELECT final_workflow_yaml FROM codefresh_data.builds ORDER BY id LIMIT 1"})
	e.decode(res, &out)
	if whole := out.Rows[0][0].(string); !strings.HasPrefix(whole, "version:") || len(whole) < 5000 || strings.Contains(whole, "[cut") {
		t.Errorf("the column alone: %.200q (%d chars)", whole, len(whole))
	}
}

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
