package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
	"github.com/cfmcp/codefresh-mcp/pipeline/logtest"
)

const serveCanary = "cfk-CANARY-7f3a9d1e5b"

// moduleRoot is the repository root, seen from this package's folder: the
// binary's main package and the README live there.
const moduleRoot = "../.."

// buildBinary builds codefresh-mcp into a temp folder of the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "codefresh-mcp")
	if out, err := exec.Command("go", "build", "-o", bin, moduleRoot).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startStdio starts bin as an agent would and initializes a session.
func startStdio(t *testing.T, bin string, env []string, args ...string) (*client.Client, *logtest.Buffer) {
	t.Helper()
	stderr := &logtest.Buffer{}
	env = append(env, "HOME="+t.TempDir(), "PATH="+os.Getenv("PATH"), "CODEFRESH_MCP_LOG_LEVEL=debug")
	c, err := client.NewStdioMCPClientWithOptions(bin, env, args, transport.WithCommandStderrWriter(stderr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "stdio-test", Version: "1"}
	init, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatalf("initialize: %v\nstderr:\n%s", err, stderr.String())
	}
	if init.ServerInfo.Name != "codefresh-mcp" || !strings.Contains(init.Instructions, "untrusted") {
		t.Fatalf("init = %+v", init)
	}
	return c, stderr
}

func callText(t *testing.T, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res, res.Content[0].(mcp.TextContent).Text
}

// The built binary on stdio, as agents start it.
func TestServeStdio(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	t.Run("default start", func(t *testing.T) { testServeDefault(t, bin) })
	t.Run("three servers and a CLI load on one project", func(t *testing.T) { testServeConcurrentLoads(t, bin) })
	t.Run("read-only by env", func(t *testing.T) { testServeReadOnly(t, bin) })
	t.Run("queries during loads", func(t *testing.T) { testServeQueriesDuringLoads(t, bin) })
	t.Run("stdin closed right after the requests", func(t *testing.T) { testServeAnswersPipedRequests(t, bin) })
}

// printf '<requests>' | codefresh-mcp serve: stdin closes at once, and
// every request still gets its real answer; an over-long line gets an
// error naming the limit and the requests after it are served.
func testServeAnswersPipedRequests(t *testing.T, bin string) {
	dir := t.TempDir()
	datasettest.Write(t, filepath.Join(dir, "codefresh.duckdb"))
	input := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"printf","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1 AS one"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT '` + strings.Repeat("x", 3<<20) + `'"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_endpoints","arguments":{"name":"pipelines"}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"ping"}`,
	}, "\n") + "\n"
	cmd := exec.Command(bin, "serve", "--project", dir)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "CF_API_KEY=" + serveCanary}
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("serve: %v\nstderr:\n%s", err, stderr.String())
	}
	answers := map[string]string{}
	for line := range strings.Lines(stdout.String()) {
		var m struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if _, dup := answers[string(m.ID)]; dup {
			t.Fatalf("two answers to id %s", m.ID)
		}
		answers[string(m.ID)] = line
	}
	want := map[string]string{
		"2": `"rows":[[1]]`,
		"3": `"error":{"code":-32600,"message":"message too large: a JSON-RPC line is limited to 1048576 bytes; it was discarded unread"}`,
		"4": `\"name\":\"pipelines\"`,
		"5": `"result":{}`,
	}
	for id, frag := range want {
		if !strings.Contains(answers[id], frag) {
			t.Errorf("answer to %s = %.300s, want it to contain %s", id, answers[id], frag)
		}
	}
	if len(answers) != 5 {
		t.Errorf("%d answers to 5 requests:\n%s", len(answers), stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), serveCanary) {
		t.Error("the key in the output")
	}
}

// serveSim serves a simulator accepting serveCanary on loopback for the
// rest of the test.
func serveSim(t *testing.T, cfg cfsim.Config) (*cfsim.Server, string) {
	t.Helper()
	cfg.APIKey = serveCanary
	sim := cfsim.New(cfg)
	base, err := sim.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, base
}

func testServeDefault(t *testing.T, bin string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, base := serveSim(t, cfsim.Config{Seed: 1, Builds: 50, Pipelines: 4, Projects: 2})
	dir := t.TempDir()
	datasettest.Write(t, filepath.Join(dir, "codefresh.duckdb"))

	// No arguments at all: an agent's default start. The project comes from
	// Cursor's WORKSPACE_FOLDER_PATHS.
	c, stderr := startStdio(t, bin, []string{"CF_API_KEY=" + serveCanary, "CODEFRESH_BASE_URL=" + base, "WORKSPACE_FOLDER_PATHS=" + dir})
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) != 13 {
		t.Fatalf("%d tools", len(tools.Tools))
	}

	var texts []string
	res, text := callText(t, c, "list_endpoints", map[string]any{"name": "pipelines"})
	texts = append(texts, text)
	if res.IsError || !strings.Contains(text, `"name":"pipelines"`) {
		t.Fatalf("list_endpoints: %s", text)
	}
	res, text = callText(t, c, "query", map[string]any{"sql": "SELECT count(*) AS n FROM codefresh_data.builds"})
	texts = append(texts, text)
	var q struct {
		Rows [][]any `json:"rows"`
	}
	if res.IsError || json.Unmarshal([]byte(text), &q) != nil || len(q.Rows) != 1 {
		t.Fatalf("query: %s", text)
	}
	res, text = callText(t, c, "check_credentials", map[string]any{})
	texts = append(texts, text)
	if res.IsError || !strings.Contains(text, `"status":"ok"`) {
		t.Fatalf("check_credentials: %s", text)
	}
	// A failing call: the key is in play, and still nowhere.
	sim.SetScopes([]string{"pipeline:read"})
	res, text = callText(t, c, "preview_endpoint", map[string]any{"resource": "builds"})
	texts = append(texts, text)
	if !res.IsError || !strings.Contains(text, "403") {
		t.Fatalf("preview of a forbidden resource: %s", text)
	}
	c.Close()
	for _, s := range append(texts, stderr.String()) {
		if strings.Contains(s, serveCanary) || strings.Contains(s, "CANARY") {
			t.Fatalf("canary leaked: %.400s", s)
		}
	}
	if !strings.Contains(stderr.String(), "serving MCP on stdio") {
		t.Fatalf("stderr has no server log:\n%s", stderr.String())
	}
}

