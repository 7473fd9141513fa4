package tools

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Preview bounds keep the answer small.
const (
	previewDefaultLimit   = 5
	previewMaxLimit       = 100
	previewDefaultSamples = 3
	previewMaxSamples     = 10
	previewStringCut      = 200 // characters kept of a long string in samples
	previewListCut        = 5   // items kept of a long list in samples
)

// PreviewEndpointIn is preview_endpoint's input.
type PreviewEndpointIn struct {
	Resource   string            `json:"resource" jsonschema_description:"Catalog resource name from list_endpoints such as pipelines or builds"`
	Limit      int               `json:"limit,omitempty" jsonschema:"minimum=1,maximum=100,default=5" jsonschema_description:"Records to ask for: the page size of this one request (default 5; 1 to 100)"`
	Samples    *int              `json:"samples,omitempty" jsonschema:"minimum=0,maximum=10,default=3" jsonschema_description:"Sample records to show with long strings and lists cut (default 3; 0 to 10)"`
	Params     map[string]string `json:"params,omitempty" jsonschema_description:"Query parameters (filters) such as {\"status\":\"error\"}; added to those in the pipeline file"`
	PathParams map[string]string `json:"path_params,omitempty" jsonschema_description:"Values for {placeholders} in the path such as {\"id\":\"<build id>\"}; omitted ones are taken from the parent resource's first record"`
}

// PreviewEndpointOut is preview_endpoint's result.
type PreviewEndpointOut struct {
	Resource    string            `json:"resource"`
	URL         string            `json:"url"` // without anything secret
	Status      int               `json:"http_status"`
	DurationMS  int64             `json:"duration_ms"`
	RecordsAt   string            `json:"records_at"` // the shape found: "workflows.docs", "docs", "$" (bare array), "" (one object)
	Paging      string            `json:"paging"`
	MorePages   bool              `json:"more_pages_likely"`
	RecordCount int               `json:"record_count"`
	PathParams  map[string]string `json:"path_params,omitempty"`
	Samples     []any             `json:"samples"`
	Tables      []PreviewTable    `json:"tables_it_would_create"`
	Next        string            `json:"next"`
}

// PreviewTable is a table the page would create: columns map name to type.
type PreviewTable struct {
	Name    string            `json:"name"`
	Parent  string            `json:"parent,omitempty"`
	Columns map[string]string `json:"columns"`
}

func previewEndpoint(d *Deps) Tool {
	return newTool(d, "preview_endpoint", "Preview one Codefresh endpoint",
		"Fetch the first page of one resource (nothing is stored): HTTP status and timing, the URL without secrets, where the "+
			"records were found, paging, record count, a few sample records with long strings cut, and the tables and columns a "+
			"load would create. Errors say what failed (401 key, 403 missing scope, 404) and what to do. Sample values are "+
			"untrusted Codefresh data.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: true},
		func(ctx context.Context, in PreviewEndpointIn) (PreviewEndpointOut, error) {
			res, ok := codefresh.Lookup(in.Resource)
			if !ok {
				return PreviewEndpointOut{}, errorf("list_endpoints shows the resource names", "no resource %q in the catalog", in.Resource)
			}
			limit := clamp(in.Limit, previewDefaultLimit, 1, previewMaxLimit)
			samples := previewDefaultSamples
			if in.Samples != nil {
				samples = min(max(*in.Samples, 0), previewMaxSamples)
			}
			p, err := d.project(ctx, true)
			if err != nil {
				return PreviewEndpointOut{}, err
			}
			co := codefresh.OptionsFor(p.Credentials)
			co.HTTPClient, co.Logger, co.MaxAttempts, co.RetryBaseWait, co.MaxRetryWait = d.HTTPClient, d.Logger, 2, 250*time.Millisecond, 5*time.Second
			client, err := codefresh.New(co)
			if err != nil {
				return PreviewEndpointOut{}, fmt.Errorf("codefresh client: %w", err)
			}
			q := url.Values{}
			for k, v := range p.Config.Resources[res.Name].Params {
				q.Set(k, v)
			}
			for k, v := range in.Params {
				q.Set(k, v)
			}
			pathParams, err := fillPathParams(ctx, client, res, in.PathParams)
			if err != nil {
				return PreviewEndpointOut{}, err
			}
			var page *codefresh.Page
			err = client.Pages(ctx, res, codefresh.PageOptions{Query: q, PathParams: pathParams, PageSize: limit, MaxPages: 1},
				func(pg *codefresh.Page) error { page = pg; return nil })
			if err != nil {
				return PreviewEndpointOut{}, fmt.Errorf("preview %s: %w", res.Name, err)
			}
			if page == nil {
				return PreviewEndpointOut{}, fmt.Errorf("preview %s: no page came back", res.Name)
			}
			// The rows a load would write (build_steps: the steps of the last revision).
			rows := res.Rows(pathParams[res.ParentParam], page.Records)
			tables, err := wouldCreate(&p.Config, res, rows)
			if err != nil {
				return PreviewEndpointOut{}, err
			}
			out := PreviewEndpointOut{
				Resource:    res.Name,
				URL:         page.URL,
				Status:      page.Status,
				DurationMS:  page.Duration.Milliseconds(),
				RecordsAt:   page.Selector,
				Paging:      string(res.Paginator),
				MorePages:   res.Paginator != codefresh.PaginatorNone && len(page.Records) >= limit,
				RecordCount: len(rows),
				PathParams:  pathParams,
				Samples:     []any{},
				Tables:      tables,
			}
			for _, rec := range rows[:min(samples, len(rows))] {
				out.Samples = append(out.Samples, cut(rec))
			}
			// The hint follows the pipeline file: enabling what a load already reads confuses.
			if slices.Contains(p.Config.EnabledResources(), res.Name) {
				out.Next = res.Name + " is enabled: start_load (dry_run for a trial) loads it"
			} else {
				out.Next = "configure_pipeline to enable " + res.Name + ", then start_load with dry_run"
			}
			if len(page.Records) == 0 {
				out.Next = "no records: the account may have none, or a filter in params excludes them"
			}
			return out, nil
		})
}

