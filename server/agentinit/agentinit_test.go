package agentinit

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

const canary = "cfk-CANARY-7f3a9d1e5b"

var testAgentsMD = []byte("# Codefresh data\n\nUse list_endpoints first.\n")

func setCanaryEnv(t *testing.T) {
	t.Setenv("CF_API_KEY", canary)
	t.Setenv("SOURCES__CODEFRESH_SOURCE__API_KEY", canary)
	t.Setenv("CODEFRESH_BASE_URL", "https://"+canary+".example/api")
}

var (
	readTools  = []string{"list_endpoints", "query"}
	writeTools = []string{"start_load", "cancel_load"}
)

func run(t *testing.T, dir string, agents ...Agent) []FileResult {
	t.Helper()
	res, err := Run(context.Background(), Options{
		Dir: dir, Binary: "/opt/cf tools/bin/codefresh-mcp", AgentsMD: testAgentsMD, Agents: agents,
		ReadTools: readTools, WriteTools: writeTools,
	})
	if err != nil {
		t.Fatalf("Run(%v): %v", agents, err)
	}
	return res
}

// snapshot reads every file under dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statuses(res []FileResult) map[string]Status {
	m := map[string]Status{}
	for _, r := range res {
		m[r.Path] = r.Status
	}
	return m
}

// assertSecondRunNoop runs init again and requires every file byte-identical
// and every result "unchanged".
func assertSecondRunNoop(t *testing.T, dir string, agents ...Agent) {
	t.Helper()
	before := snapshot(t, dir)
	res := run(t, dir, agents...)
	for _, r := range res {
		if r.Status != Unchanged {
			t.Errorf("second run: %s is %s, want unchanged", r.Path, r.Status)
		}
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
		t.Errorf("second run changed files")
	}
}

func assertNoCanary(t *testing.T, dir string) {
	t.Helper()
	for name, b := range snapshot(t, dir) {
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s contains the canary value", name)
		}
	}
}

func decodeJSON(t *testing.T, dir, rel string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(read(t, dir, rel)), &m); err != nil {
		t.Fatalf("%s does not parse: %v", rel, err)
	}
	return m
}

func serverOf(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	s, _ := m["mcpServers"].(map[string]any)["codefresh"].(map[string]any)
	if s == nil {
		t.Fatalf("no mcpServers.codefresh in %v", m)
	}
	return s
}

func assertGitignore(t *testing.T, dir string) {
	t.Helper()
	lines := strings.Split(read(t, dir, ".gitignore"), "\n")
	for _, want := range []string{".dlt/secrets.toml", "*.duckdb"} {
		n := 0
		for _, l := range lines {
			if l == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf(".gitignore has %q %d times, want once", want, n)
		}
	}
}

func TestClaudeEmptyDir(t *testing.T) {
	setCanaryEnv(t)
	dir := t.TempDir()
	res := run(t, dir, Claude)
	want := []string{".mcp.json", "CLAUDE.md", ".claude/settings.json", "AGENTS.md", ".gitignore", ".claudeignore"}
	for _, p := range want {
		if statuses(res)[p] != Created {
			t.Errorf("%s: %s, want created (results %v)", p, statuses(res)[p], res)
		}
	}
	srv := serverOf(t, decodeJSON(t, dir, ".mcp.json"))
	if srv["type"] != "stdio" || srv["command"] != "/opt/cf tools/bin/codefresh-mcp" {
		t.Errorf("entry = %v", srv)
	}
	if got := srv["args"]; !reflect.DeepEqual(got, []any{"serve", "--project", dir}) {
		t.Errorf("args = %v", got)
	}
	if got := srv["env"]; !reflect.DeepEqual(got, map[string]any{"CODEFRESH_BASE_URL": "${CODEFRESH_BASE_URL:-}"}) {
		t.Errorf("env = %v", got)
	}
	if got := read(t, dir, "CLAUDE.md"); got != "@AGENTS.md\n" {
		t.Errorf("CLAUDE.md = %q", got)
	}
	// Read-only tools are allowed (claude -p denies anything it would ask
	// about); the write tools are not, without AllowWrites.
	settings := decodeJSON(t, dir, ".claude/settings.json")
	wantPerms := map[string]any{
		"allow": []any{"mcp__codefresh__list_endpoints", "mcp__codefresh__query"},
		"deny":  []any{"Read(./.dlt/secrets.toml)"},
	}
	if !reflect.DeepEqual(settings["permissions"], wantPerms) {
		t.Errorf("settings = %v", settings)
	}
	agents := read(t, dir, "AGENTS.md")
	if !strings.Contains(agents, string(testAgentsMD)) || !strings.HasPrefix(agents, sectionBegin) {
		t.Errorf("AGENTS.md = %q", agents)
	}
	if got := read(t, dir, ".claudeignore"); got != ".dlt/secrets.toml\n" {
		t.Errorf(".claudeignore = %q", got)
	}
	assertGitignore(t, dir)
	assertNoCanary(t, dir)
	assertSecondRunNoop(t, dir, Claude)
}

