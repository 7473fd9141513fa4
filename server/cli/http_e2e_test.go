package cli

// End-to-end tests of `serve --http`: the built binary, bearer tokens made
// by its own `tokens` commands, a simulator holding the canary key, and
// real HTTP clients (mcp-go's Streamable HTTP client, net/http, the MCP
// Inspector CLI).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/logtest"
	"github.com/cfmcp/codefresh-mcp/server"
)

// httpServe is one `serve --http` process.
type httpServe struct {
	url    string // http://127.0.0.1:PORT/mcp
	base   string // http://127.0.0.1:PORT
	stderr *logtest.Buffer
}

var servingLine = regexp.MustCompile(`serving MCP at (http://127\.0\.0\.1:\d+)/mcp \(`)

// serveHTTP starts `serve --http 127.0.0.1:0 ARGS` in dir and waits for the
// address it prints on stderr. The process is interrupted at cleanup.
func (e *e2e) serveHTTP(dir string, args ...string) *httpServe {
	e.t.Helper()
	cmd := exec.Command(e.bin, append([]string{"serve", "--http", "127.0.0.1:0"}, args...)...)
	cmd.Dir, cmd.Env = dir, append(e.environ(), "CODEFRESH_MCP_LOG_LEVEL=debug")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &httpServe{stderr: &logtest.Buffer{}}
	e.mu.Lock()
	e.live = append(e.live, s.stderr)
	e.mu.Unlock()
	found := make(chan string, 1)
	go func() {
		br := bufio.NewReader(pipe)
		for {
			line, err := br.ReadString('\n')
			s.stderr.Write([]byte(line))
			if m := servingLine.FindStringSubmatch(line); m != nil {
				found <- m[1]
				io.Copy(s.stderr, br)
				return
			}
			if err != nil {
				close(found)
				return
			}
		}
	}()
	e.t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			e.t.Errorf("serve --http did not stop within 20 s of an interrupt")
		}
	})
	select {
	case base, ok := <-found:
		if !ok {
			e.t.Fatalf("serve --http ended without serving; stderr:\n%s", s.stderr.String())
		}
		s.base, s.url = base, base+server.MCPPath
	case <-time.After(30 * time.Second):
		e.t.Fatalf("serve --http printed no address; stderr:\n%s", s.stderr.String())
	}
	return s
}

var tokenIDPattern = regexp.MustCompile(`created token (tok_[0-9a-f]{8}) `)

// newToken runs `tokens create --name NAME` and returns the token and its id.
func (e *e2e) newToken(name string) (token, id string) {
	e.t.Helper()
	r := e.must(e.home, "tokens", "create", "--name", name)
	token = strings.TrimSuffix(r.stdout, "\n")
	m := tokenIDPattern.FindStringSubmatch(r.stderr)
	if !strings.HasPrefix(token, "cfmcp_") || strings.Contains(token, "\n") || m == nil || strings.Contains(r.stderr, token) {
		e.t.Fatalf("tokens create: %s", r)
	}
	return token, m[1]
}

