package tools

import (
	"context"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// ListEndpointsIn is list_endpoints' input.
type ListEndpointsIn struct {
	Name        string `json:"name,omitempty" jsonschema_description:"Only resources whose name or path contains this text (case-insensitive)"`
	Scope       string `json:"scope,omitempty" jsonschema_description:"Only resources needing this API-key scope or scope prefix such as build:read or pipeline"`
	EnabledOnly bool   `json:"enabled_only,omitempty" jsonschema_description:"Only resources a load reads (enabled in the pipeline file or by default)"`
}

// ListEndpointsOut is list_endpoints' result.
type ListEndpointsOut struct {
	Endpoints []Endpoint `json:"endpoints"`
	Count     int        `json:"count"`
	Enabled   []string   `json:"enabled"`
	Next      string     `json:"next"`
}

// Endpoint is one catalog resource as an agent needs it.
type Endpoint struct {
	Name              string   `json:"name"`
	Path              string   `json:"path"`
	RecordsAt         string   `json:"records_at"` // data selector: "$" bare array, "" single object
	Paging            string   `json:"paging"`
	PrimaryKey        []string `json:"primary_key,omitempty"`
	IncrementalCursor string   `json:"incremental_cursor,omitempty"`
	Parent            string   `json:"parent,omitempty"`
	Scope             string   `json:"scope,omitempty"`
	WriteDisposition  string   `json:"write_disposition"`
	Enabled           bool     `json:"enabled"`
	Description       string   `json:"description"`
}

func listEndpoints(d *Deps) Tool {
	return newTool(d, "list_endpoints", "List Codefresh endpoints",
		"The catalog of Codefresh API resources this server can load: real path, where the records are, paging, primary key, "+
			"incremental cursor, parent (detail resources read once per parent record), API-key scope, write disposition, "+
			"and whether the project's pipeline loads it. Step one of the workflow; nothing is sent to Codefresh.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in ListEndpointsIn) (ListEndpointsOut, error) {
			return d.Endpoints(ctx, in)
		})
}

// Endpoints is list_endpoints' answer; the codefresh://endpoints resource serves it too.
func (d *Deps) Endpoints(_ context.Context, in ListEndpointsIn) (ListEndpointsOut, error) {
	cfg, err := pipeline.LoadConfig(d.ProjectDir)
	if err != nil {
		return ListEndpointsOut{}, withNext(err, "fix the pipeline file with configure_pipeline (or by hand): "+pipeline.ConfigFile)
	}
	enabled := cfg.EnabledResources()
	on := map[string]bool{}
	for _, n := range enabled {
		on[n] = true
	}
	name, scope := strings.ToLower(in.Name), strings.ToLower(in.Scope)
	out := ListEndpointsOut{Endpoints: []Endpoint{}, Enabled: enabled}
	for _, r := range codefresh.Catalog() {
		if name != "" && !strings.Contains(strings.ToLower(r.Name), name) && !strings.Contains(strings.ToLower(r.Path), name) {
			continue
		}
		if scope != "" && !strings.HasPrefix(strings.ToLower(r.Scope), scope) {
			continue
		}
		if in.EnabledOnly && !on[r.Name] {
			continue
		}
		out.Endpoints = append(out.Endpoints, Endpoint{
			Name:              r.Name,
			Path:              r.Path,
			RecordsAt:         r.DataSelector,
			Paging:            string(r.Paginator),
			PrimaryKey:        r.PrimaryKey,
			IncrementalCursor: r.IncrementalCursor,
			Parent:            r.Parent,
			Scope:             r.Scope,
			WriteDisposition:  cfg.Disposition(r),
			Enabled:           on[r.Name],
			Description:       r.Description,
		})
	}
	out.Count = len(out.Endpoints)
	out.Next = "check_credentials to see which of these the key can read, then preview_endpoint on one"
	return out, nil
}
