package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

func newInfoCmd(a *app) *cobra.Command {
	var asJSON bool
	var staleAfter time.Duration
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the loaded data: tables, row counts, recent loads, pipeline state",
		Long: `Show where the project's data is loaded, its tables with row counts and parent
tables and each table's as-of time (the end of the load that last wrote it,
with a warning when older than --stale-after or never loaded), the most
recent loads, each pipeline's latest state (the incremental cursors) and the
schema version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.openProject()
			if err != nil {
				return err
			}
			// The last load's trace shows even where nothing was ever
			// committed (a first load that failed).
			last, terr := p.Trace("")
			if ute := (*trace.UnreadableError)(nil); errors.As(terr, &ute) {
				last = unreadableTrace(p) // said as such, not replaced by the load before it
			}
			info, fr, dsErr := readInfo(cmd.Context(), a, p, staleAfter)
			if dsErr != nil && last == nil {
				return dsErr
			}
			if asJSON {
				out := struct {
					*dataset.Info
					Freshness []dataset.TableFreshness `json:"freshness,omitempty"`
					Error     string                   `json:"error,omitempty"`
					LastLoad  *trace.Trace             `json:"last_load,omitempty"`
				}{Info: info, Freshness: fr, LastLoad: compact(last)}
				if dsErr != nil {
					out.Error = dsErr.Error()
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
			}
			if dsErr != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "no data to show: %v\n", dsErr)
				if next := nextStep(dsErr); next != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "next step: %s\n", next)
				}
			} else if err := writeInfo(cmd.OutOrStdout(), info, fr); err != nil {
				return err
			}
			if last != nil {
				writeTrace(cmd.OutOrStdout(), last)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().DurationVar(&staleAfter, "stale-after", 0, "warn when a table is older than this (default: the pipeline file's freshness_warning, else 24h)")
	return cmd
}

// readInfo summarises the dataset and how current each data table is; a
// failure to tell the latter leaves it out (the tables still show).
func readInfo(ctx context.Context, a *app, p *pipeline.Project, staleAfter time.Duration) (*dataset.Info, []dataset.TableFreshness, error) {
	p.Logger = a.logger()
	r, err := p.Reader(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	info, err := r.Info(ctx)
	if err != nil {
		return nil, nil, err
	}
	var tables []string
	for _, t := range info.Tables {
		tables = append(tables, t.Name)
	}
	return info, freshness(ctx, a, r, p, tables, dataset.FreshnessOptions{StaleAfter: staleAfter, Info: info}), nil
}

func compact(t *trace.Trace) *trace.Trace {
	if t == nil {
		return nil
	}
	return t.Compact()
}

// writeTrace prints what the last load did: outcome, per-resource requests,
// workarounds, and each failure with its next step.
func writeTrace(w io.Writer, t *trace.Trace) {
	fmt.Fprintf(w, "\nLast load %s: %s in %.1fs, %d HTTP requests, %d retries\n",
		t.LoadID, t.Status, float64(t.Duration)/1000, t.Requests, t.Retries)
	if t.Error != nil {
		fmt.Fprintf(w, "  error (%s): %s\n  next step: %s\n", t.Error.Cause, t.Error.Message, t.Error.NextStep)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  RESOURCE\tSTATUS\tPAGES\tROWS\tREQUESTS\tRETRIES\tHTTP")
	for _, r := range t.Resources {
		if r.Requests == 0 && r.Status == trace.StatusNotReached {
			continue
		}
		var codes []string
		for c, n := range r.Statuses {
			codes = append(codes, fmt.Sprintf("%s×%d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.Name, r.Status, r.Pages, r.Rows, r.Requests, r.Retries, strings.Join(codes, " "))
	}
	_ = tw.Flush()
	for _, d := range t.Warnings {
		fmt.Fprintf(w, "  warning: %s: expected %s, got %s; %s\n", d.Resource, d.Expected, d.Got, d.Action)
	}
	for _, r := range t.Problems() {
		fmt.Fprintf(w, "  %s %s (%s): %s\n", r.Status, r.Name, r.Error.Cause, r.Error.Message)
		if q := r.Error.Request; q != nil {
			fmt.Fprintf(w, "    failing request: %s %s?%s -> %d (attempt %d)\n", q.Method, q.Path, q.Query, q.Status, q.Attempt)
		}
		fmt.Fprintf(w, "    next step: %s\n", r.Error.NextStep)
	}
	if t.Record != "" {
		fmt.Fprintf(w, "  debug record: %s (replay it with `codefresh-mcp load --replay FILE`)\n", t.Record)
	}
	if t.RecordDropped != "" {
		fmt.Fprintf(w, "  %s\n", t.RecordDropped)
	}
}

// unreadableTrace is the newest trace listed as unreadable, with why.
func unreadableTrace(p *pipeline.Project) *trace.Trace {
	ts, _ := p.Traces(1)
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

func writeInfo(w io.Writer, info *dataset.Info, fr []dataset.TableFreshness) error {
	fmt.Fprintf(w, "destination  %s\nlocation     %s\ndataset      %s\n\n", info.Destination, info.Location, info.Dataset)

	asOf := map[string]string{}
	for _, f := range fr {
		switch {
		case f.Stale:
			asOf[f.Table] = fmt.Sprintf("%s (%s old, stale)", f.AsOf.Format(time.RFC3339), f.Age)
		case f.AsOf != nil:
			asOf[f.Table] = fmt.Sprintf("%s (%s old)", f.AsOf.Format(time.RFC3339), f.Age)
		case f.NeverLoaded:
			asOf[f.Table] = "never loaded"
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tCOLUMNS\tPARENT\tAS OF")
	for _, t := range info.Tables {
		parent := t.Parent
		if t.System {
			parent = "(system)"
		}
		if t.System {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", t.Name, t.Rows, t.Columns, parent)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", t.Name, t.Rows, t.Columns, parent, asOf[t.Name])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dataset.Warned(fr) {
		fmt.Fprintln(w, "next step:", freshnessNext)
	}

	fmt.Fprintln(w, "\nRecent loads (newest first):")
	if len(info.Loads) == 0 {
		fmt.Fprintln(w, "  none")
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range info.Loads {
		status := "complete"
		if l.Status != 0 {
			status = fmt.Sprintf("status %d", l.Status)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", l.LoadID, l.InsertedAt.UTC().Format(time.RFC3339), l.SchemaName, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, p := range info.PipelineStates {
		fmt.Fprintf(w, "\nPipeline %s: state version %d from load %s (%s)\n", p.PipelineName, p.Version, p.LoadID, p.CreatedAt.UTC().Format(time.RFC3339))
		var pretty bytes.Buffer
		if json.Indent(&pretty, p.State, "  ", "  ") != nil {
			pretty.Reset()
			pretty.Write(p.State)
		}
		fmt.Fprintf(w, "  %s\n", pretty.String())
	}
	for _, s := range info.Schemas {
		fmt.Fprintf(w, "\nSchema %s: version %d, hash %s (%s)\n", s.SchemaName, s.Version, s.VersionHash, s.InsertedAt.UTC().Format(time.RFC3339))
	}
	return nil
}