// httpClient is an initialized mcp-go client presenting token; legacy keeps
// it on the initialize handshake (an MCP session), else it negotiates the
// newest protocol (no session).
func httpClient(t *testing.T, url, token string, legacy bool) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	var opts []client.ClientOption
	if legacy {
		opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	}
	c := client.NewClient(tr, opts...)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "http-e2e", Version: "1"}
	if legacy {
		req.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// rawPost posts an initialize request with headers and returns status and body.
func rawPost(t *testing.T, url string, headers map[string]string) (int, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func toolNames(t *testing.T, c *client.Client) []string {
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

// readOnlyToolNames is the read-only tool set as the server package
// assembles it in this process (what serve --read-only offers on stdio).
func readOnlyToolNames(t *testing.T) []string {
	t.Helper()
	s := server.New(server.Options{ProjectDir: t.TempDir(), ReadOnly: true})
	t.Cleanup(func() { s.Close() })
	c, err := client.NewInProcessClient(s.MCP())
	if err != nil {
		t.Fatal(err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	if _, err := c.Initialize(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	return toolNames(t, c)
}

// needInspector skips (fails on CI) where npx cannot run the MCP Inspector.
func needInspector(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("npx"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("npx (Node.js) is needed for the MCP Inspector")
		}
		t.Skip("npx (Node.js) not installed: the MCP Inspector cannot run")
	}
}

// inspector runs the pinned MCP Inspector CLI against url over Streamable
// HTTP with args; both its outputs are kept for the leak checks.
func (e *e2e) inspector(url string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npx", append([]string{"-y", "@modelcontextprotocol/inspector@2.12.0", "--cli", url, "--transport", "http"}, args...)...)
	// Its OAuth secrets go to memory: no keychain in tests.
	cmd.Env = append(os.Environ(), "MCP_INSPECTOR_SECRET_STORE=memory")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	e.keep(out.String())
	e.keep(errOut.String())
	return out.String(), errOut.String(), err
}

// inspectorTools is the sorted tool names of the Inspector's tools/list output.
func inspectorTools(t *testing.T, out string) []string {
	t.Helper()
	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("inspector output: %v\n%s", err, out)
	}
	var got []string
	for _, tl := range list.Tools {
		got = append(got, tl.Name)
	}
	slices.Sort(got)
	return got
}

// A team's server: tokens made by the CLI, the read-only tools and query
// over HTTP, 401 without, with a wrong or with a revoked token, 403 for a
// foreign Origin or Host, /healthz; the key and the tokens in no output.
func TestE2EServeHTTP(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "CF_API_KEY="+e2eCanary)
	dir := t.TempDir()
	base := e.simulator(e2eCanary, "--builds", "300")
	e.must(dir, "--base-url", base, "load")
	db := openRO(t, dir)
	var builds int64
	if err := db.QueryRow(`SELECT count(*) FROM codefresh_data.builds`).Scan(&builds); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if builds == 0 {
		t.Fatal("the load wrote no builds")
	}

	// No token yet: serve --http refuses to start, saying what to do.
	r := e.run(dir, "serve", "--http", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "error: no HTTP token in "+e.home+"/.config/codefresh-mcp/http-tokens.json") ||
		!strings.Contains(r.stderr, "codefresh-mcp tokens create") {
		t.Fatalf("serve --http without tokens: %s", r)
	}
	alice, aliceID := e.newToken("alice")
	bob, bobID := e.newToken("bob")
	list := e.must(dir, "tokens", "list").stdout
	if !strings.Contains(list, aliceID+"  alice") || !strings.Contains(list, bobID+"  bob") ||
		strings.Contains(list, alice) || strings.Contains(list, bob) {
		t.Fatalf("tokens list:\n%s", list)
	}

	srv := e.serveHTTP(dir, "--base-url", base, "--allow-origin", "https://team.example.com")
	if !strings.Contains(srv.stderr.String(), "(read-only, 2 tokens in ") || strings.Contains(srv.stderr.String(), "WARNING") {
		t.Fatalf("serve --http's first lines:\n%s", srv.stderr.String())
	}

	c := httpClient(t, srv.url, alice, false)
	got, want := toolNames(t, c), readOnlyToolNames(t)
	if !slices.Equal(got, want) || !slices.Contains(got, "query") || slices.Contains(got, "start_load") {
		t.Fatalf("tools over HTTP %v, want the read-only set %v", got, want)
	}
	res, text := callText(t, c, "query", map[string]any{"sql": "SELECT count(*) AS n FROM codefresh_data.builds"})
	var q struct {
		Rows [][]int64 `json:"rows"`
	}
	if res.IsError || json.Unmarshal([]byte(text), &q) != nil || len(q.Rows) != 1 || q.Rows[0][0] != builds {
		t.Fatalf("query over HTTP = %.400s, want %d builds", text, builds)
	}
	// The key is the server's own (its environment): checked, never shown.
	res, text = callText(t, c, "check_credentials", map[string]any{})
	if res.IsError || !strings.Contains(text, `"status":"ok"`) || !strings.Contains(text, `"source":"env:CF_API_KEY"`) {
		t.Fatalf("check_credentials over HTTP = %.600s", text)
	}
	answers := []string{text}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := mcp.CallToolRequest{}
	call.Params.Name, call.Params.Arguments = "start_load", map[string]any{}
	if res, err := c.CallTool(ctx, call); err == nil && !res.IsError {
		t.Fatalf("start_load answered in read-only mode: %+v", res)
	}

	// A session on the legacy protocol works too.
	legacy := httpClient(t, srv.url, bob, true)
	if got := toolNames(t, legacy); !slices.Equal(got, want) {
		t.Fatalf("legacy session tools %v", got)
	}

	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"no token", nil, 401},
		{"wrong token", map[string]string{"Authorization": "Bearer " + alice[:len(alice)-2] + "xx"}, 401},
		{"token's digest", map[string]string{"Authorization": "Bearer " + strings.TrimPrefix(alice, "cfmcp_")}, 401},
		{"basic scheme", map[string]string{"Authorization": "Basic " + alice}, 401},
		{"foreign origin, good token", map[string]string{"Authorization": "Bearer " + alice, "Origin": "https://evil.example"}, 403},
		{"foreign origin, no token", map[string]string{"Origin": "https://evil.example"}, 403},
		{"opaque origin", map[string]string{"Authorization": "Bearer " + alice, "Origin": "null"}, 403},
		{"rebound host", map[string]string{"Authorization": "Bearer " + alice, "Host": "evil.example:80"}, 403},
		{"loopback origin", map[string]string{"Authorization": "Bearer " + alice, "Origin": "http://localhost:5173"}, 200},
		{"allowed origin", map[string]string{"Authorization": "Bearer " + alice, "Origin": "https://team.example.com"}, 200},
		{"lower-case scheme", map[string]string{"Authorization": "bearer " + bob}, 200},
	} {
		status, body := rawPost(t, srv.url, tc.headers)
		answers = append(answers, body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d (%.200s)", tc.name, status, tc.status, body)
		}
		if status == 200 && !strings.Contains(body, `"serverInfo":{"name":"codefresh-mcp"`) {
			t.Errorf("%s: body %.300s", tc.name, body)
		}
	}

	// /healthz: no token, no details; nothing else is served.
	req, _ := http.NewRequest(http.MethodGet, srv.base+"/healthz", nil)
	if status, body := do(t, req); status != 200 || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q", status, body)
	}
	req, _ = http.NewRequest(http.MethodPost, srv.base+"/healthz", nil)
	if status, _ := do(t, req); status != 405 {
		t.Errorf("POST /healthz = %d", status)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.base+"/", nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	if status, _ := do(t, req); status != 404 {
		t.Errorf("GET / = %d", status)
	}

	// Revoked while serving: refused from the next request on, the session
	// already open included; the other token still works.
	e.must(dir, "tokens", "revoke", aliceID)
	if status, _ := rawPost(t, srv.url, map[string]string{"Authorization": "Bearer " + alice}); status != 401 {
		t.Errorf("revoked token: status %d", status)
	}
	if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err == nil {
		t.Error("the revoked token's session still lists tools")
	}
	if got := toolNames(t, legacy); !slices.Equal(got, want) {
		t.Errorf("bob after alice's revocation: %v", got)
	}

	// Nothing secret anywhere: not the key in any output or answer, not a
	// token in the server's log.
	log := srv.stderr.String()
	for _, want := range []string{`status=401 reason="a bearer token is required"`, `status=401 reason="unknown or revoked token"`, `status=403 reason="origin not allowed"`} {
		if !strings.Contains(log, want) {
			t.Errorf("server log lacks %s:\n%s", want, log)
		}
	}
	for _, out := range append(e.allOutputs(), answers...) {
		if leaked(out) {
			t.Errorf("canary key in an output: %.300s", out)
		}
	}
	for _, tok := range []string{alice, bob, strings.TrimPrefix(alice, "cfmcp_"), strings.TrimPrefix(bob, "cfmcp_")} {
		if strings.Contains(log, tok) {
			t.Errorf("a token is in the server log:\n%s", log)
		}
	}
}

// Two clients write through one server (--allow-writes): neither lists,
// waits on, explains nor cancels the other's load, whether they hold two
// tokens or one token in two MCP sessions; the owner cancels its own.
func TestE2EServeHTTPSessionsAreIsolated(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "CF_API_KEY="+e2eCanary)
	dir := t.TempDir()
	// Slow pages keep the load running while the others look for it.
	base := e.simulator(e2eCanary, "--builds", "2000", "--latency", "400ms")
	alice, _ := e.newToken("alice")
	bob, _ := e.newToken("bob")
	srv := e.serveHTTP(dir, "--base-url", base, "--allow-writes")
	if !strings.Contains(srv.stderr.String(), "(writes allowed, 2 tokens in ") {
		t.Fatalf("serve --http --allow-writes:\n%s", srv.stderr.String())
	}

	owner := httpClient(t, srv.url, alice, true)
	sameToken := httpClient(t, srv.url, alice, true) // another session of alice's
	other := httpClient(t, srv.url, bob, false)      // bob, no MCP session
	if got := toolNames(t, owner); !slices.Contains(got, "start_load") || !slices.Contains(got, "cancel_load") {
		t.Fatalf("tools with --allow-writes: %v", got)
	}
	res, text := callText(t, owner, "start_load", map[string]any{})
	var started struct {
		JobID string `json:"job_id"`
		State string `json:"state"`
	}
	if res.IsError || json.Unmarshal([]byte(text), &started) != nil || started.JobID == "" || started.State != "running" {
		t.Fatalf("start_load: %s", text)
	}
	answers := []string{text}

	var wg sync.WaitGroup
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf(format, args...)
	}
	for name, c := range map[string]*client.Client{"alice's other session": sameToken, "bob": other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probe := func(tool string, args map[string]any, wantError bool, wantText string) {
				res, text := callText(t, c, tool, args)
				mu.Lock()
				answers = append(answers, text)
				mu.Unlock()
				if res.IsError != wantError || !strings.Contains(text, wantText) {
					fail("%s: %s(%v) = error %v, %.300s; want error %v with %q", name, tool, args, res.IsError, text, wantError, wantText)
				}
				if strings.Contains(text, started.JobID) && tool != "load_status" && tool != "cancel_load" && tool != "explain_load" {
					fail("%s: %s names the other's job: %.300s", name, tool, text)
				}
			}
			probe("load_status", map[string]any{}, false, "no load job has run in this session")
			probe("load_status", map[string]any{"job_id": started.JobID, "wait_seconds": 1}, true, `no load job "`+started.JobID+`" in this session`)
			probe("cancel_load", map[string]any{"job_id": started.JobID}, true, "no such load job")
			probe("explain_load", map[string]any{"job_id": started.JobID}, true, "no such load job")
			probe("start_load", map[string]any{}, true, "a load job started by another client is already running on this database")
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// The owner still sees its job running, then cancels it.
	_, text = callText(t, owner, "load_status", map[string]any{})
	answers = append(answers, text)
	if !strings.Contains(text, `"job_id":"`+started.JobID+`","state":"running"`) {
		t.Fatalf("owner's load_status: %.400s", text)
	}
	res, text = callText(t, owner, "cancel_load", map[string]any{"job_id": started.JobID})
	answers = append(answers, text)
	if res.IsError || !strings.Contains(text, `"state":"cancelled"`) {
		t.Fatalf("owner's cancel_load: %.400s", text)
	}
	for _, out := range append(e.allOutputs(), answers...) {
		if leaked(out) {
			t.Errorf("canary key in an output: %.300s", out)
		}
	}
}