func TestClaudeExistingFiles(t *testing.T) {
	setCanaryEnv(t)
	dir := t.TempDir()
	mcp := `{
    "zeta": "user key first",
    "mcpServers": {
        "github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"], "env": {"GITHUB_TOKEN": "${GITHUB_TOKEN}"}},
        "codefresh": {"command": "/old/path/codefresh-mcp", "args": ["serve"], "disabled": false, "env": {"CODEFRESH_BASE_URL": "https://cf.internal/api", "EXTRA": "1"}}
    },
    "alpha": [1, 2.50, "a&b<c>"]
}`
	write(t, dir, ".mcp.json", mcp)
	write(t, dir, ".claude/settings.json", `{"model": "opus", "permissions": {"allow": ["Bash(go test:*)"], "deny": ["Read(./.env)"]}}`)
	write(t, dir, ".gitignore", "node_modules/\n/.dlt/secrets.toml\n*.log")
	write(t, dir, "CLAUDE.md", "# Project\n\nRun go test before committing.")
	write(t, dir, "AGENTS.md", "# Our agents guide\n\nBe brief.\n")

	res := run(t, dir, Claude)
	for _, p := range []string{".mcp.json", ".claude/settings.json", ".gitignore", "CLAUDE.md", "AGENTS.md"} {
		if statuses(res)[p] != Updated {
			t.Errorf("%s: %s, want updated", p, statuses(res)[p])
		}
	}

	m := decodeJSON(t, dir, ".mcp.json")
	if m["zeta"] != "user key first" || !reflect.DeepEqual(m["alpha"], []any{1.0, 2.5, "a&b<c>"}) {
		t.Errorf("top-level user keys lost: %v", m)
	}
	gh := m["mcpServers"].(map[string]any)["github"]
	wantGH := map[string]any{"command": "docker", "args": []any{"run", "-i", "ghcr.io/github/github-mcp-server"}, "env": map[string]any{"GITHUB_TOKEN": "${GITHUB_TOKEN}"}}
	if !reflect.DeepEqual(gh, wantGH) {
		t.Errorf("other server changed: %v", gh)
	}
	srv := serverOf(t, m)
	if srv["command"] != "/opt/cf tools/bin/codefresh-mcp" || srv["disabled"] != false || srv["type"] != "stdio" {
		t.Errorf("codefresh entry = %v", srv)
	}
	if !reflect.DeepEqual(srv["env"], map[string]any{"CODEFRESH_BASE_URL": "https://cf.internal/api", "EXTRA": "1"}) {
		t.Errorf("user env values must be kept: %v", srv["env"])
	}
	// Key order and style are the owner's: "zeta" stays first, 4-space indent, no HTML escaping.
	text := read(t, dir, ".mcp.json")
	if !strings.HasPrefix(text, "{\n    \"zeta\"") || !strings.Contains(text, `"a&b<c>"`) || !strings.Contains(text, "2.50") {
		t.Errorf("order or style lost:\n%s", text)
	}
	if strings.Index(text, `"github"`) > strings.Index(text, `"codefresh"`) {
		t.Errorf("server order changed:\n%s", text)
	}

	settings := decodeJSON(t, dir, ".claude/settings.json")
	wantPerms := map[string]any{
		"allow": []any{"Bash(go test:*)", "mcp__codefresh__list_endpoints", "mcp__codefresh__query"},
		"deny":  []any{"Read(./.env)", "Read(./.dlt/secrets.toml)"},
	}
	if settings["model"] != "opus" || !reflect.DeepEqual(settings["permissions"], wantPerms) {
		t.Errorf("settings = %v", settings)
	}
	if got, want := read(t, dir, ".gitignore"), "node_modules/\n/.dlt/secrets.toml\n*.log\n\n# codefresh-mcp: API key and local data\n*.duckdb\n*.duckdb.wal\n"; got != want {
		t.Errorf(".gitignore = %q, want %q", got, want)
	}
	if got, want := read(t, dir, "CLAUDE.md"), "# Project\n\nRun go test before committing.\n\n@AGENTS.md\n"; got != want {
		t.Errorf("CLAUDE.md = %q", got)
	}
	agents := read(t, dir, "AGENTS.md")
	if !strings.HasPrefix(agents, "# Our agents guide\n\nBe brief.\n\n"+sectionBegin) {
		t.Errorf("AGENTS.md = %q", agents)
	}
	assertNoCanary(t, dir)
	assertSecondRunNoop(t, dir, Claude)
}

