package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// explain prints the failing step, numbered error lines without terminal
// escapes, and the next step in command words; --json adds next to the report.
func TestExplainCmd(t *testing.T) {
	const key = "cfk-CANARY-7f3a9d1e5b"
	ctx := context.Background()
	srv := httptest.NewServer(cfsim.New(cfsim.Config{Seed: 5, Pipelines: 2, Builds: 60, Projects: 1, APIKey: key}).Handler())
	defer srv.Close()
	dir := t.TempDir()
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials, p.RatePerSecond, p.RetryBaseWait = secrets.Static(key, srv.URL+"/api", "test"), 1000, time.Millisecond
	if _, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds", "build_steps"}}); err != nil {
		t.Fatal(err)
	}
	db, err := duckfile.Open(ctx, filepath.Join(dir, "codefresh.duckdb"), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	var id, step string
	if err := db.QueryRowContext(ctx, `SELECT b.id, s.name FROM codefresh_data.builds b JOIN codefresh_data.build_steps s ON s.build_id = b.id
		WHERE b.status = 'error' AND s.result = 'failure' ORDER BY b.created DESC LIMIT 1`).Scan(&id, &step); err != nil {
		t.Fatal(err)
	}
	// The build_logs layout of issue 21, as the resource writes it.
	for _, q := range []string{
		`CREATE TABLE codefresh_data.build_logs (build_id TEXT, progress_id TEXT, step_order BIGINT, step_name TEXT, line_count BIGINT, first_line BIGINT, _dlt_load_id TEXT NOT NULL, _dlt_id TEXT NOT NULL)`,
		`CREATE TABLE codefresh_data.build_logs__lines (value TEXT, _dlt_parent_id TEXT NOT NULL, _dlt_list_idx BIGINT NOT NULL, _dlt_id TEXT NOT NULL)`,
		fmt.Sprintf(`INSERT INTO codefresh_data.build_logs VALUES ('%s', 'p1', 0, '%s', 9, 8, 'fixture', 'log-0')`, id, step),
		`INSERT INTO codefresh_data.build_logs__lines VALUES (chr(27) || ']0;owned' || chr(7) || 'make test', 'log-0', 0, 'l0'), ('panic: runtime error: index out of range', 'log-0', 1, 'l1')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	out, err := runIn(t, dir, "explain", id)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Failing step: " + step + " (from build_steps)\n",
		"  lines that look like errors:\n       9 | panic: runtime error: index out of range\n",
		"  last 2 lines:\n       8 | make test\n       9 | panic: runtime error: index out of range\n",
		"Sources: steps loaded, logs loaded\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") || strings.Contains(out, key) || !containsLineStarting(out, "Next step: ") {
		t.Fatalf("escapes, key or no next step in:\n%s", out)
	}

	out, err = runIn(t, dir, "explain", "--json", id)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Situation string `json:"situation"`
		Next      string `json:"next"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Situation == "" || rep.Next == "" {
		t.Fatalf("--json: %v\n%s", err, out)
	}

	_, err = runIn(t, dir, "explain")
	if got := errorText(err); got != "error: give a build id, or a pipeline (and optionally a branch) to explain its latest failed build\n"+
		"next step: run `codefresh-mcp explain BUILD_ID`, or `codefresh-mcp explain --pipeline PROJECT/PIPELINE [--branch BRANCH]`" {
		t.Fatalf("no arguments: %q", got)
	}
}
