package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/logtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/server"
)

// canary is the API key of every test: it must appear in no result and no log line.
const canary = "cfk-CANARY-7f3a9d1e5b"

// env is one project folder, a simulated Codefresh and an MCP client
// talking to the server in process.
type env struct {
	t    *testing.T
	sim  *cfsim.Server
	base string
	dir  string
	srv  *server.Server
	c    *client.Client
	logs *logtest.Buffer

	outputs map[string]*jsonschema.Schema // each tool's outputSchema, as tools/list sent it

	mu       sync.Mutex
	seen     []string                  // every result text and notification
	progress []mcp.JSONRPCNotification // notifications/progress received
}

type envOpts struct {
	sim      cfsim.Config
	readOnly bool
	noKey    bool
	// noBaseURL leaves CODEFRESH_BASE_URL unset: the env key then belongs to
	// the default URL, and a pipeline file's base_url is only a request.
	noBaseURL bool
	// front, when set, is given the simulator's base URL and returns the
	// one the server uses (a server in front that answers some paths itself).
	front func(simBase string) string
	// now, when set, is the server's clock for data freshness.
	now func() time.Time
	// vars are more variables of the server's environment.
	vars map[string]string
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	t.Setenv("HOME", t.TempDir()) // no ~/.cfconfig from the machine
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if o.sim.APIKey == "" {
		o.sim.APIKey = canary
	}
	if o.sim.Builds == 0 {
		o.sim.Builds = 120
	}
	if o.sim.Pipelines == 0 {
		o.sim.Pipelines = 6
	}
	if o.sim.Projects == 0 {
		o.sim.Projects = 2
	}
	o.sim.Seed = 7
	sim := cfsim.New(o.sim)
	base, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if o.front != nil {
		base = o.front(base)
	}
	e := &env{t: t, sim: sim, base: base, dir: t.TempDir(), logs: &logtest.Buffer{}}
	vars := map[string]string{}
	if !o.noBaseURL {
		vars[secrets.EnvBaseURL] = base
	}
	if !o.noKey {
		vars[secrets.EnvAPIKey] = canary
	}
	for k, v := range o.vars {
		vars[k] = v
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv = server.New(server.Options{
		ProjectDir: e.dir,
		ReadOnly:   o.readOnly,
		Env:        func(k string) string { return vars[k] },
		Logger:     logger,
		Now:        o.now,
	})
	t.Cleanup(func() { e.srv.Close() })
	c, err := client.NewInProcessClient(e.srv.MCP())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		b, _ := json.Marshal(n)
		e.mu.Lock()
		defer e.mu.Unlock()
		e.seen = append(e.seen, string(b))
		if n.Method == string(mcp.MethodNotificationProgress) {
			e.progress = append(e.progress, n)
		}
	})
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "tools-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	e.c = c
	e.outputs = outputSchemas(t, ctx, c)
	t.Cleanup(func() {
		c.Close()
		e.assertNoCanary()
	})
	return e
}

// assertNoCanary checks every result, notification and log line.
func (e *env) assertNoCanary() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range append(e.seen, e.logs.String()) {
		if strings.Contains(s, canary) || strings.Contains(s, "CANARY") {
			e.t.Errorf("canary key leaked: %.300s", s)
		}
	}
}

// outputSchemas compiles the outputSchema of every tool the server lists.
func outputSchemas(t *testing.T, ctx context.Context, c *client.Client) map[string]*jsonschema.Schema {
	t.Helper()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, tl := range list.Tools {
		raw, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			OutputSchema json.RawMessage `json:"outputSchema"`
		}
		if err := json.Unmarshal(raw, &def); err != nil || len(def.OutputSchema) == 0 {
			t.Fatalf("%s has no outputSchema: %v", tl.Name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(def.OutputSchema))
		if err != nil {
			t.Fatal(err)
		}
		comp := jsonschema.NewCompiler()
		url := "mem://" + tl.Name + ".json"
		if err := comp.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
		if out[tl.Name], err = comp.Compile(url); err != nil {
			t.Fatalf("%s: outputSchema does not compile: %v", tl.Name, err)
		}
	}
	return out
}

// call calls a tool and returns its result and text.
func (e *env) call(name string, args map[string]any) (*mcp.CallToolResult, string) {
	e.t.Helper()
	return e.callMeta(name, args, nil)
}

func (e *env) callMeta(name string, args map[string]any, meta *mcp.Meta) (*mcp.CallToolResult, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	res, err := e.c.CallTool(ctx, req)
	if err != nil {
		e.t.Fatalf("%s: protocol error: %v", name, err)
	}
	var text string
	if len(res.Content) > 0 {
		if tc, ok := res.Content[0].(mcp.TextContent); ok {
			text = tc.Text
		}
	}
	// What a strict client does: check the structured result against the
	// tool's outputSchema (mcp-go decodes it as plain JSON values).
	if !res.IsError {
		b, _ := json.Marshal(res.StructuredContent)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			e.t.Fatalf("%s: structured content: %v", name, err)
		}
		if err := e.outputs[name].Validate(v); err != nil {
			e.t.Errorf("%s: result does not match its outputSchema: %v\n%.2000s", name, err, b)
		}
	}
	e.mu.Lock()
	e.seen = append(e.seen, text)
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		e.seen = append(e.seen, string(b))
	}
	e.mu.Unlock()
	return res, text
}

// ok calls a tool that must succeed and decodes its structured content into out.
func (e *env) ok(name string, args map[string]any, out any) {
	e.t.Helper()
	res, text := e.call(name, args)
	if res.IsError {
		e.t.Fatalf("%s(%v) failed: %s", name, args, text)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		e.t.Fatal(err)
	}
	var fromText, fromStruct any
	if err := json.Unmarshal([]byte(text), &fromText); err != nil {
		e.t.Fatalf("%s: text is not JSON: %v", name, err)
	}
	_ = json.Unmarshal(b, &fromStruct)
	if !reflect.DeepEqual(fromText, fromStruct) {
		e.t.Fatalf("%s: text and structured content differ", name)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s: decode %s: %v", name, b, err)
		}
	}
}

// fail calls a tool that must fail and returns the error text.
func (e *env) fail(name string, args map[string]any) string {
	e.t.Helper()
	res, text := e.call(name, args)
	if !res.IsError {
		e.t.Fatalf("%s(%v) succeeded, want a tool error: %s", name, args, text)
	}
	return text
}

// load runs a real load into the project's DuckDB file, outside the server.
func (e *env) load(resources ...string) *pipeline.LoadInfo {
	e.t.Helper()
	p, err := pipeline.OpenProject(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	p.Credentials = secrets.Static(canary, e.base, "test")
	info, err := p.Run(context.Background(), pipeline.Options{Resources: resources})
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	return info
}

// decode decodes a result's structured content into out.
func (e *env) decode(res *mcp.CallToolResult, out any) {
	e.t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		e.t.Fatalf("decode %s: %v", b, err)
	}
}