func TestCursorEmptyAndExisting(t *testing.T) {
	setCanaryEnv(t)
	for _, existing := range []bool{false, true} {
		dir := t.TempDir()
		if existing {
			write(t, dir, ".cursor/mcp.json", "{\n\t\"mcpServers\": {\n\t\t\"browser\": {\"url\": \"http://localhost:3000/mcp\"}\n\t}\n}\n")
			write(t, dir, ".cursorignore", "dist/\n")
			write(t, dir, ".gitignore", "*.duckdb\n")
		}
		res := run(t, dir, Cursor)
		if got := statuses(res)[".cursor/rules/codefresh.mdc"]; got != Created {
			t.Errorf("rule: %s", got)
		}
		m := decodeJSON(t, dir, ".cursor/mcp.json")
		srv := serverOf(t, m)
		if !reflect.DeepEqual(srv["args"], []any{"serve", "--project", "${workspaceFolder}"}) {
			t.Errorf("args = %v", srv["args"])
		}
		if !reflect.DeepEqual(srv["env"], map[string]any{"CODEFRESH_BASE_URL": "${env:CODEFRESH_BASE_URL}"}) {
			t.Errorf("env = %v", srv["env"])
		}
		if existing {
			if !reflect.DeepEqual(m["mcpServers"].(map[string]any)["browser"], map[string]any{"url": "http://localhost:3000/mcp"}) {
				t.Errorf("other server lost: %v", m)
			}
			if !strings.HasPrefix(read(t, dir, ".cursor/mcp.json"), "{\n\t\"mcpServers\": {\n\t\t\"browser\"") {
				t.Errorf("tab indentation lost:\n%s", read(t, dir, ".cursor/mcp.json"))
			}
			if got := read(t, dir, ".cursorignore"); got != "dist/\n\n.dlt/secrets.toml\n" {
				t.Errorf(".cursorignore = %q", got)
			}
		}
		// The rule's front matter is YAML with a description and alwaysApply: true.
		rule := read(t, dir, ".cursor/rules/codefresh.mdc")
		parts := strings.SplitN(rule, "---\n", 3)
		if len(parts) != 3 || parts[0] != "" {
			t.Fatalf("rule has no front matter:\n%s", rule)
		}
		var fm map[string]any
		if err := yaml.Unmarshal([]byte(parts[1]), &fm); err != nil {
			t.Fatalf("front matter: %v", err)
		}
		if fm["alwaysApply"] != true || fm["description"] == "" || fm["description"] == nil {
			t.Errorf("front matter = %v", fm)
		}
		if !strings.Contains(parts[2], "@AGENTS.md") {
			t.Errorf("rule body does not point to AGENTS.md")
		}
		assertGitignore(t, dir)
		assertNoCanary(t, dir)
		assertSecondRunNoop(t, dir, Cursor)
	}
}

