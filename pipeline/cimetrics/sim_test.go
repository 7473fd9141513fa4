package cimetrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/cimetrics"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

const canary = "cfk-CANARY-metrics-5d21c0"

// simNow is the simulator's clock: its history ends here.
var simNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// apiBuild is what the independent computation reads of a /workflow record.
type apiBuild struct {
	ID, Status, PipelineName, BranchName, Revision string
	Created, Started, Finished                     *time.Time
}

// fetchBuilds lists every build from the simulator as a client would:
// page 1 with paginationReset, then the next pages in the same session.
func fetchBuilds(t *testing.T, base string) []apiBuild {
	t.Helper()
	var out []apiBuild
	for page := 1; ; page++ {
		q := url.Values{"limit": {"100"}, "page": {strconv.Itoa(page)}}
		if page == 1 {
			q.Set("paginationReset", "true")
		}
		req, _ := http.NewRequest("GET", base+"/workflow?"+q.Encode(), nil)
		req.Header.Set("Authorization", canary)
		req.Header.Set("X-Pagination-Session-Id", "independent-check")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Workflows struct {
				Docs []struct {
					ID, Status, PipelineName, BranchName, Revision string
					Created, Started, Finished                     *time.Time
				} `json:"docs"`
			} `json:"workflows"`
			Pagination struct {
				NextPage bool `json:"nextPage"`
			} `json:"pagination"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /workflow page %d: %d %v", page, resp.StatusCode, err)
		}
		for _, d := range body.Workflows.Docs {
			out = append(out, apiBuild(d))
		}
		if !body.Pagination.NextPage {
			return out
		}
	}
}

// figures are one pipeline's metrics computed in plain Go.
type figures struct {
	builds, successes, failures, finished int
	runs, queues                          []float64
	recoveries                            []float64
	flaky, revisions                      int
}

// percentile is linear interpolation between closest ranks (percentile_cont).
func percentile(xs []float64, q float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(s) {
		return s[lo], true
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo]), true
}

func secondsBetween(a, b *time.Time) float64 { return b.Sub(*a).Seconds() }

// independent computes per pipeline: counts, durations, recoveries (first
// failure of a streak to the next success on the pipeline and branch, in
// finish order) and flaky revisions (a failure and a later-created success
// of the same pipeline and revision).
func independent(builds []apiBuild) map[string]*figures {
	out := map[string]*figures{}
	get := func(p string) *figures {
		if out[p] == nil {
			out[p] = &figures{}
		}
		return out[p]
	}
	type key struct{ pipeline, branch string }
	streams := map[key][]apiBuild{}
	for _, b := range builds {
		f := get(b.PipelineName)
		f.builds++
		ended := b.Status == "success" || b.Status == "error" || b.Status == "terminated"
		switch b.Status {
		case "success":
			f.successes++
		case "error":
			f.failures++
		}
		if ended {
			f.finished++
			if b.Started != nil && b.Finished != nil {
				f.runs = append(f.runs, secondsBetween(b.Started, b.Finished))
			}
		}
		if b.Started != nil {
			f.queues = append(f.queues, secondsBetween(b.Created, b.Started))
		}
		if (b.Status == "success" || b.Status == "error") && b.Finished != nil {
			k := key{b.PipelineName, b.BranchName}
			streams[k] = append(streams[k], b)
		}
	}
	for k, s := range streams {
		sort.Slice(s, func(i, j int) bool {
			if !s[i].Finished.Equal(*s[j].Finished) {
				return s[i].Finished.Before(*s[j].Finished)
			}
			return s[i].ID < s[j].ID
		})
		var firstFail *time.Time
		for _, b := range s {
			switch {
			case b.Status == "error" && firstFail == nil:
				firstFail = b.Finished
			case b.Status == "success" && firstFail != nil:
				get(k.pipeline).recoveries = append(get(k.pipeline).recoveries, secondsBetween(firstFail, b.Finished))
				firstFail = nil
			}
		}
		// Revisions: over the finished success/failure builds of the pipeline.
		_ = k
	}
	type rev struct{ pipeline, revision string }
	byRev := map[rev][]apiBuild{}
	for _, s := range streams {
		for _, b := range s {
			r := rev{b.PipelineName, b.Revision}
			byRev[r] = append(byRev[r], b)
		}
	}
	for r, bs := range byRev {
		get(r.pipeline).revisions++
		flaky := false
		for _, f := range bs {
			for _, s := range bs {
				later := s.Created.After(*f.Created) || s.Created.Equal(*f.Created) && s.ID > f.ID
				flaky = flaky || f.Status == "error" && s.Status == "success" && later
			}
		}
		if flaky {
			get(r.pipeline).flaky++
		}
	}
	return out
}

// simProject loads builds and build_steps from a simulator into kind.
func simProject(t *testing.T, kind string, sim *httptest.Server) *pipeline.Project {
	t.Helper()
	p, err := pipeline.OpenProject(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials = secrets.Static(canary, sim.URL+"/api", "test")
	p.RatePerSecond, p.RetryBaseWait, p.LockWait = 1000, time.Millisecond, time.Second
	p.Env = func(string) string { return "" }
	p.Config.Destination.Type = kind
	on := true
	p.Config.Resources = map[string]pipeline.ResourceConfig{"builds": {Enabled: &on}, "build_steps": {Enabled: &on}}
	if kind == "postgres" {
		dsn := pgtest.DSN(t)
		s, d := pgtest.Settings(t, dsn), &p.Config.Destination
		d.Host, d.Port, d.Database, d.User, d.SSLMode = s.Host, s.Port, s.Database, s.User, s.SSLMode
		p.Config.DatasetName = pgtest.Dataset(t, dsn)
	}
	if _, err := p.Run(context.Background(), pipeline.Options{Resources: []string{"builds", "build_steps"}}); err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

func newSim(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(cfsim.New(cfsim.Config{Seed: 21, Pipelines: 6, Builds: 900, Projects: 2, APIKey: canary, Now: simNow}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// near: a rounded figure equals the exact one to its rounding.
func near(got any, want float64, decimals int) bool {
	g, ok := got.(float64)
	if !ok {
		return false
	}
	return math.Abs(g-want) <= 0.5*math.Pow(10, -float64(decimals))+1e-9
}

// TestMetricsEqualIndependentComputation is issue 21's bar: every figure
// ci_metrics gives per pipeline equals the same figure computed in Go from
// the simulator's API responses, on DuckDB and on PostgreSQL.
func TestMetricsEqualIndependentComputation(t *testing.T) {
	srv := newSim(t)
	builds := fetchBuilds(t, srv.URL+"/api")
	want := independent(builds)
	totalRecoveries, totalFlaky := 0, 0
	for _, f := range want {
		totalRecoveries += len(f.recoveries)
		totalFlaky += f.flaky
	}
	t.Logf("%d builds, %d pipelines, %d recoveries, %d flaky revisions", len(builds), len(want), totalRecoveries, totalFlaky)
	if totalRecoveries == 0 {
		t.Fatal("the simulated history has no recovery: MTTR would be untested")
	}
	req := cimetrics.Request{
		Metrics: []string{"build_count", "success_rate", "failure_count", "duration_p50", "duration_p95", "queue_p50", "queue_p95", "mttr", "recoveries", "flaky_count", "flaky_rate"},
		GroupBy: []string{"pipeline"}, Since: "2000-01-01", Until: "2100-01-01",
	}
	for _, kind := range []string{"duckdb", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			p := simProject(t, kind, srv)
			r, err := p.Reader(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ans, err := pipeline.CIMetrics(context.Background(), r, p.Config, req)
			if err != nil {
				t.Fatal(err)
			}
			if ans.RowCount != len(want) || ans.Truncated {
				t.Fatalf("%d rows (truncated %v), want one per pipeline: %d", ans.RowCount, ans.Truncated, len(want))
			}
			col := func(name string) int { return slices.Index(ans.Columns, name) }
			for _, row := range ans.Rows {
				name := fmt.Sprint(row[0])
				f := want[name]
				if f == nil {
					t.Fatalf("pipeline %q is not in the API's builds", name)
				}
				check := func(metric string, w float64, ok bool, decimals int) {
					t.Helper()
					got := row[col(metric)]
					if !ok {
						if got != nil {
							t.Errorf("%s %s = %v, want null", name, metric, got)
						}
						return
					}
					if decimals < 0 {
						if got != int64(w) {
							t.Errorf("%s %s = %v (%T), want %v", name, metric, got, got, w)
						}
						return
					}
					if !near(got, w, decimals) {
						t.Errorf("%s %s = %v, want %v", name, metric, got, w)
					}
				}
				check("build_count", float64(f.builds), true, -1)
				check("failure_count", float64(f.failures), true, -1)
				check("success_rate", float64(f.successes)/float64(f.finished), f.finished > 0, 4)
				p50, ok := percentile(f.runs, 0.5)
				check("duration_p50", p50, ok, 3)
				p95, ok := percentile(f.runs, 0.95)
				check("duration_p95", p95, ok, 3)
				q50, ok := percentile(f.queues, 0.5)
				check("queue_p50", q50, ok, 3)
				q95, ok := percentile(f.queues, 0.95)
				check("queue_p95", q95, ok, 3)
				var sum float64
				for _, s := range f.recoveries {
					sum += s
				}
				check("mttr", sum/float64(max(len(f.recoveries), 1)), len(f.recoveries) > 0, 3)
				check("recoveries", float64(len(f.recoveries)), true, -1)
				check("flaky_count", float64(f.flaky), true, -1)
				check("flaky_rate", float64(f.flaky)/float64(max(f.revisions, 1)), f.revisions > 0, 4)
			}
			for _, m := range req.Metrics {
				if ans.Definitions[m] == "" {
					t.Errorf("no definition of %s", m)
				}
			}
		})
	}
}

// TestWindowGroupingAndDeploys: last 7 days by day counts each day's
// builds; deploy pipelines by glob give change failure rate and deploy
// frequency as computed from the API's builds; the answer carries no key.
func TestWindowGroupingAndDeploys(t *testing.T) {
	srv := newSim(t)
	builds := fetchBuilds(t, srv.URL+"/api")
	p := simProject(t, "duckdb", srv)
	p.Config.CI.DeployPipelines = []string{"*/deploy"}
	r, err := p.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	since := simNow.Add(-7 * 24 * time.Hour)
	perDay := map[string]int64{}
	var deployOK, deployFail float64
	for _, b := range builds {
		if b.Created.Before(since) || !b.Created.Before(simNow) {
			continue
		}
		perDay[b.Created.UTC().Format(time.DateOnly)]++
		if ok, _ := path.Match("*/deploy", b.PipelineName); ok {
			switch b.Status {
			case "success":
				deployOK++
			case "error":
				deployFail++
			}
		}
	}
	ans, err := cimetrics.Compute(context.Background(), r, cimetrics.Request{Metrics: []string{"build_count"}, GroupBy: []string{"day"}, Last: "7d"},
		cimetrics.Options{Dataset: p.Config.Dataset(), Now: simNow})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for i, row := range ans.Rows {
		got[fmt.Sprint(row[0])] = row[1].(int64)
		if i > 0 && fmt.Sprint(ans.Rows[i-1][0]) >= fmt.Sprint(row[0]) {
			t.Errorf("days not in order: %v", ans.Rows)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(perDay) {
		t.Errorf("builds per day = %v, want %v", got, perDay)
	}
	if !ans.Window.Since.Equal(since) || !ans.Window.Until.Equal(simNow) {
		t.Errorf("window %+v", ans.Window)
	}
	dep, err := cimetrics.Compute(context.Background(), r, cimetrics.Request{Metrics: []string{"change_failure_rate", "deploy_frequency"}, Last: "7d"},
		cimetrics.Options{Dataset: p.Config.Dataset(), Now: simNow, DeployPipelines: p.Config.CI.DeployPipelines})
	if err != nil {
		t.Fatal(err)
	}
	if deployOK+deployFail == 0 || len(dep.Rows) != 1 {
		t.Fatalf("no deploys in the window (%v) or rows %v", deployOK+deployFail, dep.Rows)
	}
	if !near(dep.Rows[0][0], deployFail/(deployOK+deployFail), 4) || !near(dep.Rows[0][1], deployOK/7, 4) {
		t.Errorf("deploys: %v, want change failure rate %v and %v per day", dep.Rows[0], deployFail/(deployOK+deployFail), deployOK/7)
	}
	raw, _ := json.Marshal(dep)
	if strings.Contains(string(raw), canary) {
		t.Error("the answer holds the key")
	}
	none, err := cimetrics.Compute(context.Background(), r, cimetrics.Request{Metrics: []string{"deploy_frequency"}, Last: "7d"},
		cimetrics.Options{Dataset: p.Config.Dataset(), Now: simNow})
	if err != nil || none.Rows[0][0] != nil || len(none.Notes) != 1 || !strings.Contains(none.Notes[0], "deploy_pipelines") {
		t.Errorf("without deploy pipelines: %+v %v", none, err)
	}
}

// TestInvalidRequests are refused with the valid values listed.
func TestInvalidRequests(t *testing.T) {
	cases := []struct {
		req  cimetrics.Request
		want string
	}{
		{cimetrics.Request{Metrics: []string{"speed"}}, `metric "speed": unknown metric; valid: build_count, success_rate, failure_count, duration_p50, duration_p90, duration_p95, queue_p50, queue_p90, queue_p95, mttr, recoveries, change_failure_rate, deploy_frequency, flaky_count, flaky_rate`},
		{cimetrics.Request{GroupBy: []string{"month"}}, `group_by "month": unknown grouping; valid: pipeline, project, branch, trigger, day, week`},
		{cimetrics.Request{Last: "7x"}, `last "7x": give a whole number of hours, days or weeks; valid: 24h, 7d, 2w`},
		{cimetrics.Request{Last: "7d", Since: "2024-01-01"}, `last "7d": give either last or since/until, not both`},
		{cimetrics.Request{Since: "yesterday"}, `since "yesterday": give a date (2024-05-01) or an RFC 3339 time (2024-05-01T12:00:00Z)`},
		{cimetrics.Request{Since: "2024-02-01", Until: "2024-01-01"}, `since "2024-02-01": must be before until (2024-01-01T00:00:00Z)`},
		{cimetrics.Request{Limit: 501}, `limit "501": use 1 to 500`},
		{cimetrics.Request{OrderBy: "mttr"}, `order_by "mttr": not a requested metric or grouping; valid: build_count, success_rate, failure_count, duration_p95`},
	}
	for _, tc := range cases {
		_, err := cimetrics.Compute(context.Background(), nil, tc.req, cimetrics.Options{Dataset: "codefresh_data"})
		var ve *cimetrics.ValidationError
		if !errors.As(err, &ve) || err.Error() != tc.want {
			t.Errorf("%+v:\n got %v\nwant %s", tc.req, err, tc.want)
		}
	}
}

// TestNoViews: a dataset whose builds were never loaded says so.
func TestNoViews(t *testing.T) {
	srv := newSim(t)
	p, err := pipeline.OpenProject(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials = secrets.Static(canary, srv.URL+"/api", "test")
	p.RatePerSecond, p.RetryBaseWait = 1000, time.Millisecond
	if _, err := p.Run(context.Background(), pipeline.Options{Resources: []string{"projects"}}); err != nil {
		t.Fatal(err)
	}
	r, err := p.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = pipeline.CIMetrics(context.Background(), r, p.Config, cimetrics.Request{})
	var nv *cimetrics.NoViewsError
	if !errors.As(err, &nv) || !errors.Is(err, dataset.ErrNoData) || nv.Schema != "codefresh_data_ci" {
		t.Fatalf("metrics without builds: %v", err)
	}
}
