package dashboard

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var tableRowRe = regexp.MustCompile(`<tr data-table="([^"]+)"><td class="name">[^<]*</td><td class="n" data-testid="rows">([0-9,]+)</td>`)

// TestOverviewRowCounts: the overview lists every data table with the row
// count SQL gives over the same file.
func TestOverviewRowCounts(t *testing.T) {
	s := serve(t, demoDir, nil)
	p := s.get(t, "/")
	if p.StatusCode != 200 {
		t.Fatalf("status %d: %s", p.StatusCode, p.Body)
	}
	shown := map[string]int64{}
	for _, m := range tableRowRe.FindAllStringSubmatch(p.Body, -1) {
		n, _ := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
		shown[m[1]] = n
	}
	want := tableCounts(t, demoDir)
	delete(want, "all")
	if len(want) < 20 {
		t.Fatalf("demo load has only %d tables", len(want))
	}
	for name, n := range want {
		if got, ok := shown[name]; !ok || got != n {
			t.Errorf("table %s: shown %d (listed %v), SQL %d", name, got, ok, n)
		}
	}
	if len(shown) != len(want) {
		t.Errorf("overview lists %d tables, the dataset has %d", len(shown), len(want))
	}
	for _, w := range []string{"builds.created", "duckdb", "codefresh_data"} {
		if !strings.Contains(p.Body, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
}

// TestCodefreshTextEscaped: a commit message with markup is text on every
// page that shows it, and the raw markup never reaches the browser.
func TestCodefreshTextEscaped(t *testing.T) {
	s := serve(t, demoDir, nil)
	ci := s.get(t, "/ci")
	q := s.post(t, "/query", url.Values{"sql": {"SELECT commit_message FROM codefresh_data.builds LIMIT 3"}})
	for name, p := range map[string]page{"ci": ci, "query": q} {
		if strings.Contains(p.Body, "<script") || strings.Contains(p.Body, "<img") {
			t.Errorf("%s: raw markup in the page", name)
		}
		if !strings.Contains(p.Body, html.EscapeString("<script>window.__xss=1</script>")) {
			t.Errorf("%s: the commit message is not shown escaped", name)
		}
	}
}

// TestNoSecretInResponses: the simulator's key appears in no page, asset,
// query result, CSV or error.
func TestNoSecretInResponses(t *testing.T) {
	s := serve(t, demoDir, nil)
	var bodies []string
	for _, path := range []string{"/", "/loads", "/schema", "/ci", "/query", "/assets/style.css", "/nope"} {
		p := s.get(t, path)
		bodies = append(bodies, p.Body, fmt.Sprint(p.Header))
	}
	for _, sql := range []string{
		"SELECT * FROM codefresh_data.auth_keys",
		"SELECT * FROM codefresh_data.triggers",
		"SELECT * FROM codefresh_data.builds__exposed_variables__pipeline LIMIT 50",
		"SELECT name, value FROM duckdb_settings()",
		"SELECT * FROM codefresh_data._dlt_pipeline_state",
	} {
		bodies = append(bodies, s.post(t, "/query", url.Values{"sql": {sql}}).Body, s.post(t, "/query.csv", url.Values{"sql": {sql}}).Body)
	}
	for i, b := range bodies {
		if strings.Contains(b, canaryKey) || strings.Contains(b, canaryKey[len(canaryKey)-12:]) {
			t.Errorf("response %d contains the API key", i)
		}
	}
}

// TestHostileStatementsRefused: the query box refuses what the query tool
// refuses, on the page, and nothing of the file system leaks.
func TestHostileStatementsRefused(t *testing.T) {
	s := serve(t, demoDir, nil)
	for _, sql := range []string{
		"COPY (SELECT 1) TO '/tmp/dashboard-pwned.csv'",
		"ATTACH '/tmp/other.duckdb' AS other",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM '/etc/passwd'",
		"INSERT INTO codefresh_data.builds (id) VALUES ('x')",
		"SELECT 1; DROP TABLE codefresh_data.builds",
		"SET enable_external_access = true",
		"INSTALL httpfs",
	} {
		p := s.post(t, "/query", url.Values{"sql": {sql}})
		if p.StatusCode != 200 || !strings.Contains(p.Body, `data-testid="refused"`) {
			t.Errorf("%q: not refused on the page (status %d)", sql, p.StatusCode)
		}
		if strings.Contains(p.Body, "root:x:0:0") || strings.Contains(p.Body, `data-testid="result"`) {
			t.Errorf("%q: ran", sql)
		}
		c := s.post(t, "/query.csv", url.Values{"sql": {sql}})
		if c.StatusCode != http.StatusBadRequest || strings.Contains(c.Body, "root:") {
			t.Errorf("%q as CSV: status %d", sql, c.StatusCode)
		}
	}
}

// TestQueryAndCSV: a statement shows as a table and downloads as CSV with
// the same rows SQL gives; it runs in the query tool's sandbox with caps of its own.
func TestQueryAndCSV(t *testing.T) {
	s := serve(t, demoDir, nil)
	sql := "SELECT status, count(*) AS n FROM codefresh_data.builds GROUP BY 1 ORDER BY 1"
	want := queryCounts(t, demoDir, sql)
	p := s.post(t, "/query", url.Values{"sql": {sql}})
	for st, n := range want {
		if !strings.Contains(p.Body, fmt.Sprintf("<td>%s</td><td>%d</td>", st, n)) {
			t.Errorf("query page lacks %s = %d", st, n)
		}
	}
	c := s.post(t, "/query.csv", url.Values{"sql": {sql}})
	if ct := c.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("CSV content type %q: %s", ct, c.Body)
	}
	recs, err := csv.NewReader(strings.NewReader(c.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want)+1 || recs[0][0] != "status" {
		t.Fatalf("CSV = %v", recs)
	}
	for _, r := range recs[1:] {
		if n, _ := strconv.ParseInt(r[1], 10, 64); n != want[r[0]] {
			t.Errorf("CSV %s = %s, SQL %d", r[0], r[1], want[r[0]])
		}
	}
	big := s.post(t, "/query", url.Values{"sql": {"SELECT * FROM range(5000)"}, "max_rows": {"5000"}})
	if !strings.Contains(big.Body, `data-testid="truncated"`) || !strings.Contains(big.Body, "1000 rows") {
		t.Errorf("5000 rows not cut at the tool's 1000-row cap")
	}
	formula := s.post(t, "/query.csv", url.Values{"sql": {"SELECT '=HYPERLINK(1)' AS f, -3 AS n"}})
	if !strings.Contains(formula.Body, "'=HYPERLINK(1)") || !strings.Contains(formula.Body, ",-3") {
		t.Errorf("CSV formula cell not defused or number changed: %q", formula.Body)
	}
}

// TestCIInsightsMatchSQL: builds by status and the chart's bars are the
// counts SQL gives.
func TestCIInsightsMatchSQL(t *testing.T) {
	statuses := queryCounts(t, demoDir, "SELECT status, count(*) FROM codefresh_data.builds GROUP BY 1")
	days := queryCounts(t, demoDir, `SELECT strftime(CAST(date_trunc('day', created) AS DATE), '%Y-%m-%d'), count(*) FROM codefresh_data.builds
		WHERE CAST(date_trunc('day', created) AS DATE) > (SELECT max(CAST(date_trunc('day', created) AS DATE)) FROM codefresh_data.builds) - 60 GROUP BY 1`)
	running := queryCounts(t, demoDir, `SELECT 'n', count(*) FROM codefresh_data.builds WHERE lower(status) IN ('running','elected','approved','pending','pending-approval','queued','delayed')`)["n"]
	s := serve(t, demoDir, nil)
	p := s.get(t, "/ci")
	for st, n := range statuses {
		if !strings.Contains(p.Body, fmt.Sprintf(`<tr data-status="%s"><td><span class="badge %s">%s</span></td><td class="n" data-testid="count">%d</td>`, st, statusClass(st), st, n)) {
			t.Errorf("status %s: %d not shown", st, n)
		}
	}
	if len(days) < 30 {
		t.Fatalf("only %d days of builds", len(days))
	}
	for day, n := range days {
		if !strings.Contains(p.Body, fmt.Sprintf(`data-day="%s" data-total="%d"`, day, n)) {
			t.Errorf("chart bar %s: want %d builds", day, n)
		}
	}
	if !strings.Contains(p.Body, fmt.Sprintf(`data-testid="builds-active">%d<`, min(running, 50))) {
		t.Errorf("builds still running: want %d", running)
	}
}

// TestTraceSeam: a failed load from the trace opens on its error and next
// step; the overview shows the last load's warnings.
func TestTraceSeam(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	traces := func(context.Context) ([]LoadTrace, error) {
		return []LoadTrace{{
			Status: "failed", Started: start.Add(time.Hour), Finished: start.Add(time.Hour + 3*time.Second),
			Error: &TraceError{Message: "GET /workflow: 401 UNAUTHORIZED_ERROR", Cause: "auth", Next: "run codefresh-mcp secrets set <in a terminal>"},
			Resources: []ResourceTrace{{Resource: "builds", Status: "failed", Requests: 1, Error: &TraceError{Message: "401"}},
				{Resource: "images", Status: "loaded", Pages: 3, Retries: 2, Rows: map[string]int64{"images": 75}, Warnings: []string{"fell back to sequential pages"}}},
		}}, nil
	}
	s := serve(t, demoDir, traces)
	loads := s.get(t, "/loads")
	i := strings.Index(loads.Body, `data-testid="load" open>`)
	if i < 0 {
		t.Fatalf("the failed load is not open:\n%s", loads.Body)
	}
	rest := loads.Body[i:]
	for _, w := range []string{"401 UNAUTHORIZED_ERROR", "(auth)", "Next step:", "run codefresh-mcp secrets set &lt;in a terminal&gt;", "fell back to sequential pages", "3 pages", "2 retries"} {
		if !strings.Contains(rest, w) {
			t.Errorf("failed load lacks %q", w)
		}
	}
	if strings.Count(loads.Body, `data-testid="load"`) != 2 {
		t.Errorf("want the committed load and the failed one")
	}
	over := s.get(t, "/")
	if !strings.Contains(over.Body, "images: fell back to sequential pages") || !strings.Contains(over.Body, "Last load failed") {
		t.Errorf("overview lacks the last load's warnings and error")
	}
	broken := serve(t, demoDir, func(context.Context) ([]LoadTrace, error) { return nil, fmt.Errorf("trace folder unreadable") })
	if p := broken.get(t, "/loads"); p.StatusCode != 200 || !strings.Contains(p.Body, "trace folder unreadable") {
		t.Errorf("a failing trace source breaks the page: %d", p.StatusCode)
	}
}

// TestSchemaPage lists every data table with its columns and joins.
func TestSchemaPage(t *testing.T) {
	s := serve(t, demoDir, nil)
	p := s.get(t, "/schema")
	want := tableCounts(t, demoDir)
	delete(want, "all")
	delete(want, "all")
	if n := strings.Count(p.Body, `data-testid="schema-table"`); n != len(want) {
		t.Errorf("schema lists %d tables, want %d", n, len(want))
	}
	for _, w := range []string{"builds__annotations._dlt_parent_id = builds._dlt_id", "primary key", `data-testid="schema-changes"`} {
		if !strings.Contains(p.Body, w) {
			t.Errorf("schema page lacks %q", w)
		}
	}
}

func TestNoData(t *testing.T) {
	s := serve(t, t.TempDir(), nil)
	for _, path := range []string{"/", "/loads", "/schema", "/ci"} {
		if p := s.get(t, path); p.StatusCode != 200 || !strings.Contains(p.Body, `data-testid="nodata"`) {
			t.Errorf("%s without data: %d", path, p.StatusCode)
		}
	}
}