func testServeReadOnly(t *testing.T, bin string) {
	c, _ := startStdio(t, bin, []string{"CODEFRESH_MCP_READ_ONLY=1"}, "serve", "--project", t.TempDir())
	tools, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools.Tools {
		if ro := tl.Annotations.ReadOnlyHint; ro == nil || !*ro {
			t.Errorf("%s offered in read-only mode", tl.Name)
		}
	}
	if len(tools.Tools) != 10 {
		t.Fatalf("%d read-only tools, want 10", len(tools.Tools))
	}
}

func TestUnknownCommandDoesNotServe(t *testing.T) {
	root := newRootCmd(&app{stdout: os.Stdout, stderr: os.Stderr})
	root.SetArgs([]string{"lod"})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("err = %v", err)
	}
}

// Three servers (one per agent session) and a CLI load share a project: each
// load commits or fails saying the file is locked, queries keep answering,
// and the data ends exact.
func testServeConcurrentLoads(t *testing.T, bin string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, base := serveSim(t, cfsim.Config{Seed: 5, Builds: 2000, Pipelines: 6, Projects: 2})
	dir := t.TempDir()
	env := []string{"CF_API_KEY=" + serveCanary, "CODEFRESH_BASE_URL=" + base}
	cli := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--project", dir}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		return cmd.CombinedOutput()
	}
	if out, err := cli("load"); err != nil {
		t.Fatalf("first load: %v\n%s", err, out)
	}
	var clients []*client.Client
	for range 3 {
		c, _ := startStdio(t, bin, env, "serve", "--project", dir)
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	for i, c := range clients {
		wg.Add(2)
		go func() { // a load through this server
			defer wg.Done()
			res, text := callText(t, c, "start_load", map[string]any{"full_refresh": true})
			var started struct {
				JobID string `json:"job_id"`
			}
			if res.IsError || json.Unmarshal([]byte(text), &started) != nil {
				report("server %d start_load: %s", i, text)
				return
			}
			for {
				_, text := callText(t, c, "load_status", map[string]any{"job_id": started.JobID, "wait_seconds": 30})
				var st struct {
					Job struct {
						State string `json:"state"`
						Error string `json:"error"`
					} `json:"job"`
				}
				_ = json.Unmarshal([]byte(text), &st)
				switch st.Job.State {
				case "running", "":
					continue
				case "succeeded":
				default:
					if !strings.Contains(st.Job.Error, "locked") {
						report("server %d load %s without a clear reason: %s", i, st.Job.State, st.Job.Error)
					}
				}
				return
			}
		}()
		go func() { // queries through this server meanwhile
			defer wg.Done()
			for range 8 {
				res, text := callText(t, c, "query", map[string]any{"sql": "SELECT count(*) AS n FROM codefresh_data.pipelines"})
				if res.IsError && !strings.Contains(text, "locked") {
					report("server %d query failed without a clear reason: %s", i, text)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if out, err := cli("load", "--full-refresh"); err != nil && !strings.Contains(string(out), "locked") {
			report("CLI load failed without a clear reason: %v\n%s", err, out)
		}
	}()
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	out, err := cli("query", "--json", "SELECT count(*) AS n, count(DISTINCT id) AS d FROM codefresh_data.builds")
	if err != nil || !strings.Contains(string(out), "2000") {
		t.Fatalf("builds after the concurrent loads: %v %s", err, out)
	}
	if strings.Contains(string(out), serveCanary) {
		t.Fatal("the key in a query result")
	}
}

func TestServeProcsOversubscribesUnlessTheEnvironmentSays(t *testing.T) {
	none := func(string) string { return "" }
	for cores, want := range map[int]int{1: 4, 2: 4, 3: 6, 8: 16} {
		if got := serveProcs(none, cores); got != want {
			t.Errorf("%d cores: %d Ps, want %d", cores, got, want)
		}
	}
	set := func(k string) string {
		if k == "GOMAXPROCS" {
			return "1"
		}
		return ""
	}
	if got := serveProcs(set, 2); got != 0 {
		t.Errorf("GOMAXPROCS=1 in the environment: %d, want 0 (left alone)", got)
	}
}