// The MCP Inspector CLI over --transport http lists the read-only tools
// and gets query's answer with the token's header, and nothing without it.
func TestE2EServeHTTPInspector(t *testing.T) {
	t.Parallel()
	needInspector(t)
	e := newE2E(t, "CF_API_KEY="+e2eCanary)
	dir := t.TempDir()
	e.must(dir, "load", "--demo", "--demo-now", e2eNow, "--demo-builds", "120")
	db := openRO(t, dir)
	var pipelines int64
	if err := db.QueryRow(`SELECT count(*) FROM codefresh_data.pipelines`).Scan(&pipelines); err != nil {
		t.Fatal(err)
	}
	db.Close()
	token, _ := e.newToken("inspector")
	srv := e.serveHTTP(dir)
	inspect := func(args ...string) (string, string, error) { return e.inspector(srv.url, args...) }
	out, errOut, err := inspect("--method", "tools/list", "--header", "Authorization: Bearer "+token)
	if err != nil {
		t.Fatalf("inspector tools/list: %v\n%s\n%s", err, errOut, out)
	}
	got := inspectorTools(t, out)
	if want := readOnlyToolNames(t); !slices.Equal(got, want) {
		t.Fatalf("inspector lists %v, want %v", got, want)
	}
	out, errOut, err = inspect("--method", "tools/call", "--tool-name", "query", "--tool-arg", "sql=SELECT count(*) AS n FROM codefresh_data.pipelines",
		"--header", "Authorization: Bearer "+token)
	var q struct {
		IsError           bool `json:"isError"`
		StructuredContent struct {
			Rows [][]int64 `json:"rows"`
		} `json:"structuredContent"`
	}
	if err != nil || json.Unmarshal([]byte(out), &q) != nil || q.IsError || len(q.StructuredContent.Rows) != 1 ||
		q.StructuredContent.Rows[0][0] != pipelines || pipelines == 0 {
		t.Fatalf("inspector query: %v, want %d pipelines\n%s\n%s", err, pipelines, errOut, out)
	}
	if out, errOut, err := inspect("--method", "tools/list", "--stored-auth-only"); err == nil || strings.Contains(out, `"tools"`) {
		t.Fatalf("inspector without a token: %v\n%s\n%s", err, errOut, out)
	}
	if !strings.Contains(srv.stderr.String(), `status=401 reason="a bearer token is required"`) {
		t.Errorf("server log lacks the refused request:\n%s", srv.stderr.String())
	}
	for _, o := range e.allOutputs() {
		if leaked(o) {
			t.Errorf("canary key in an output: %.300s", o)
		}
	}
	if strings.Contains(srv.stderr.String(), strings.TrimPrefix(token, "cfmcp_")) {
		t.Errorf("the token is in the server log:\n%s", srv.stderr.String())
	}
}

