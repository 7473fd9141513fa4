package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
)

// chartDays is the span of the builds-per-day chart, ending at the newest build.
const chartDays = 60

type insightsData struct {
	Dataset   string
	NoBuilds  string
	Total     int64
	ByStatus  []statusCount
	Chart     *barChart
	Pipelines []pipelineStats
	Slowest   []pipelineStats
	Failing   []pipelineStats
	Active    []buildRow
	Failures  []buildRow
	Missing   []string // builds columns this page would use but the table lacks
}

type statusCount struct {
	Status string
	Builds int64
}

type pipelineStats struct {
	Name                          string
	Builds, OK, Failed, Cancelled int64
	P50, P95                      float64 // seconds
	HasDuration                   bool
}

// Finished is what the success rate is taken over: the outcomes success,
// failure and cancelled (the CI views' definition).
func (p pipelineStats) Finished() int64 { return p.OK + p.Failed + p.Cancelled }

// SuccessRate is success / finished (0 when nothing finished).
func (p pipelineStats) SuccessRate() float64 {
	if p.Finished() == 0 {
		return 0
	}
	return float64(p.OK) / float64(p.Finished())
}

// FailureRate is failure / finished.
func (p pipelineStats) FailureRate() float64 {
	if p.Finished() == 0 {
		return 0
	}
	return float64(p.Failed) / float64(p.Finished())
}

type buildRow struct {
	ID, Pipeline, Status, Branch, Committer, Message string
	Created, Started, Finished                       time.Time
}

// The page reads the CI views (package civiews), as the agent's metrics do,
// so the two cannot disagree on what a failure or a run time is.

// ciView names one of the dataset's CI views, quoted.
func ciView(ds, view string) string { return qualified(civiews.Schema(ds), view) }