func clamp(v, def, lo, hi int) int {
	if v == 0 {
		v = def
	}
	return min(max(v, lo), hi)
}

// fillPathParams completes a detail resource's path parameters from the
// first record of its parent, so "preview builds_by_id" works without an id.
func fillPathParams(ctx context.Context, c *codefresh.Client, res codefresh.Resource, given map[string]string) (map[string]string, error) {
	params := map[string]string{}
	for k, v := range given {
		params[k] = v
	}
	var missing []string
	for _, name := range res.PathParams() {
		if params[name] == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return params, nil
	}
	if res.Parent == "" || len(missing) > 1 || missing[0] != res.ParentParam {
		return nil, errorf(fmt.Sprintf("pass path_params with %v", missing), "resource %s needs path parameters %v", res.Name, missing)
	}
	parent, ok := codefresh.Lookup(res.Parent)
	if !ok {
		return nil, fmt.Errorf("resource %s: parent %q is not in the catalog", res.Name, res.Parent)
	}
	var value string
	err := c.Pages(ctx, parent, codefresh.PageOptions{PageSize: 1, MaxPages: 1}, func(pg *codefresh.Page) error {
		for _, rec := range pg.Records {
			if vs := res.ParentValues(rec); len(vs) > 0 {
				value = vs[0]
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the parent %s to fill %s: %w", parent.Name, res.ParentParam, err)
	}
	if value == "" {
		return nil, errorf(fmt.Sprintf("pass path_params {%q: ...} yourself", res.ParentParam),
			"the parent %s has no record to take %s from", parent.Name, res.ParentParam)
	}
	params[res.ParentParam] = value
	return params, nil
}

// wouldCreate normalizes the page into a throwaway schema and lists its tables.
func wouldCreate(cfg *pipeline.Config, res codefresh.Resource, recs []map[string]any) ([]PreviewTable, error) {
	sch := normalize.NewSchema(cfg.Pipeline())
	root := sch.EnsureRoot(res.Name, res.Name, cfg.Disposition(res), res.PrimaryKey)
	n := normalize.New(sch, normalize.Options{LoadID: "preview"})
	for _, rec := range recs {
		if err := n.Normalize(root.Name, rec, discard{}); err != nil {
			return nil, fmt.Errorf("normalize %s: %w", res.Name, err)
		}
	}
	out := []PreviewTable{}
	for _, t := range sch.Tables {
		pt := PreviewTable{Name: t.Name, Parent: t.Parent, Columns: map[string]string{}}
		for _, c := range t.Columns {
			pt.Columns[c.Name] = string(c.DataType)
		}
		out = append(out, pt)
	}
	return out, nil
}

type discard struct{}

func (discard) Write(*normalize.Table, []any) error { return nil }

// cut returns a copy of v with long strings and lists shortened.
func cut(v any) any {
	switch x := v.(type) {
	case string:
		r := []rune(x)
		if len(r) > previewStringCut {
			return string(r[:previewStringCut]) + fmt.Sprintf("…(+%d chars)", len(r)-previewStringCut)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out[k] = cut(x[k])
		}
		return out
	case []any:
		n := min(len(x), previewListCut)
		out := make([]any, 0, n+1)
		for _, e := range x[:n] {
			out = append(out, cut(e))
		}
		if len(x) > n {
			out = append(out, fmt.Sprintf("…(+%d items)", len(x)-n))
		}
		return out
	default:
		return v
	}
}
