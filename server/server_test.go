package server

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/tools"
)

func connect(t *testing.T, opts Options) (*client.Client, *mcp.InitializeResult) {
	t.Helper()
	if opts.ProjectDir == "" {
		opts.ProjectDir = t.TempDir()
	}
	s := New(opts)
	t.Cleanup(func() { s.Close() })
	c, err := client.NewInProcessClient(s.MCP())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "server-test", Version: "1"}
	init, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return c, init
}

func listNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

func TestServerOffersEveryTool(t *testing.T) {
	c, init := connect(t, Options{})
	var want []string
	for _, tl := range tools.Definitions() {
		want = append(want, tl.Def.Name)
	}
	slices.Sort(want)
	if got := listNames(t, c); !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	last := -1
	for _, step := range []string{"list_endpoints", "check_credentials", "preview_endpoint", "start_load", "load_status", "query"} {
		i := strings.Index(init.Instructions, step)
		if i <= last {
			t.Fatalf("instructions lack %s after the step before: %q", step, init.Instructions)
		}
		last = i
	}
	if !strings.Contains(init.Instructions, "untrusted") {
		t.Fatalf("instructions do not say Codefresh data is untrusted: %q", init.Instructions)
	}
	if init.ServerInfo.Name != Name || init.Capabilities.Resources == nil || init.Capabilities.Prompts == nil {
		t.Fatalf("init = %+v", init)
	}
}

func TestReadOnlyModeDropsEveryWritingTool(t *testing.T) {
	c, _ := connect(t, Options{ReadOnly: true})
	var want []string
	for _, tl := range tools.Definitions() {
		if *tl.Def.Annotations.ReadOnlyHint {
			want = append(want, tl.Def.Name)
		}
	}
	slices.Sort(want)
	got := listNames(t, c)
	if !slices.Equal(got, want) {
		t.Fatalf("read-only tools = %v, want %v", got, want)
	}
	for _, name := range []string{"start_load", "configure_pipeline", "cancel_load"} {
		if slices.Contains(got, name) {
			t.Fatalf("%s offered in read-only mode", name)
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		if _, err := c.CallTool(context.Background(), req); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("calling %s in read-only mode: %v", name, err)
		}
	}
	for _, name := range []string{"query", "list_endpoints", "load_status"} {
		if !slices.Contains(got, name) {
			t.Fatalf("%s missing in read-only mode", name)
		}
	}
}
