package cli

// The real agent clients, Claude Code and the Codex CLI from npm, each in a
// project made by `init`, driven by the scripted model of modelserver_test.go:
// each client starts our server from the config init wrote and passes our
// tool results back to the model, which is where they are checked.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const agentBuilds = 120 // builds the simulator serves to the clients' loads

// agentClients returns the folder with the pinned claude and codex
// executables, installing them with .ci/agent-clients.sh when npm can. It
// skips when they cannot be had, except in CI.
func agentClients(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real agent clients: not in -short")
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(moduleRoot, ".ci", "agent-clients.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := fmt.Sprintf("real agent clients unavailable (.ci/agent-clients.sh: %v): %s", err, stderr.String())
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return strings.TrimSpace(stdout.String())
}

// agentScript is the workflow AGENTS.md describes, as a model follows it:
// list_endpoints, check_credentials, start_load, load_status until the job
// ends, then two queries. It stops at the first result it cannot use.
func agentScript(h []exchange) (*exchange, string) {
	if len(h) > 0 {
		last := h[len(h)-1]
		if last.IsError {
			return nil, "stopped: " + last.Tool + " failed"
		}
	}
	call := func(tool string, args map[string]any) (*exchange, string) {
		return &exchange{Tool: tool, Args: args}, ""
	}
	switch n := len(h); {
	case n == 0:
		return call("list_endpoints", map[string]any{"name": "builds"})
	case n == 1:
		return call("check_credentials", map[string]any{})
	case n == 2:
		return call("start_load", map[string]any{})
	case h[n-1].Tool == "start_load" || h[n-1].Tool == "load_status":
		// start_load answers {job_id, state}; load_status {job: {job_id, state}}.
		var st struct {
			JobID string `json:"job_id"`
			State string `json:"state"`
			Job   *struct {
				JobID string `json:"job_id"`
				State string `json:"state"`
			} `json:"job"`
		}
		if json.Unmarshal([]byte(toolJSON(h[n-1].Result)), &st) != nil {
			return nil, "stopped: " + h[n-1].Tool + " did not answer JSON"
		}
		if st.Job != nil {
			st.JobID, st.State = st.Job.JobID, st.Job.State
		}
		if st.JobID == "" {
			return nil, "stopped: no job_id in " + h[n-1].Tool
		}
		if h[n-1].Tool == "start_load" || st.State == "running" || st.State == "pending" {
			if n > 20 {
				return nil, "stopped: the load did not end"
			}
			return call("load_status", map[string]any{"job_id": st.JobID, "wait_seconds": 50})
		}
		return call("query", map[string]any{"sql": "SELECT count(*) AS builds FROM codefresh_data.builds"})
	case h[n-1].Tool == "query" && h[n-2].Tool != "query":
		return call("query", map[string]any{"sql": "SELECT * FROM codefresh_data.builds LIMIT 50"})
	case h[n-1].Tool == "query":
		// "Which pipelines fail most this week?": one call.
		return call("ci_metrics", map[string]any{"metrics": []string{"failure_count", "build_count"}, "group_by": []string{"pipeline"},
			"since": weekStart, "until": e2eNow})
	case h[n-1].Tool == "ci_metrics":
		// "Why did the last build of the pipeline failing most fail?": one call.
		var m struct {
			Rows [][]any `json:"rows"`
		}
		if json.Unmarshal([]byte(toolJSON(h[n-1].Result)), &m) != nil || len(m.Rows) == 0 {
			return nil, "stopped: ci_metrics gave no rows"
		}
		return call("explain_build", map[string]any{"pipeline": fmt.Sprint(m.Rows[0][0])})
	}
	return nil, "Loaded the builds; counted them, looked at 50, found the pipeline failing most this week and why its last build failed."
}

// weekStart is "this week" of the simulators' pinned clock: the 7 days to e2eNow.
const weekStart = "2024-04-29T08:00:00Z"

// toolJSON is our result's JSON inside what a client passed back: the text
// itself, or a CallToolResult-shaped wrapper around it.
func toolJSON(s string) string {
	s = strings.TrimSpace(s)
	// Codex prefixes the result with "Wall time: 0.01 seconds\nOutput:\n".
	if strings.HasPrefix(s, "Wall time:") {
		if _, rest, ok := strings.Cut(s, "Output:"); ok {
			s = strings.TrimSpace(rest)
		}
	}
	var wrapped struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		Structured json.RawMessage `json:"structuredContent"`
	}
	if json.Unmarshal([]byte(s), &wrapped) == nil {
		if len(wrapped.Structured) > 0 {
			return string(wrapped.Structured)
		}
		if len(wrapped.Content) > 0 && wrapped.Content[0].Type == "text" {
			return wrapped.Content[0].Text
		}
	}
	return s
}

