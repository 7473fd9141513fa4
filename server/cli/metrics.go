package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/cimetrics"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

func newMetricsCmd(a *app) *cobra.Command {
	var asJSON bool
	var req cimetrics.Request
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "CI metrics of the loaded builds: success rates, durations, time to recovery, flaky revisions",
		Long: `Compute CI metrics over the CI views of the loaded builds (codefresh_data_ci.builds),
grouped and filtered, with no SQL: what the ci_metrics tool answers an agent.

Metrics: ` + strings.Join(cimetrics.Metrics(), ", ") + `
Groupings: ` + strings.Join(cimetrics.Groupings(), ", ") + `

Change failure rate and deploy frequency cover the pipelines that the pipeline
file names as deploys: [ci] deploy_pipelines = ["name or glob", ...].
Example: codefresh-mcp metrics --metric failure_count,success_rate --by pipeline --last 7d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, r, err := openDataset(cmd.Context(), a)
			if err != nil {
				return err
			}
			defer r.Close()
			ans, err := pipeline.CIMetrics(cmd.Context(), r, p.Config, req)
			if err != nil {
				return err
			}
			ans.Freshness = freshness(cmd.Context(), a, r, p, []string{"builds"}, dataset.FreshnessOptions{})
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(ans)
			}
			if err := writeMetrics(cmd.OutOrStdout(), ans); err != nil {
				return err
			}
			writeFreshness(cmd.OutOrStdout(), ans.Freshness)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&req.Metrics, "metric", nil, "metrics to compute, comma-separated (default "+strings.Join(cimetrics.DefaultMetrics, ",")+")")
	f.StringSliceVar(&req.GroupBy, "by", nil, "group by any of "+strings.Join(cimetrics.Groupings(), ", "))
	f.StringVar(&req.Last, "last", "", "window ending now: 24h, 7d, 2w (default: all loaded builds)")
	f.StringVar(&req.Since, "since", "", "window start: 2024-05-01 or an RFC 3339 time")
	f.StringVar(&req.Until, "until", "", "window end, exclusive (default now)")
	f.StringVar(&req.Pipeline, "pipeline", "", "only this pipeline")
	f.StringVar(&req.Project, "project-name", "", "only builds of this Codefresh project (--project is the project folder)")
	f.StringVar(&req.Branch, "branch", "", "only this branch")
	f.StringVar(&req.Trigger, "trigger", "", "only builds started this way: git, cron, manual")
	f.StringVar(&req.OrderBy, "order-by", "", "sort by a requested metric (descending) or grouping (ascending)")
	f.IntVar(&req.Limit, "limit", cimetrics.DefaultLimit, fmt.Sprintf("rows at most (up to %d)", cimetrics.MaxLimit))
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON, as the ci_metrics tool returns it")
	return cmd
}

// writeMetrics prints the rows as a table, then the window, the definitions and any notes.
func writeMetrics(w io.Writer, ans *cimetrics.Answer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(ans.Columns, "\t"))
	for _, row := range ans.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			if f, ok := v.(float64); ok {
				// Whole digits: a time to recovery in seconds is large.
				cells[i] = strconv.FormatFloat(f, 'f', -1, 64)
				continue
			}
			cells[i] = clip(cellText(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	since := "the first build"
	if !ans.Window.Since.IsZero() {
		since = ans.Window.Since.Format(time.RFC3339)
	}
	more := ""
	if ans.Truncated {
		more = ", more rows not shown (--limit)"
	}
	fmt.Fprintf(w, "(%d rows%s; builds created from %s until %s, from %s)\n", ans.RowCount, more, since, ans.Window.Until.Format(time.RFC3339), ans.Source)
	for _, m := range slices.Sorted(func(yield func(string) bool) {
		for k := range ans.Definitions {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(w, "  %s: %s\n", m, ans.Definitions[m])
	}
	for _, n := range ans.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return nil
}