const userCodexConfig = `# my codex settings
model = "gpt-5-codex" # inline comment
approval_policy = "on-request"

[mcp_servers.context7]
command = "npx"
args = ["-y", "@upstash/context7-mcp"]

[mcp_servers.context7.env]
TOKEN_FILE = "~/.context7"

# profile for reviews
[profiles.review]
model = "o3"
`

func TestCodexEmptyAndExisting(t *testing.T) {
	setCanaryEnv(t)
	for _, existing := range []bool{false, true} {
		dir := t.TempDir()
		if existing {
			write(t, dir, ".codex/config.toml", userCodexConfig)
		}
		res := run(t, dir, Codex)
		want := Created
		if existing {
			want = Updated
		}
		if got := statuses(res)[".codex/config.toml"]; got != want {
			t.Errorf("config.toml: %s, want %s", got, want)
		}
		text := read(t, dir, ".codex/config.toml")
		var cfg map[string]any
		if _, err := toml.Decode(text, &cfg); err != nil {
			t.Fatalf("config.toml does not parse: %v\n%s", err, text)
		}
		srv := cfg["mcp_servers"].(map[string]any)["codefresh"].(map[string]any)
		if srv["command"] != "/opt/cf tools/bin/codefresh-mcp" ||
			!reflect.DeepEqual(srv["args"], []any{"serve", "--project", dir}) ||
			srv["tool_timeout_sec"] != int64(600) || srv["startup_timeout_sec"] != int64(30) {
			t.Errorf("codefresh table = %v", srv)
		}
		// Every tool's output fits Codex's cut; the write tools run under
		// codex exec (approval policy "never") without asking.
		tools := srv["tools"].(map[string]any)
		for _, name := range append(slices.Clone(readTools), writeTools...) {
			tbl, _ := tools[name].(map[string]any)
			want := map[string]any{"output_token_limit": int64(codexOutputTokens)}
			if slices.Contains(writeTools, name) {
				want["approval_mode"] = "approve"
			}
			if !reflect.DeepEqual(tbl, want) {
				t.Errorf("tools.%s = %v, want %v", name, tbl, want)
			}
		}
		if len(tools) != len(readTools)+len(writeTools) {
			t.Errorf("tools = %v", tools)
		}
		envVars := srv["env_vars"].([]any)
		for _, n := range []string{"CF_API_KEY", "CODEFRESH_BASE_URL", "DBUS_SESSION_BUS_ADDRESS"} {
			if !slices.Contains(envVars, any(n)) {
				t.Errorf("env_vars lacks %s: %v", n, envVars)
			}
		}
		if existing {
			// The user's text, comments included, is all still there, in order.
			if !strings.HasPrefix(text, userCodexConfig) {
				t.Errorf("user text changed:\n%s", text)
			}
			if cfg["model"] != "gpt-5-codex" || cfg["profiles"].(map[string]any)["review"].(map[string]any)["model"] != "o3" {
				t.Errorf("user settings lost: %v", cfg)
			}
			if _, ok := cfg["mcp_servers"].(map[string]any)["context7"]; !ok {
				t.Errorf("other server lost")
			}
		}
		if got := read(t, dir, ".codexignore"); got != ".dlt/secrets.toml\n" {
			t.Errorf(".codexignore = %q", got)
		}
		if _, err := os.Stat(filepath.Join(dir, "AGENTS.md")); err != nil {
			t.Errorf("AGENTS.md: %v", err)
		}
		assertGitignore(t, dir)
		assertNoCanary(t, dir)
		assertSecondRunNoop(t, dir, Codex)
	}
}