func TestE2ERealClients(t *testing.T) {
	bin := agentClients(t)
	e := newE2E(t)
	base := e.simulator(e2eCanary, "--builds", fmt.Sprint(agentBuilds), "--pipelines", "4", "--projects", "2")

	t.Run("claude", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		e.must(dir, "init", "--agent", "claude", "--allow-writes")
		model := newModelServer(t, agentScript)
		home := t.TempDir()
		// The user has accepted Claude Code's trust dialog for the project
		// once (without it Claude Code ignores the project's allow rules).
		writeFile(t, filepath.Join(home, ".claude.json"), fmt.Sprintf(`{"projects": {%q: {"hasTrustDialogAccepted": true}}}`, dir))
		out := runClient(t, dir, filepath.Join(bin, "claude"), []string{"-p", "Load my Codefresh builds and count them."},
			"HOME="+home,
			"ANTHROPIC_BASE_URL="+model.URL,
			"ANTHROPIC_API_KEY=sk-ant-scripted-model-not-a-key",
			"DISABLE_AUTOUPDATER=1",
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
			"CF_API_KEY="+e2eCanary,
			"CODEFRESH_BASE_URL="+base,
		)
		checkSession(t, e, model, out, dir, home)
	})
	t.Run("codex", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// A project is a git checkout (codex exec refuses to run elsewhere).
		if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v: %s", err, out)
		}
		e.must(dir, "init", "--agent", "codex")
		model := newModelServer(t, agentScript)
		home := t.TempDir()
		codexHome := filepath.Join(home, ".codex")
		// The user's own Codex config: the model provider, and the project
		// trusted so Codex reads the .codex/config.toml init wrote.
		writeFile(t, filepath.Join(codexHome, "config.toml"), fmt.Sprintf(`model = "scripted"
model_provider = "scripted"
check_for_update_on_startup = false

[model_providers.scripted]
name = "Scripted model"
base_url = %q
env_key = "SCRIPTED_MODEL_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[projects.%q]
trust_level = "trusted"
`, model.URL+"/v1", dir))
		out := runClient(t, dir, filepath.Join(bin, "codex"), []string{"exec", "Load my Codefresh builds and count them."},
			"HOME="+home,
			"CODEX_HOME="+codexHome,
			"SCRIPTED_MODEL_KEY=sk-scripted-model-not-a-key",
			"CF_API_KEY="+e2eCanary,
			"CODEFRESH_BASE_URL="+base,
		)
		checkSession(t, e, model, out, dir, home)
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runClient runs one client session in dir with only the given environment
// (and PATH) and returns its stdout and stderr.
func runClient(t *testing.T, dir, exe string, args []string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = nil
	err := cmd.Run()
	out := stdout.String() + "\n" + stderr.String()
	if err != nil {
		t.Errorf("%s %v: %v\n%s", filepath.Base(exe), args, err, out)
	}
	return out
}

