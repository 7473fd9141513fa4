package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// openDataset opens the project and a reader of its loaded data on the
// destination its pipeline file names; the caller closes the reader.
func openDataset(ctx context.Context, a *app) (*pipeline.Project, dataset.Reader, error) {
	p, err := a.openProject()
	if err != nil {
		return nil, nil, err
	}
	p.Logger = a.logger()
	r, err := p.Reader(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, r, nil
}

// freshness is how current the tables read through r are; when that
// cannot be told the answer goes on and the log says so.
func freshness(ctx context.Context, a *app, r dataset.Reader, p *pipeline.Project, tables []string, opts dataset.FreshnessOptions) []dataset.TableFreshness {
	fr, err := pipeline.Freshness(ctx, r, &p.Config, tables, opts)
	if err != nil {
		a.logger().Warn("data freshness unknown", "error", err)
	}
	return fr
}

func newQueryCmd(a *app) *cobra.Command {
	var asJSON bool
	var maxRows int
	var timeout, staleAfter time.Duration
	cmd := &cobra.Command{
		Use:   `query "SQL"`,
		Short: "Run one read-only SELECT over the loaded data",
		Long: `Run one SELECT statement over the project's loaded data, on the destination
the pipeline file names (default: DuckDB file codefresh.duckdb, dataset
codefresh_data; also PostgreSQL and Parquet). Tables can be named with or
without the dataset: SELECT * FROM pipelines LIMIT 10.

Only a single SELECT runs: writes, file access, ATTACH, SET and the like are
refused. Results stop at --max-rows rows or 64 KiB; the output says when it was
cut, which loads the rows came from, and each table's as-of time, with a
warning when it is older than --stale-after (default: the pipeline file's
freshness_warning, else 24h) or was never loaded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, r, err := openDataset(cmd.Context(), a)
			if err != nil {
				return err
			}
			defer r.Close()
			res, err := r.Query(cmd.Context(), args[0], dataset.QueryOptions{MaxRows: maxRows, Timeout: timeout})
			if err != nil {
				return err
			}
			res.Freshness, err = pipeline.Freshness(cmd.Context(), r, &p.Config, res.TablesRead, dataset.FreshnessOptions{StaleAfter: staleAfter})
			if err != nil {
				res.Hint = strings.TrimSpace(res.Hint + " " + freshnessUnknown(err))
			}
			res.TablesRead = nil // freshness names them
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			return writeResultTable(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"columns":[...],"rows":[[...]],...} with truncated and provenance fields (whole values; the table cuts cells at 60 characters)`)
	cmd.Flags().IntVar(&maxRows, "max-rows", dataset.DefaultMaxRows, "stop after this many rows")
	cmd.Flags().DurationVar(&timeout, "timeout", dataset.DefaultTimeout, "interrupt the query after this long")
	cmd.Flags().DurationVar(&staleAfter, "stale-after", 0, "warn when a table read is older than this (default: the pipeline file's freshness_warning, else 24h)")
	return cmd
}

// writeResultTable prints rows as an aligned table, then a footer: the row
// count, why it was cut, and which loads the rows came from.
func writeResultTable(w io.Writer, res *dataset.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(res.Columns, "\t"))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = clip(cellText(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noun := "rows"
	if res.RowCount == 1 {
		noun = "row"
	}
	fmt.Fprintf(w, "(%d %s, %d ms)\n", res.RowCount, noun, res.ElapsedMS)
	if res.Truncated {
		fmt.Fprintln(w, "truncated:", res.Hint)
	} else if res.Hint != "" {
		fmt.Fprintln(w, "note:", res.Hint)
	}
	for _, table := range provenanceTables(res.Provenance) {
		var loads []string
		for _, p := range res.Provenance {
			if p.Table == table {
				loads = append(loads, p.LoadID+" ("+p.LoadedAt.UTC().Format(time.RFC3339)+")")
			}
		}
		fmt.Fprintf(w, "data of %s from load %s\n", table, strings.Join(loads, ", "))
	}
	writeFreshness(w, res.Freshness)
	return nil
}

// writeFreshness prints each table's as-of, or its warning, and what to
// do when one is stale or never loaded.
func writeFreshness(w io.Writer, fr []dataset.TableFreshness) {
	for _, f := range fr {
		if f.Warning != "" {
			fmt.Fprintf(w, "warning: %s: %s\n", f.Table, f.Warning)
		} else if f.AsOf != nil {
			fmt.Fprintf(w, "%s as of %s (%s old)\n", f.Table, f.AsOf.Format(time.RFC3339), f.Age)
		}
	}
	if dataset.Warned(fr) {
		fmt.Fprintln(w, "next step:", freshnessNext)
	}
}

func provenanceTables(refs []dataset.LoadRef) []string {
	var tables []string
	seen := map[string]bool{}
	for _, p := range refs {
		if !seen[p.Table] {
			seen[p.Table] = true
			tables = append(tables, p.Table)
		}
	}
	return tables
}

// maxCell keeps a table readable on a terminal; --json gives whole values.
const maxCell = 60

func clip(s string) string {
	if r := []rune(s); len(r) > maxCell {
		return string(r[:maxCell-1]) + "…"
	}
	return s
}

// cellText shows one value on one line: NULL for null, nested values as JSON.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}
