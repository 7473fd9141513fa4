package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

func newInfoCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the loaded data: tables, row counts, recent loads, pipeline state",
		Long: `Show where the project's data is loaded, its tables with row counts and parent
tables, the most recent loads, each pipeline's latest state (the incremental
cursors) and the schema version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openDataset(cmd.Context(), a)
			if err != nil {
				return err
			}
			defer r.Close()
			info, err := r.Info(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(info)
			}
			return writeInfo(cmd.OutOrStdout(), info)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

func writeInfo(w io.Writer, info *dataset.Info) error {
	fmt.Fprintf(w, "destination  %s\nlocation     %s\ndataset      %s\n\n", info.Destination, info.Location, info.Dataset)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tCOLUMNS\tPARENT")
	for _, t := range info.Tables {
		parent := t.Parent
		if t.System {
			parent = "(system)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", t.Name, t.Rows, t.Columns, parent)
	}
	if err := tw.Flush(); err != nil {
		return err
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
