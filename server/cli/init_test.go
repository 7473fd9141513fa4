package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/server"
	"github.com/cfmcp/codefresh-mcp/server/agentinit"
)

// agentsMD is the repository's AGENTS.md, which main embeds and hands to Main.
var agentsMD = func() []byte {
	b, err := os.ReadFile(filepath.Join(moduleRoot, "AGENTS.md"))
	if err != nil {
		panic(err)
	}
	return b
}()

func TestChooseAgents(t *testing.T) {
	empty := t.TempDir()
	withCursor := t.TempDir()
	if err := os.Mkdir(filepath.Join(withCursor, ".cursor"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		flags   []string
		dir     string
		input   string
		tty     bool
		want    []agentinit.Agent
		errPart string
	}{
		{"flags win and dedupe", []string{"codex", "Claude", "codex"}, withCursor, "", false, []agentinit.Agent{agentinit.Codex, agentinit.Claude}, ""},
		{"bad flag", []string{"vscode"}, empty, "", false, nil, `unknown agent "vscode"`},
		{"detected", nil, withCursor, "", false, []agentinit.Agent{agentinit.Cursor}, ""},
		{"no tty, nothing found", nil, empty, "", false, nil, "pass --agent with one of claude, cursor, codex"},
		{"asked on a tty", nil, empty, "cursor, claude\n", true, []agentinit.Agent{agentinit.Cursor, agentinit.Claude}, ""},
		{"empty answer", nil, empty, "\n", true, nil, "no agent chosen"},
		{"bad answer", nil, empty, "emacs\n", true, nil, `unknown agent "emacs"`},
	}
	for _, c := range cases {
		var prompt bytes.Buffer
		got, err := chooseAgents(c.flags, c.dir, strings.NewReader(c.input), &prompt, c.tty)
		if c.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.errPart)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
		if c.tty && !strings.Contains(prompt.String(), "claude, cursor, codex") {
			t.Errorf("%s: prompt = %q", c.name, prompt.String())
		}
	}
}

func TestInitCommandTwice(t *testing.T) {
	const canary = "cfk-CANARY-7f3a9d1e5b"
	t.Setenv("CF_API_KEY", canary)
	dir := t.TempDir()
	runInit := func() string {
		t.Helper()
		var out bytes.Buffer
		root := newRootCmd(&app{stdout: os.Stdout, stderr: os.Stderr, agentsMD: agentsMD})
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs([]string{"init", "--agent", "claude", "--dir", dir})
		if err := root.Execute(); err != nil {
			t.Fatalf("init: %v\n%s", err, out.String())
		}
		return out.String()
	}
	first := runInit()
	for _, want := range []string{"created    .mcp.json", "created    AGENTS.md", "codefresh-mcp secrets set", "restart"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run output lacks %q:\n%s", want, first)
		}
	}
	second := runInit()
	if strings.Contains(second, "created") || strings.Contains(second, "updated") || !strings.Contains(second, "unchanged  .mcp.json") {
		t.Errorf("second run output:\n%s", second)
	}
	// The embedded AGENTS.md is what lands in the project.
	got, err := os.ReadFile(filepath.Join(dir, "AGENTS.md"))
	if err != nil || !bytes.Contains(got, bytes.TrimSpace(agentsMD)) {
		t.Errorf("project AGENTS.md does not hold the embedded text: %v", err)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(canary)) {
				t.Errorf("%s contains the canary", p)
			}
		}
		return nil
	})
}

// AGENTS.md is in every model request: it stays short (the bound on its
// bytes is server's TestAlwaysLoadedBytesStayUnderBound), names every tool
// and the CI answers first, and points at the guide for the rest.
func TestAgentsMDContract(t *testing.T) {
	text := string(agentsMD)
	if n := strings.Count(text, "\n"); n > 60 {
		t.Errorf("AGENTS.md has %d lines, keep it under 60: detail goes into the guide resource", n)
	}
	for _, name := range []string{
		"list_endpoints", "check_credentials", "preview_endpoint", "configure_pipeline", "start_load",
		"load_status", "cancel_load", "explain_load", "pipeline_info", "describe_table", "query",
		"ci_metrics", "explain_build", "`wait_seconds` 50", "as_of", "never loaded", server.GuideURI,
		"codefresh-mcp secrets set", "codefresh_data", ".dlt/secrets.toml", "401",
	} {
		if !strings.Contains(text, name) {
			t.Errorf("AGENTS.md does not mention %q", name)
		}
	}
}

// The permission rules come from the tools' own readOnlyHint: every
// read-only tool allowed in Claude Code, the write tools only on request.
func TestInitPermissionRulesFollowAnnotations(t *testing.T) {
	read, write := toolsByBehaviour()
	if !slices.Contains(read, "query") || !slices.Contains(read, "check_credentials") ||
		!slices.Equal(write, []string{"configure_pipeline", "start_load", "cancel_load"}) {
		t.Fatalf("read %v, write %v", read, write)
	}
	for _, allowWrites := range []bool{false, true} {
		dir := t.TempDir()
		root := newRootCmd(&app{stdout: os.Stdout, stderr: os.Stderr, agentsMD: agentsMD})
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		args := []string{"init", "--agent", "claude", "--dir", dir}
		if allowWrites {
			args = append(args, "--allow-writes")
		}
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("init: %v\n%s", err, out.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, ".claude", "settings.json"))
		if err != nil {
			t.Fatal(err)
		}
		var settings struct {
			Permissions struct {
				Allow []string `json:"allow"`
			} `json:"permissions"`
		}
		if err := json.Unmarshal(b, &settings); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, n := range read {
			want = append(want, agentinit.ClaudeToolRule(n))
		}
		if allowWrites {
			for _, n := range write {
				want = append(want, agentinit.ClaudeToolRule(n))
			}
		}
		if !slices.Equal(settings.Permissions.Allow, want) {
			t.Errorf("allow-writes %v: allow = %v, want %v", allowWrites, settings.Permissions.Allow, want)
		}
	}
}

// A binary of `go run` lives in the build cache (Go 1.24 on) or a go-build
// folder under GOTMPDIR, wherever the user put them: init warns about it.
func TestIsTempBuild(t *testing.T) {
	cache, tmp, home := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("GOCACHE", cache)
	t.Setenv("GOTMPDIR", tmp)
	ctx := context.Background()
	for bin, want := range map[string]bool{
		filepath.Join(cache, "3f", "3fa0c1-d", "codefresh-mcp"):          true,
		filepath.Join(tmp, "b001", "exe", "codefresh-mcp"):               true,
		"/var/folders/x/go-build123/b001/exe/codefresh-mcp":              true,
		filepath.Join(home, "bin", "codefresh-mcp"):                      false,
		filepath.Join(filepath.Dir(cache), "elsewhere", "codefresh-mcp"): false,
	} {
		if got := isTempBuild(ctx, bin); got != want {
			t.Errorf("isTempBuild(%s) = %v, want %v", bin, got, want)
		}
	}
}