// The team setup on a shared PostgreSQL dataset: a CLI load (as a
// scheduler runs it) while two HTTP clients query through `serve --http`:
// every query answers, and the last count equals the database's own.
func TestE2EServeHTTPPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	e := newE2E(t, "CF_API_KEY="+e2eCanary, "DESTINATION__POSTGRES__CREDENTIALS="+dsn)
	dir := t.TempDir()
	ds := pgtest.Dataset(t, dsn)
	pg := pgtest.Settings(t, dsn)
	cfg := fmt.Sprintf("dataset_name = %q\n\n[destination]\ntype = \"postgres\"\nhost = %q\nport = %d\ndatabase = %q\nuser = %q\nsslmode = %q\n",
		ds, pg.Host, pg.Port, pg.Database, pg.User, pg.SSLMode)
	if err := os.WriteFile(filepath.Join(dir, "codefresh_pipeline.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	base := e.simulator(e2eCanary, "--builds", "400")
	e.must(dir, "--base-url", base, "load")
	alice, _ := e.newToken("alice")
	bob, _ := e.newToken("bob")
	srv := e.serveHTTP(dir, "--base-url", base)
	clients := []*client.Client{httpClient(t, srv.url, alice, false), httpClient(t, srv.url, bob, true)}
	sql := "SELECT count(*) AS n FROM " + ds + ".builds"

	loaded := make(chan result, 1)
	go func() { loaded <- e.run(dir, "--base-url", base, "load", "--full-refresh") }()
	var wg sync.WaitGroup
	var mu sync.Mutex
	queries := map[int]int{}
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				res, text := callText(t, c, "query", map[string]any{"sql": sql})
				mu.Lock()
				queries[i]++
				mu.Unlock()
				if res.IsError || !strings.Contains(text, `"rows":[[`) {
					t.Errorf("client %d: query during the load: %.400s", i, text)
					return
				}
				select {
				case r := <-loaded:
					loaded <- r // for the other client
					return
				default:
				}
			}
		}()
	}
	wg.Wait()
	if r := <-loaded; r.code != 0 {
		t.Fatalf("load during the queries: %s", r)
	}
	t.Logf("queries answered during the load: %v", queries)

	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var want int64
	if err := conn.QueryRow(context.Background(), sql).Scan(&want); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		_, text := callText(t, c, "query", map[string]any{"sql": sql})
		var q struct {
			Rows [][]int64 `json:"rows"`
		}
		if json.Unmarshal([]byte(text), &q) != nil || len(q.Rows) != 1 || q.Rows[0][0] != want || want == 0 {
			t.Errorf("client %d after the load: %.300s, want %d", i, text, want)
		}
	}
	for _, out := range e.allOutputs() {
		if leaked(out) {
			t.Errorf("canary key in an output: %.300s", out)
		}
	}
}
