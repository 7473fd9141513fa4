package server

import (
	"context"
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
)

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
