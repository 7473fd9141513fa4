package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// endpointJSON is one catalog entry as `endpoints --json` prints it: every
// key is always present, so scripts need not guess.
type endpointJSON struct {
	Name              string              `json:"name"`
	Method            string              `json:"method"`
	Path              string              `json:"path"`
	DataSelector      string              `json:"data_selector"`
	AltSelectors      []string            `json:"alt_selectors"`
	Paginator         codefresh.Paginator `json:"paginator"`
	PageSize          int                 `json:"page_size"`
	PrimaryKey        []string            `json:"primary_key"`
	IncrementalCursor string              `json:"incremental_cursor"`
	Parent            string              `json:"parent"`
	ParentParam       string              `json:"parent_param"`
	ParentField       string              `json:"parent_field"`
	Scope             string              `json:"scope"`
	WriteDisposition  string              `json:"write_disposition"`
	Default           bool                `json:"default"`
	SecretFields      []string            `json:"secret_fields"`
	KeyedObjects      []string            `json:"keyed_objects"`
	Params            map[string]string   `json:"params"`
	Description       string              `json:"description"`
	DocsURL           string              `json:"docs_url"`
}

func newEndpointsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "endpoints",
		Short: "List the Codefresh API endpoints the loader can read",
		Long: `List the endpoint catalog: each resource (table) with its real API path, where the
records are in the response, how it is paged, its primary key and incremental
cursor, the parent it is read for, and the API-key scope it needs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return writeEndpointsJSON(cmd.OutOrStdout(), codefresh.Catalog())
			}
			return writeEndpointsTable(cmd.OutOrStdout(), codefresh.Catalog())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the catalog as a JSON array")
	return cmd
}

func writeEndpointsJSON(w io.Writer, cat []codefresh.Resource) error {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	out := make([]endpointJSON, len(cat))
	for i, r := range cat {
		out[i] = endpointJSON{
			Name: r.Name, Method: r.Method, Path: r.Path,
			DataSelector: r.DataSelector, AltSelectors: nonNil(r.AltSelectors),
			Paginator: r.Paginator, PageSize: r.PageSize,
			PrimaryKey: nonNil(r.PrimaryKey), IncrementalCursor: r.IncrementalCursor,
			Parent: r.Parent, ParentParam: r.ParentParam, ParentField: r.ParentField, Scope: r.Scope,
			WriteDisposition: r.WriteDisposition, Default: r.Default,
			SecretFields: nonNil(r.SecretFields), KeyedObjects: nonNil(r.KeyedObjects),
			Params: r.Params, Description: r.Description, DocsURL: r.DocsURL,
		}
		if out[i].Params == nil {
			out[i].Params = map[string]string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	return nil
}

func writeEndpointsTable(w io.Writer, cat []codefresh.Resource) error {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMETHOD\tPATH\tDATA_SELECTOR\tPAGINATOR\tPRIMARY_KEY\tINCREMENTAL_CURSOR\tPARENT\tSCOPE\tDEFAULT")
	for _, r := range cat {
		sel, scope, def := catalogCells(r)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Name, r.Method, r.Path, sel, r.Paginator, dash(strings.Join(r.PrimaryKey, ",")),
			dash(r.IncrementalCursor), dash(r.Parent), scope, def)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	return nil
}

// catalogCells are a resource's data selector, scope and default as the
// endpoint listings write them.
func catalogCells(r codefresh.Resource) (sel, scope, def string) {
	sel, scope, def = cmp.Or(r.DataSelector, "(object)"), cmp.Or(r.Scope, "(any key)"), "no"
	if r.Default {
		def = "yes"
	}
	return sel, scope, def
}