func TestCodexUpdatesOwnTableInPlace(t *testing.T) {
	dir := t.TempDir()
	old := `model = "o3"

# codefresh, set up by hand
[mcp_servers.codefresh]
command = "/old/codefresh-mcp"
args = [
  "serve",   # the MCP server
  "--project", "/old/dir",
]
enabled = true   # keep me
tool_timeout_sec = 1200
env_vars = ["MY_PROXY", { name = "REMOTE_ONLY", source = "remote" }]

[mcp_servers.codefresh.env]
LOG_FORMAT = "json"

[profiles.fast]
model = "gpt-5-mini"
`
	write(t, dir, ".codex/config.toml", old)
	if got := statuses(run(t, dir, Codex))[".codex/config.toml"]; got != Updated {
		t.Fatalf("status %s", got)
	}
	text := read(t, dir, ".codex/config.toml")
	var cfg map[string]any
	if _, err := toml.Decode(text, &cfg); err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	srv := cfg["mcp_servers"].(map[string]any)["codefresh"].(map[string]any)
	if srv["command"] != "/opt/cf tools/bin/codefresh-mcp" || !reflect.DeepEqual(srv["args"], []any{"serve", "--project", dir}) {
		t.Errorf("command/args not updated: %v", srv)
	}
	if srv["enabled"] != true || srv["tool_timeout_sec"] != int64(1200) || srv["startup_timeout_sec"] != int64(30) {
		t.Errorf("user keys or defaults wrong: %v", srv)
	}
	if !reflect.DeepEqual(srv["env"], map[string]any{"LOG_FORMAT": "json"}) {
		t.Errorf("sub-table lost: %v", srv["env"])
	}
	ev := srv["env_vars"].([]any)
	if ev[0] != "MY_PROXY" || !reflect.DeepEqual(ev[1], map[string]any{"name": "REMOTE_ONLY", "source": "remote"}) || !slices.Contains(ev, any("CF_API_KEY")) {
		t.Errorf("env_vars = %v", ev)
	}
	for _, keep := range []string{"# codefresh, set up by hand", "enabled = true   # keep me", "[profiles.fast]"} {
		if !strings.Contains(text, keep) {
			t.Errorf("lost %q:\n%s", keep, text)
		}
	}
	if strings.Contains(text, "/old/") {
		t.Errorf("old values remain:\n%s", text)
	}
	assertSecondRunNoop(t, dir, Codex)
}

// A user's own approval choices stay: a mode set in a [header] table, and
// a tool written inline, which init leaves alone entirely.
func TestCodexKeepsUserToolSettings(t *testing.T) {
	dir := t.TempDir()
	old := `[mcp_servers.codefresh]
command = "/old/codefresh-mcp"

[mcp_servers.codefresh.tools.start_load]
approval_mode = "prompt" # ask me

[mcp_servers.codefresh.tools]
cancel_load = { approval_mode = "auto" }
`
	write(t, dir, ".codex/config.toml", old)
	run(t, dir, Codex)
	var cfg map[string]any
	text := read(t, dir, ".codex/config.toml")
	if _, err := toml.Decode(text, &cfg); err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	tools := cfg["mcp_servers"].(map[string]any)["codefresh"].(map[string]any)["tools"].(map[string]any)
	if got := tools["start_load"]; !reflect.DeepEqual(got, map[string]any{"approval_mode": "prompt", "output_token_limit": int64(codexOutputTokens)}) {
		t.Errorf("start_load = %v", got)
	}
	if got := tools["cancel_load"]; !reflect.DeepEqual(got, map[string]any{"approval_mode": "auto"}) {
		t.Errorf("cancel_load = %v", got)
	}
	if !strings.Contains(text, `approval_mode = "prompt" # ask me`) {
		t.Errorf("comment lost:\n%s", text)
	}
	assertSecondRunNoop(t, dir, Codex)
}