// checkSession asserts each tool result the client passed back to the model
// and that the Codefresh key is in nothing the session produced.
func checkSession(t *testing.T, e *e2e, model *modelServer, out, dir, home string) {
	t.Helper()
	h := model.History()
	defer func() {
		if t.Failed() {
			for i, x := range h {
				t.Logf("call %d %s %v -> error=%v %.600s", i, x.Tool, x.Args, x.IsError, x.Result)
			}
			t.Logf("requests:\n%s\nclient output:\n%.3000s", model.Requests(), out)
		}
	}()
	got := make([]string, len(h))
	for i, x := range h {
		got[i] = x.Tool
		if x.IsError || !x.done {
			t.Errorf("call %d %s: error or no result: %.500s", i, x.Tool, x.Result)
		}
	}
	if len(h) < 8 || strings.Join(got[:3], ",") != "list_endpoints,check_credentials,start_load" ||
		strings.Join(got[len(got)-4:], ",") != "query,query,ci_metrics,explain_build" {
		t.Fatalf("tool sequence = %v", got)
	}
	answers := h[len(h)-2:]
	h = h[:len(h)-2]
	for _, x := range h[3 : len(h)-2] {
		if x.Tool != "load_status" {
			t.Fatalf("tool sequence = %v", got)
		}
	}

	var endpoints struct {
		Endpoints []struct {
			Name    string `json:"name"`
			Path    string `json:"path"`
			Enabled bool   `json:"enabled"`
		} `json:"endpoints"`
	}
	decodeResult(t, h[0], &endpoints)
	if len(endpoints.Endpoints) == 0 || endpoints.Endpoints[0].Name != "builds" || endpoints.Endpoints[0].Path != "/workflow" || !endpoints.Endpoints[0].Enabled {
		t.Errorf("list_endpoints name=builds: %+v", endpoints.Endpoints)
	}

	var creds struct {
		Status      string `json:"status"`
		Source      string `json:"source"`
		Fingerprint string `json:"fingerprint"`
		User        struct {
			Name string `json:"name"`
		} `json:"user"`
	}
	decodeResult(t, h[1], &creds)
	if creds.Status != "ok" || creds.Source != "env:CF_API_KEY" || len(creds.Fingerprint) < 8 || creds.User.Name != "jdoe" {
		t.Errorf("check_credentials: %+v", creds)
	}

	var done struct {
		Job struct {
			State string `json:"state"`
			Info  struct {
				Tables map[string]struct {
					Inserted int `json:"inserted"`
				} `json:"tables"`
			} `json:"load_info"`
		} `json:"job"`
	}
	decodeResult(t, h[len(h)-3], &done)
	if builds := done.Job.Info.Tables["builds"].Inserted; done.Job.State != "succeeded" || builds != agentBuilds {
		t.Errorf("last load_status: state %q, %d builds inserted, want succeeded and %d: %.800s", done.Job.State, builds, agentBuilds, h[len(h)-3].Result)
	}

	var count struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	}
	decodeResult(t, h[len(h)-2], &count)
	if len(count.Rows) != 1 || len(count.Rows[0]) != 1 || count.Rows[0][0] != float64(agentBuilds) {
		t.Errorf("count query: %+v, want [[%d]]", count, agentBuilds)
	}
	var wide struct {
		RowCount  int     `json:"row_count"`
		Rows      [][]any `json:"rows"`
		Truncated bool    `json:"truncated"`
	}
	decodeResult(t, h[len(h)-1], &wide)
	if wide.RowCount != 50 || len(wide.Rows) != 50 || wide.Truncated {
		t.Errorf("SELECT * FROM builds LIMIT 50: %d rows, truncated %v", len(wide.Rows), wide.Truncated)
	}

	checkAnswers(t, e, dir, answers)
	logAgentBytes(t, model, h, answers)

	// The key: not in what the model saw, what the client printed, any file.
	for i, b := range model.Bodies() {
		if leaked(b) {
			t.Errorf("canary in model request %d", i)
		}
	}
	if leaked(out) {
		t.Error("canary in the client's output")
	}
	for _, s := range e.allOutputs() {
		if leaked(s) {
			t.Errorf("canary in an output: %.300q", s)
		}
	}
	assertNoCanaryInFiles(t, dir)
	assertNoCanaryInFiles(t, home)
}