func (s *Server) insights(ctx context.Context, _ *http.Request) (any, error) {
	ds := s.opts.Dataset
	d := &insightsData{Dataset: ds}
	cols, err := s.columns(ctx, ds)
	if err != nil {
		return nil, err
	}
	if len(cols["builds"]) == 0 {
		d.NoBuilds = "no builds are loaded: enable the builds resource and run a load"
		return d, nil
	}
	have := map[string]bool{}
	for _, c := range cols["builds"] {
		have[c.Name] = true
	}
	for _, c := range []string{"status", "created", "started", "finished", "pipeline_name", "branch_name", "committer", "commit_message"} {
		if !have[c] {
			d.Missing = append(d.Missing, c)
		}
	}
	views, err := s.columns(ctx, civiews.Schema(ds))
	if err != nil {
		return nil, err
	}
	if len(views[civiews.Builds]) == 0 {
		d.NoBuilds = "the CI views (" + civiews.Schema(ds) + ") are missing: the last load predates them; run a load to create them"
		return d, nil
	}
	steps := []func(context.Context, string, *insightsData) error{s.statusTotals, s.perDay, s.perPipeline, s.activeBuilds, s.recentFailures}
	for _, step := range steps {
		if err := step(ctx, ds, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (s *Server) statusTotals(ctx context.Context, ds string, d *insightsData) error {
	res, err := s.read(ctx, `SELECT coalesce(status, '(none)') AS status, count(*) AS builds FROM `+ciView(ds, civiews.Builds)+` GROUP BY 1 ORDER BY 2 DESC, 1`)
	if err != nil {
		return fmt.Errorf("builds by status: %w", err)
	}
	for _, r := range res.Rows {
		sc := statusCount{Status: asString(r[0]), Builds: asInt(r[1])}
		d.ByStatus = append(d.ByStatus, sc)
		d.Total += sc.Builds
	}
	return nil
}

// perDay counts builds per UTC day of creation and status.
func (s *Server) perDay(ctx context.Context, ds string, d *insightsData) error {
	res, err := s.read(ctx, fmt.Sprintf(`WITH b AS (SELECT CAST(created AT TIME ZONE 'UTC' AS DATE) AS day, coalesce(status, '(none)') AS status FROM %s WHERE created IS NOT NULL),
		newest AS (SELECT max(day) AS day FROM b)
		SELECT b.day, b.status, count(*) AS builds FROM b, newest WHERE b.day > newest.day - %d GROUP BY 1, 2 ORDER BY 1, 2`, ciView(ds, civiews.Builds), chartDays))
	if err != nil {
		return fmt.Errorf("builds per day: %w", err)
	}
	var points []dayCount
	for _, r := range res.Rows {
		points = append(points, dayCount{Day: asTime(r[0]), Status: asString(r[1]), Builds: asInt(r[2])})
	}
	d.Chart = newBarChart(points, chartDays)
	return nil
}

func (s *Server) perPipeline(ctx context.Context, ds string, d *insightsData) error {
	res, err := s.read(ctx, fmt.Sprintf(`SELECT coalesce(pipeline, '(none)') AS pipeline, count(*) AS builds,
		count(*) FILTER (WHERE outcome = 'success') AS ok,
		count(*) FILTER (WHERE outcome = 'failure') AS failed,
		count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled,
		percentile_cont(0.5) WITHIN GROUP (ORDER BY run_seconds) AS p50,
		percentile_cont(0.95) WITHIN GROUP (ORDER BY run_seconds) AS p95
		FROM %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 500`, ciView(ds, civiews.Builds)))
	if err != nil {
		return fmt.Errorf("builds per pipeline: %w", err)
	}
	for _, r := range res.Rows {
		p := pipelineStats{Name: asString(r[0]), Builds: asInt(r[1]), OK: asInt(r[2]), Failed: asInt(r[3]), Cancelled: asInt(r[4])}
		var ok50, ok95 bool
		p.P50, ok50 = asFloat(r[5])
		p.P95, ok95 = asFloat(r[6])
		p.HasDuration = ok50 && ok95
		d.Pipelines = append(d.Pipelines, p)
	}
	d.Slowest = top(d.Pipelines, func(p pipelineStats) bool { return p.HasDuration }, func(a, b pipelineStats) bool { return a.P95 > b.P95 })
	d.Failing = top(d.Pipelines, func(p pipelineStats) bool { return p.Failed > 0 }, func(a, b pipelineStats) bool {
		if a.FailureRate() != b.FailureRate() {
			return a.FailureRate() > b.FailureRate()
		}
		return a.Failed > b.Failed
	})
	return nil
}

// top returns the first five of ps that keep passes, ordered by less.
func top(ps []pipelineStats, keep func(pipelineStats) bool, less func(a, b pipelineStats) bool) []pipelineStats {
	var out []pipelineStats
	for _, p := range ps {
		if keep(p) {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out[:min(5, len(out))]
}

// activeBuilds are builds whose outcome is running or pending.
func (s *Server) activeBuilds(ctx context.Context, ds string, d *insightsData) error {
	rows, err := s.builds(ctx, ds, "outcome IN ('running', 'pending')", 50)
	d.Active = rows
	return err
}

func (s *Server) recentFailures(ctx context.Context, ds string, d *insightsData) error {
	rows, err := s.builds(ctx, ds, "outcome = 'failure'", 10)
	d.Failures = rows
	return err
}

// builds lists builds matching where, newest first.
func (s *Server) builds(ctx context.Context, ds, where string, limit int) ([]buildRow, error) {
	res, err := s.read(ctx, fmt.Sprintf(`SELECT build_id, pipeline, status, branch, committer, commit_message, created, started, finished
		FROM %s WHERE %s ORDER BY created DESC NULLS LAST, build_id LIMIT %d`, ciView(ds, civiews.Builds), where, limit))
	if err != nil {
		return nil, fmt.Errorf("list builds: %w", err)
	}
	var out []buildRow
	for _, r := range res.Rows {
		out = append(out, buildRow{ID: asString(r[0]), Pipeline: asString(r[1]), Status: asString(r[2]), Branch: asString(r[3]),
			Committer: asString(r[4]), Message: asString(r[5]), Created: asTime(r[6]), Started: asTime(r[7]), Finished: asTime(r[8])})
	}
	return out, nil
}