// With AllowWrites the write tools are allowed too, so claude -p can load.
func TestClaudeAllowWrites(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".claude/settings.json", `{"permissions": {"allow": ["mcp__codefresh__query", "Bash(make:*)"]}}`)
	_, err := Run(context.Background(), Options{Dir: dir, Binary: "/bin/cf", AgentsMD: testAgentsMD, Agents: []Agent{Claude},
		ReadTools: readTools, WriteTools: writeTools, AllowWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJSON(t, dir, ".claude/settings.json")["permissions"].(map[string]any)["allow"]
	want := []any{"mcp__codefresh__query", "Bash(make:*)", "mcp__codefresh__list_endpoints", "mcp__codefresh__start_load", "mcp__codefresh__cancel_load"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("allow = %v, want %v", got, want)
	}
}

func TestRefusesFilesItCannotMergeSafely(t *testing.T) {
	cases := []struct {
		agent   Agent
		rel     string
		content string
		errPart string
	}{
		{Claude, ".mcp.json", `{"mcpServers": {`, "not valid JSON"},
		{Claude, ".mcp.json", `{"mcpServers": []}`, `"mcpServers" is not a JSON object`},
		{Claude, ".claude/settings.json", `{"permissions": {"deny": "all"}}`, "permissions.deny is not a JSON array"},
		{Claude, ".claude/settings.json", `{"permissions": {"allow": {}}}`, "permissions.allow is not a JSON array"},
		{Cursor, ".cursor/mcp.json", `{"mcpServers": {"codefresh": "x"}}`, `mcpServers."codefresh" is not a JSON object`},
		{Codex, ".codex/config.toml", "model = \n", "not valid TOML"},
		{Codex, ".codex/config.toml", "[mcp_servers]\ncodefresh = { command = \"x\" }\n", "cannot edit in place"},
		{Codex, ".codex/config.toml", "mcp_servers = \"none\"\n", "not a table"},
		{Claude, "AGENTS.md", "intro\n" + sectionBegin + "\nhalf a section\n", "no END marker"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		write(t, dir, c.rel, c.content)
		_, err := Run(context.Background(), Options{Dir: dir, Binary: "/bin/cf", AgentsMD: testAgentsMD, Agents: []Agent{c.agent},
			ReadTools: readTools, WriteTools: writeTools})
		if err == nil || !strings.Contains(err.Error(), c.errPart) || !strings.Contains(err.Error(), c.rel) {
			t.Errorf("%s %q: err = %v, want it to name the file and %q", c.rel, c.content, err, c.errPart)
		}
		if got := read(t, dir, c.rel); got != c.content {
			t.Errorf("%s was modified: %q", c.rel, got)
		}
	}
}

func TestAgentsSectionReplacedInPlace(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "AGENTS.md", "# Team rules\n\n"+sectionBegin+"\nold guide\n"+sectionEnd+"\n\n## More team rules\n")
	if got := statuses(run(t, dir, Codex))["AGENTS.md"]; got != Updated {
		t.Fatalf("status %s", got)
	}
	want := "# Team rules\n\n" + sectionBegin + "\n" + strings.TrimRight(string(testAgentsMD), "\n") + "\n" + sectionEnd + "\n\n## More team rules\n"
	if got := read(t, dir, "AGENTS.md"); got != want {
		t.Errorf("AGENTS.md =\n%s\nwant\n%s", got, want)
	}
}

func TestSeveralAgentsShareFiles(t *testing.T) {
	dir := t.TempDir()
	res := run(t, dir, Claude, Cursor, Codex)
	seen := map[string]int{}
	for _, r := range res {
		seen[r.Path]++
		if r.Status != Created {
			t.Errorf("%s: %s, want created", r.Path, r.Status)
		}
	}
	for p, n := range seen {
		if n != 1 {
			t.Errorf("%s reported %d times", p, n)
		}
	}
	for _, p := range []string{".mcp.json", ".cursor/mcp.json", ".codex/config.toml", "AGENTS.md", ".gitignore"} {
		if seen[p] != 1 {
			t.Errorf("%s missing from results", p)
		}
	}
	assertGitignore(t, dir)
	assertSecondRunNoop(t, dir, Claude, Cursor, Codex)
}

func TestWritesThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "shared-mcp.json")
	if err := os.WriteFile(target, []byte(`{"mcpServers": {"other": {"command": "x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, ".mcp.json")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	run(t, dir, Claude)
	if fi, err := os.Lstat(filepath.Join(dir, ".mcp.json")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("symlink replaced: %v %v", fi, err)
	}
	var m map[string]any
	b, _ := os.ReadFile(target)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["mcpServers"].(map[string]any)["codefresh"]; !ok {
		t.Errorf("target not updated: %s", b)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		make []string
		want []Agent
	}{
		{nil, nil},
		{[]string{".claude/"}, []Agent{Claude}},
		{[]string{".mcp.json"}, []Agent{Claude}},
		{[]string{"CLAUDE.md"}, []Agent{Claude}},
		{[]string{".cursor/"}, []Agent{Cursor}},
		{[]string{".codex/"}, []Agent{Codex}},
		{[]string{"AGENTS.md"}, nil}, // read by several agents: not a sign of one
		{[]string{".codex/", "CLAUDE.md", ".cursor/"}, []Agent{Claude, Cursor, Codex}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		for _, m := range c.make {
			if strings.HasSuffix(m, "/") {
				os.Mkdir(filepath.Join(dir, m), 0o755)
			} else {
				write(t, dir, m, "")
			}
		}
		got, err := Detect(dir)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Detect(%v) = %v, %v; want %v", c.make, got, err, c.want)
		}
	}
}

func TestParseAgent(t *testing.T) {
	if a, err := ParseAgent(" Claude "); err != nil || a != Claude {
		t.Errorf("ParseAgent(Claude) = %v, %v", a, err)
	}
	_, err := ParseAgent("copilot")
	if err == nil || !strings.Contains(err.Error(), "claude, cursor, codex") {
		t.Errorf("err = %v", err)
	}
}

func TestBinaryPathResolvesSymlinks(t *testing.T) {
	p, err := BinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(p) {
		t.Errorf("%s is not absolute", p)
	}
	if r, _ := filepath.EvalSymlinks(p); r != p {
		t.Errorf("%s is not resolved (%s)", p, r)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{
		{Dir: dir, Binary: "/bin/cf", AgentsMD: testAgentsMD},
		{Dir: dir, Binary: "relative/cf", AgentsMD: testAgentsMD, Agents: []Agent{Claude}},
		{Dir: dir, Binary: "/bin/cf", Agents: []Agent{Claude}},
		{Dir: filepath.Join(dir, "missing"), Binary: "/bin/cf", AgentsMD: testAgentsMD, Agents: []Agent{Claude}},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v) succeeded", o)
		}
	}
	if files := snapshot(t, dir); len(files) != 0 {
		t.Errorf("wrote %v", files)
	}
}

func TestNextSteps(t *testing.T) {
	steps := strings.Join(NextSteps([]Agent{Claude, Codex}), "\n")
	for _, want := range []string{"codefresh-mcp secrets set", "Claude Code: restart", "Codex: restart"} {
		if !strings.Contains(steps, want) {
			t.Errorf("next steps lack %q:\n%s", want, steps)
		}
	}
	if strings.Contains(steps, "Cursor") {
		t.Errorf("next steps mention an agent not set up")
	}
}
