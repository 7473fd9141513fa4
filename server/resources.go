package server

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/cfmcp/codefresh-mcp/tools"
)

// Resource URIs.
const (
	EndpointsURI = "codefresh://endpoints"
	SchemaURI    = "codefresh://schema"
	GuideURI     = "codefresh://guide"
)

// Guide is the full guide for agents: workflow in detail, dataset layout,
// SQL examples, troubleshooting. Clients load AGENTS.md and the
// instructions into every request, so those stay short and point here;
// the guide is read when needed.
//
//go:embed guide.md
var Guide string

func addResources(s *mcpserver.MCPServer, d *tools.Deps) {
	s.AddResource(mcp.NewResource(EndpointsURI, "endpoints",
		mcp.WithResourceTitle("Codefresh endpoint catalog"),
		mcp.WithResourceDescription("Every Codefresh resource this server can load, with path, records location, paging, scope and whether the pipeline loads it (list_endpoints without filters)."),
		mcp.WithMIMEType("application/json"),
	), jsonResource(d, EndpointsURI, func(ctx context.Context) (any, error) {
		return d.Endpoints(ctx, tools.ListEndpointsIn{})
	}))
	s.AddResource(mcp.NewResource(SchemaURI, "schema",
		mcp.WithResourceTitle("Loaded dataset schema"),
		mcp.WithResourceDescription("Tables of the loaded dataset with row counts, columns and types, and parent tables (empty before the first load)."),
		mcp.WithMIMEType("application/json"),
	), jsonResource(d, SchemaURI, func(ctx context.Context) (any, error) {
		return d.Schema(ctx)
	}))
	s.AddResource(mcp.NewResource(GuideURI, "guide",
		mcp.WithResourceTitle("Guide to the Codefresh data server"),
		mcp.WithResourceDescription("How to load and query Codefresh data: the workflow in detail, dataset layout and joins, SQL examples for CI questions, troubleshooting of 401/403/404/429 and locks."),
		mcp.WithMIMEType("text/markdown"),
	), func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: GuideURI, MIMEType: "text/markdown", Text: Guide}}, nil
	})
}

// jsonResource serves get's value as compact, redacted JSON.
func jsonResource(d *tools.Deps, uri string, get func(context.Context) (any, error)) mcpserver.ResourceHandlerFunc {
	return func(ctx context.Context, _ mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		v, err := get(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s", d.Redactor.Redact(fmt.Sprintf("read %s: %v", uri, err)))
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", uri, err)
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{
			URI:      uri,
			MIMEType: "application/json",
			Text:     d.Redactor.Redact(string(b)),
		}}, nil
	}
}
