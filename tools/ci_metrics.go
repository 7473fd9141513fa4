package tools

import (
	"context"
	"errors"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/cimetrics"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// CIMetricsIn is ci_metrics's input: closed lists, no SQL.
type CIMetricsIn struct {
	Metrics  []string `json:"metrics,omitempty" jsonschema_description:"Metrics to compute (default build_count, success_rate, failure_count, duration_p95): build_count, success_rate, failure_count, duration_p50, duration_p90, duration_p95, queue_p50, queue_p90, queue_p95, mttr, recoveries, change_failure_rate, deploy_frequency, flaky_count, flaky_rate"`
	GroupBy  []string `json:"group_by,omitempty" jsonschema_description:"Group rows by any of pipeline, project, branch, trigger, day, week (UTC; default: one row over everything)"`
	Last     string   `json:"last,omitempty" jsonschema_description:"Window ending now over the builds' created time: hours, days or weeks such as 24h, 7d, 2w (or give since/until; default: all loaded builds)"`
	Since    string   `json:"since,omitempty" jsonschema_description:"Window start: a date (2024-05-01) or RFC 3339 time"`
	Until    string   `json:"until,omitempty" jsonschema_description:"Window end, exclusive (default now)"`
	Pipeline string   `json:"pipeline,omitempty" jsonschema_description:"Only builds of this pipeline name"`
	Project  string   `json:"project,omitempty" jsonschema_description:"Only builds of this project"`
	Branch   string   `json:"branch,omitempty" jsonschema_description:"Only builds of this branch"`
	Trigger  string   `json:"trigger,omitempty" jsonschema_description:"Only builds started this way: git, cron, manual"`
	OrderBy  string   `json:"order_by,omitempty" jsonschema_description:"Sort by a requested metric (descending) or grouping (ascending); default: day/week ascending when grouped by one, else the first metric descending"`
	Limit    int      `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500,default=50" jsonschema_description:"Rows at most (default 50; at most 500); more set truncated"`
}

func ciMetrics(d *Deps) Tool {
	return newTool(d, "ci_metrics", "CI metrics of the loaded builds",
		"Answer CI questions (which pipelines fail most this week, success rate per project, p95 duration per day, mean time to recovery, "+
			"flaky revisions) in one call, computed over the CI views (codefresh_data_ci.builds) with no SQL. Rows are compact: columns + rows, "+
			"each metric defined in one line under definitions. Change failure rate and deploy frequency cover the pipelines "+
			"[ci] deploy_pipelines names in the pipeline file.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in CIMetricsIn) (*cimetrics.Answer, error) {
			r, cfg, err := d.reader(ctx)
			if err != nil {
				return nil, err
			}
			defer r.Close()
			ans, err := pipeline.CIMetrics(ctx, r, *cfg, cimetrics.Request{
				Metrics: in.Metrics, GroupBy: in.GroupBy, Last: in.Last, Since: in.Since, Until: in.Until,
				Pipeline: in.Pipeline, Project: in.Project, Branch: in.Branch, Trigger: in.Trigger,
				OrderBy: in.OrderBy, Limit: in.Limit,
			})
			var invalid *cimetrics.ValidationError
			var noViews *cimetrics.NoViewsError
			switch {
			case errors.As(err, &invalid):
				return nil, withNext(err, "use only the valid values listed; the tool's schema describes each field")
			case errors.As(err, &noViews):
				return nil, withNext(err, "load builds with start_load (resources [\"builds\"]): each load creates the CI views")
			case errors.Is(err, dataset.ErrNoData):
				return nil, withNext(err, "load data first with start_load")
			case err != nil:
				return nil, err
			}
			fr, advice := d.freshness(ctx, r, cfg, []string{"builds"}, 0, nil)
			ans.Freshness = fr
			if advice != "" {
				ans.Notes = append(ans.Notes, advice)
			}
			if ans.Truncated {
				ans.Notes = append(ans.Notes, "more rows: raise limit (at most 500), filter, or group by fewer fields")
			}
			if len(ans.Notes) > 0 && strings.Contains(strings.Join(ans.Notes, " "), "deploy_pipelines") {
				ans.Notes = append(ans.Notes, `ask the user which pipelines deploy; the pipeline file takes them as [ci] deploy_pipelines = ["name or glob", ...]`)
			}
			return ans, nil
		})
}
