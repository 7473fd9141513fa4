package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/server"
	"github.com/cfmcp/codefresh-mcp/tools"
)

func (e *env) readResource(uri string) string {
	e.t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := e.c.ReadResource(context.Background(), req)
	if err != nil {
		e.t.Fatalf("read %s: %v", uri, err)
	}
	text := res.Contents[0].(mcp.TextResourceContents).Text
	e.mu.Lock()
	e.seen = append(e.seen, text)
	e.mu.Unlock()
	return text
}

func TestResources(t *testing.T) {
	e := newEnv(t, envOpts{})
	var eps tools.ListEndpointsOut
	if err := json.Unmarshal([]byte(e.readResource(server.EndpointsURI)), &eps); err != nil || eps.Count < 18 {
		t.Fatalf("endpoints resource: %v, %+v", err, eps)
	}
	var sch tools.SchemaOut
	if err := json.Unmarshal([]byte(e.readResource(server.SchemaURI)), &sch); err != nil || len(sch.Tables) != 0 || sch.Note == "" {
		t.Fatalf("schema before load: %v, %+v", err, sch)
	}
	e.load("pipelines")
	if err := json.Unmarshal([]byte(e.readResource(server.SchemaURI)), &sch); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, tb := range sch.Tables {
		if tb.Name == "pipelines" {
			found = tb.Rows == 6 && tb.Columns["metadata__id"] != ""
		}
	}
	if !found {
		t.Fatalf("schema after load = %+v", sch)
	}
}

func TestPromptWalksTheWorkflow(t *testing.T) {
	e := newEnv(t, envOpts{})
	req := mcp.GetPromptRequest{}
	req.Params.Name = server.PromptName
	req.Params.Arguments = map[string]string{"goal": "which pipelines fail most"}
	res, err := e.c.GetPrompt(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	text := res.Messages[0].Content.(mcp.TextContent).Text
	last := -1
	for _, step := range []string{"list_endpoints", "check_credentials", "preview_endpoint", "configure_pipeline", "start_load", "load_status", "describe_table", "query"} {
		i := strings.Index(text, step)
		if i < 0 || i < last {
			t.Fatalf("prompt lacks %s in order: %s", step, text)
		}
		last = i
	}
	if !strings.Contains(text, "which pipelines fail most") {
		t.Fatal("prompt ignores the goal")
	}
}