func decodeResult(t *testing.T, x exchange, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(toolJSON(x.Result)), v); err != nil {
		t.Errorf("%s result is not our JSON: %v: %.500s", x.Tool, err, x.Result)
	}
}

// checkAnswers checks the two one-call answers: ci_metrics's failures per
// pipeline this week equal SQL over the loaded builds table, and
// explain_build names the failing step of that pipeline's latest failed
// build with its error lines, fetched live (build_logs is not loaded).
func checkAnswers(t *testing.T, e *e2e, dir string, answers []exchange) {
	t.Helper()
	var m struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	}
	decodeResult(t, answers[0], &m)
	got := map[string]string{}
	for _, r := range m.Rows {
		got[fmt.Sprint(r[0])] = fmt.Sprintf("%v/%v", r[1], r[2])
	}
	out := e.must(dir, "query", "--json", `SELECT pipeline_name, count(*) FILTER (WHERE status = 'error'), count(*) FROM builds
		WHERE created >= TIMESTAMPTZ '`+weekStart+`' AND created < TIMESTAMPTZ '`+e2eNow+`' GROUP BY 1`)
	var q struct {
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &q); err != nil {
		t.Fatalf("query: %v: %s", err, out)
	}
	want := map[string]string{}
	for _, r := range q.Rows {
		want[fmt.Sprint(r[0])] = fmt.Sprintf("%v/%v", r[1], r[2])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 || strings.Join(m.Columns, ",") != "pipeline,failure_count,build_count" {
		t.Errorf("ci_metrics failures/builds per pipeline this week = %v (%v), SQL says %v", got, m.Columns, want)
	}

	var x struct {
		Build struct {
			Pipeline string `json:"pipeline"`
			Outcome  string `json:"outcome"`
		} `json:"build"`
		FailingStep *struct {
			Name string `json:"name"`
		} `json:"failing_step"`
		Sources struct {
			Logs string `json:"logs"`
		} `json:"sources"`
		Log *struct {
			ErrorLines []struct {
				N int `json:"n"`
			} `json:"error_lines"`
		} `json:"log"`
	}
	decodeResult(t, answers[1], &x)
	if x.Build.Pipeline != fmt.Sprint(m.Rows[0][0]) || x.Build.Outcome != "failure" || x.FailingStep == nil || x.Sources.Logs != "live" ||
		x.Log == nil || len(x.Log.ErrorLines) == 0 {
		t.Errorf("explain_build pipeline %v: %.1500s", m.Rows[0][0], answers[1].Result)
	}
}

// logAgentBytes reports what the agent's answers cost: the tool results of
// the standard flow and of the two one-call answers, and the bytes of each
// model request (tool definitions, AGENTS.md and instructions included).
func logAgentBytes(t *testing.T, model *modelServer, flow, answers []exchange) {
	t.Helper()
	sum := func(xs []exchange) (n int) {
		for _, x := range xs {
			n += len(x.Result)
		}
		return n
	}
	// The first request carrying tool definitions is a turn's fixed cost:
	// definitions, instructions, AGENTS.md and the client's own prompt.
	bodies, first := model.Bodies(), 0
	for _, b := range bodies {
		if strings.Contains(b, "explain_build") {
			first = len(b)
			break
		}
	}
	t.Logf("tool results: standard flow %d calls %d bytes; ci_metrics %d bytes; explain_build %d bytes; first model request with our tools %d bytes, %d requests",
		len(flow), sum(flow), len(answers[0].Result), len(answers[1].Result), first, len(bodies))
}
