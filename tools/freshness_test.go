package tools_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// freshOut is the part of query's result the freshness tests read.
type freshOut struct {
	Rows      [][]any                  `json:"rows"`
	Hint      string                   `json:"hint"`
	Freshness []dataset.TableFreshness `json:"freshness"`
}

// twoLoads loads builds and pipelines, then pipelines alone, and returns
// each load's end as the query tool reads it from _dlt_loads.
func twoLoads(e *env) (first, second string, end1, end2 time.Time) {
	e.t.Helper()
	first, second = e.load("pipelines", "builds").LoadID, e.load("pipelines").LoadID
	var out freshOut
	e.ok("query", map[string]any{"sql": "SELECT load_id, inserted_at FROM codefresh_data._dlt_loads ORDER BY inserted_at"}, &out)
	if len(out.Rows) != 2 || out.Rows[0][0] != first || out.Rows[1][0] != second {
		e.t.Fatalf("_dlt_loads = %v, want %s then %s", out.Rows, first, second)
	}
	if len(out.Freshness) != 0 {
		e.t.Errorf("a query of _dlt_loads alone has freshness %+v", out.Freshness)
	}
	parse := func(v any) time.Time {
		at, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			e.t.Fatal(err)
		}
		return at
	}
	return first, second, parse(out.Rows[0][1]), parse(out.Rows[1][1])
}

// query names the as-of of every table the SQL reads, each the end of the
// load that last wrote it, and warns, with advice, once they are older
// than the threshold (the server's clock is injected).
func TestQueryStatesFreshnessOfEachTableRead(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	clock.Store(new(time.Now()))
	e := newEnv(t, envOpts{now: func() time.Time { return *clock.Load() }})
	first, second, end1, end2 := twoLoads(e)
	sql := "SELECT p.metadata__name, count(b.id) FROM codefresh_data.pipelines p LEFT JOIN builds b ON b.pipeline_name = p.metadata__name GROUP BY 1"

	now := end2.Add(time.Hour)
	clock.Store(&now)
	var out freshOut
	e.ok("query", map[string]any{"sql": sql}, &out)
	want := []dataset.TableFreshness{
		{Table: "builds", AsOf: &end1, LoadID: first, Age: dataset.FormatAge(now.Sub(end1))},
		{Table: "pipelines", AsOf: &end2, LoadID: second, Age: "1h"},
	}
	if got, exp := asJSON(t, out.Freshness), asJSON(t, want); got != exp {
		t.Fatalf("freshness\n got %s\nwant %s", got, exp)
	}
	if strings.Contains(out.Hint, "stale") {
		t.Errorf("fresh data, hint %q", out.Hint)
	}

	now = end2.Add(25 * time.Hour)
	clock.Store(&now)
	out = freshOut{}
	e.ok("query", map[string]any{"sql": sql}, &out)
	for _, f := range out.Freshness {
		if !f.Stale || !strings.HasPrefix(f.Warning, "stale: data as of ") || !strings.HasSuffix(f.Warning, "older than the 1d freshness threshold") {
			t.Errorf("%s after 25h: %+v", f.Table, f)
		}
	}
	if len(out.Freshness) != 2 || !strings.Contains(out.Hint, "start_load") || !strings.Contains(out.Hint, "as_of") {
		t.Fatalf("stale data: freshness %+v, hint %q", out.Freshness, out.Hint)
	}
	out = freshOut{} // decoding reuses slice elements: omitted fields would stay
	e.ok("query", map[string]any{"sql": sql, "stale_after_hours": 48}, &out)
	if dataset.Warned(out.Freshness) || strings.Contains(out.Hint, "start_load") {
		t.Fatalf("48h threshold: freshness %+v, hint %q", out.Freshness, out.Hint)
	}
}

// pipeline_info gives each table its as-of (a child table its root's) and
// warns when one is stale.
func TestPipelineInfoStatesFreshnessPerTable(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	clock.Store(new(time.Now()))
	e := newEnv(t, envOpts{now: func() time.Time { return *clock.Load() }})
	_, _, end1, end2 := twoLoads(e)
	now := end1.Add(30 * time.Hour)
	clock.Store(&now)
	var out tools.PipelineInfoOut
	e.ok("pipeline_info", map[string]any{"stale_after_hours": 30}, &out)
	checked := 0
	for _, tb := range out.Tables {
		root := strings.SplitN(tb.Name, "__", 2)[0]
		want := map[string]time.Time{"builds": end1, "pipelines": end2}[root]
		if want.IsZero() {
			continue
		}
		checked++
		if tb.AsOf == nil || !tb.AsOf.Equal(want) {
			t.Errorf("%s as_of %v, want %s", tb.Name, tb.AsOf, want)
		}
		// builds ended exactly 30h ago: not older than 30h; pipelines later.
		if tb.Warning != "" {
			t.Errorf("%s warns %q at the threshold", tb.Name, tb.Warning)
		}
	}
	if checked < 3 {
		t.Fatalf("tables %+v", out.Tables)
	}
	// 29h after the second load: builds (the first) passed 29h, pipelines did not.
	now = end2.Add(29 * time.Hour)
	clock.Store(&now)
	out = tools.PipelineInfoOut{}
	e.ok("pipeline_info", map[string]any{"stale_after_hours": 29}, &out)
	for _, tb := range out.Tables {
		if stale := strings.HasPrefix(tb.Name, "builds"); stale != strings.HasPrefix(tb.Warning, "stale:") {
			t.Errorf("29h threshold 29h after the second load: %s warning %q", tb.Name, tb.Warning)
		}
	}
	if !strings.Contains(out.Next, "start_load") {
		t.Errorf("next %q", out.Next)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The server keeps what freshness read until a load commits: a query after
// a load names that load, a query before it the one it replaced.
func TestQueryFreshnessFollowsEachLoad(t *testing.T) {
	e := newEnv(t, envOpts{})
	sql := "SELECT count(*) FROM pipelines p JOIN builds b ON b.pipeline_name = p.metadata__name"
	loadsOf := func() string {
		t.Helper()
		var out freshOut
		e.ok("query", map[string]any{"sql": sql}, &out)
		var ids []string
		for _, f := range out.Freshness {
			ids = append(ids, f.Table+"="+f.LoadID)
		}
		return strings.Join(ids, ",")
	}
	first := e.load("pipelines", "builds").LoadID
	want := "builds=" + first + ",pipelines=" + first
	for range 2 {
		if got := loadsOf(); got != want {
			t.Fatalf("after the first load: %s, want %s", got, want)
		}
	}
	second := e.load("pipelines").LoadID
	if got, want := loadsOf(), "builds="+first+",pipelines="+second; got != want {
		t.Fatalf("after the second load: %s, want %s", got, want)
	}
}
