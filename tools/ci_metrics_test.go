package tools_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/cimetrics"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// TestCIMetricsTool: one call answers "which pipelines fail most" with
// compact rows whose counts are the builds table's, definitions included;
// an unknown metric is refused with the valid ones; describe_table shows
// the views. The answer's size is logged for the report.
func TestCIMetricsTool(t *testing.T) {
	e := newEnv(t, envOpts{})
	text := e.fail("ci_metrics", nil)
	if !strings.Contains(text, "start_load") {
		t.Fatalf("ci_metrics before a load = %q", text)
	}
	e.load("builds")
	var out cimetrics.Answer
	res, raw := e.call("ci_metrics", map[string]any{"metrics": []string{"failure_count", "build_count", "success_rate", "duration_p95"}, "group_by": []string{"pipeline"}})
	if res.IsError {
		t.Fatalf("ci_metrics: %s", raw)
	}
	e.decode(res, &out)
	t.Logf("typical ci_metrics answer: %d bytes, %d rows", len(raw), out.RowCount)
	var info tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &info)
	var views []string
	for _, v := range info.Views {
		views = append(views, v.Name)
	}
	if strings.Join(views, ",") != "codefresh_data_ci.builds,codefresh_data_ci.pipeline_daily" || !strings.HasPrefix(info.Next, "ci_metrics answers") {
		t.Fatalf("pipeline_info views %v, next %q", views, info.Next)
	}
	// The answer states how current the builds it read are: the load's end.
	var loads struct {
		Rows [][]any `json:"rows"`
	}
	e.ok("query", map[string]any{"sql": "SELECT max(load_id) FROM codefresh_data._dlt_loads WHERE status = 0"}, &loads)
	if len(out.Freshness) != 1 || out.Freshness[0].Table != "builds" || out.Freshness[0].AsOf == nil || out.Freshness[0].Stale ||
		len(loads.Rows) != 1 || out.Freshness[0].LoadID != fmt.Sprint(loads.Rows[0][0]) {
		t.Fatalf("freshness %+v, loads %v", out.Freshness, loads.Rows)
	}
	var q struct {
		Rows [][]any `json:"rows"`
	}
	e.ok("query", map[string]any{"sql": "SELECT pipeline_name, count(*) FILTER (WHERE status = 'error'), count(*) FROM codefresh_data.builds GROUP BY 1"}, &q)
	want := map[string]string{}
	for _, r := range q.Rows {
		want[fmt.Sprint(r[0])] = fmt.Sprintf("%v,%v", r[1], r[2])
	}
	if out.RowCount != len(want) || len(out.Definitions) != 4 || strings.Join(out.Columns, ",") != "pipeline,failure_count,build_count,success_rate,duration_p95" {
		t.Fatalf("answer = %+v, want %d pipelines", out, len(want))
	}
	for i, r := range out.Rows {
		if got := fmt.Sprintf("%v,%v", r[1], r[2]); got != want[fmt.Sprint(r[0])] {
			t.Errorf("%v: failures,builds = %s, SQL says %s", r[0], got, want[fmt.Sprint(r[0])])
		}
		if i > 0 && r[1].(float64) > out.Rows[i-1][1].(float64) {
			t.Errorf("not ordered by failure_count: %v", out.Rows)
		}
	}
	bad := e.fail("ci_metrics", map[string]any{"metrics": []string{"speed"}})
	if !strings.Contains(bad, `metric "speed": unknown metric; valid: build_count,`) || !strings.Contains(bad, "Next:") {
		t.Errorf("unknown metric: %q", bad)
	}
	var d tools.DescribeTableOut
	e.ok("describe_table", map[string]any{"table": "codefresh_data_ci.builds"}, &d)
	if !d.View || d.Next != "query it as codefresh_data_ci.builds" || len(d.Columns) != 18 {
		t.Errorf("describe view = %+v", d)
	}
	e.assertNoCanary()
}
