package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/server/agentinit"
)

// alwaysLoadedBound is what clients may carry of this server in every model
// request besides the tool definitions: the instructions and AGENTS.md as
// `init` writes it. The detail lives in the guide resource and the prompts.
const alwaysLoadedBound = 4 << 10

// Claude Code reads CLAUDE.md (which imports AGENTS.md) and Codex reads
// AGENTS.md into every request, with the server's instructions: measured
// from the files init writes, they stay under the bound. The tool
// definitions a model sees (name, description, input schema) are logged
// for the record.
func TestAlwaysLoadedBytesStayUnderBound(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "AGENTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, agent := range []agentinit.Agent{agentinit.Claude, agentinit.Codex} {
		dir := t.TempDir()
		if _, err := agentinit.Run(context.Background(), agentinit.Options{Dir: dir, Binary: "/usr/local/bin/codefresh-mcp", AgentsMD: md, Agents: []agentinit.Agent{agent}}); err != nil {
			t.Fatal(err)
		}
		n := len(Instructions)
		for _, f := range []string{"AGENTS.md", "CLAUDE.md"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err == nil {
				n += len(b)
			} else if !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d bytes always loaded (instructions %d, AGENTS.md text %d)", agent, n, len(Instructions), len(md))
		if n > alwaysLoadedBound {
			t.Errorf("%s: %d bytes of instructions and AGENTS.md in every request, bound %d: move detail into %s", agent, n, alwaysLoadedBound, GuideURI)
		}
	}

	c, _ := connect(t, Options{})
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	full, err := json.Marshal(list.Tools)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	var tools []map[string]json.RawMessage
	if err := json.Unmarshal(full, &tools); err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools {
		b, err := json.Marshal(map[string]json.RawMessage{"name": tl["name"], "description": tl["description"], "input_schema": tl["inputSchema"]})
		if err != nil {
			t.Fatal(err)
		}
		seen += len(b)
	}
	t.Logf("tool definitions: %d tools, %d bytes as a model sees them (name, description, input schema), %d bytes of tools/list", len(list.Tools), seen, len(full))
}

// The guide holds what AGENTS.md no longer carries, and is served whole.
func TestGuideResource(t *testing.T) {
	c, _ := connect(t, Options{})
	req := mcp.ReadResourceRequest{}
	req.Params.URI = GuideURI
	res, err := c.ReadResource(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	text := res.Contents[0].(mcp.TextResourceContents).Text
	if text != Guide {
		t.Fatalf("guide resource is %d bytes, the guide %d", len(text), len(Guide))
	}
	for _, term := range []string{
		"codefresh://endpoints", "codefresh://schema", PromptName, AnswerPrompt, "ci_metrics", "explain_build",
		"_dlt_parent_id", "_dlt_root_id", "_dlt_loads", "pipelines__spec__steps", "as_of", "freshness_warning",
		"wait_seconds` 50", "401", "403", "404", "429", "Database locked",
	} {
		if !strings.Contains(Guide, term) {
			t.Errorf("guide does not mention %q", term)
		}
	}
}
