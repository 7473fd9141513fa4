package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
)

// runIn runs the CLI with --project dir and returns stdout.
func runIn(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd(&app{stdout: os.Stdout, stderr: os.Stderr})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"--project", dir}, args...))
	err := root.Execute()
	return out.String(), err
}

func loadedProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	datasettest.Write(t, filepath.Join(dir, "codefresh.duckdb"))
	return dir
}

func TestQueryCmdTable(t *testing.T) {
	dir := loadedProject(t)
	out, err := runIn(t, dir, "query", "SELECT id, name, metadata__project AS project FROM pipelines ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	want := []string{
		"id  name        project",
		"p1  build-api   api",
		"p2  deploy-web  web",
	}
	if strings.Join(lines[:3], "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.HasPrefix(lines[3], "(2 rows, ") {
		t.Errorf("count line %q", lines[3])
	}
	if lines[4] != "data of pipelines from load "+datasettest.LoadA+" ("+datasettest.LoadATS+")" {
		t.Errorf("provenance line %q", lines[4])
	}
	if !strings.HasPrefix(lines[5], "warning: pipelines: stale: data as of "+datasettest.LoadATS+" is ") ||
		!strings.HasSuffix(lines[5], " old, older than the 1d freshness threshold") || !strings.HasPrefix(lines[6], "next step: ") {
		t.Errorf("freshness lines %q", lines[5:])
	}
	// The pipeline file's threshold, then the flag's.
	if err := os.WriteFile(filepath.Join(dir, "codefresh_pipeline.toml"), []byte("freshness_warning = \"900000h\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runIn(t, dir, "query", "SELECT count(*) FROM pipelines")
	if err != nil || !strings.Contains(out, "\npipelines as of "+datasettest.LoadATS+" (") || strings.Contains(out, "warning") {
		t.Errorf("freshness_warning 900000h: %v\n%s", err, out)
	}
	out, err = runIn(t, dir, "query", "--stale-after", "48h", "SELECT count(*) FROM pipelines")
	if err != nil || !strings.Contains(out, "older than the 2d freshness threshold") {
		t.Errorf("--stale-after 48h: %v\n%s", err, out)
	}
}

func TestQueryCmdJSONAndMaxRows(t *testing.T) {
	dir := loadedProject(t)
	out, err := runIn(t, dir, "query", "--json", "--max-rows", "2", "SELECT id FROM builds ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Columns    []string          `json:"columns"`
		Rows       [][]any           `json:"rows"`
		Truncated  bool              `json:"truncated"`
		Hint       string            `json:"hint"`
		Provenance []dataset.LoadRef `json:"provenance"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Columns) != 1 || got.Columns[0] != "id" || len(got.Rows) != 2 || got.Rows[1][0] != "b2" || !got.Truncated || got.Hint == "" {
		t.Errorf("json result %+v", got)
	}
	if len(got.Provenance) != 1 || got.Provenance[0].LoadID != datasettest.LoadB {
		t.Errorf("provenance %+v", got.Provenance)
	}
}

func TestQueryCmdRefusesWrites(t *testing.T) {
	dir := loadedProject(t)
	_, err := runIn(t, dir, "query", "DELETE FROM pipelines")
	if err == nil || err.Error() != "only a single SELECT statement is allowed (got DELETE)" {
		t.Fatalf("err = %v", err)
	}
	out, err := runIn(t, dir, "query", "SELECT count(*) AS n FROM pipelines")
	if err != nil || !strings.Contains(out, "\n2\n") {
		t.Errorf("after the refused delete: %q %v", out, err)
	}
}

func TestInfoCmd(t *testing.T) {
	dir := loadedProject(t)
	out, err := runIn(t, dir, "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"destination  duckdb\n",
		"location     " + filepath.Join(dir, "codefresh.duckdb") + "\n",
		// The fixture's loads are years old: stale, with the next step.
		"builds__annotations          2     7        builds               " + datasettest.LoadBTS + " (",
		"pipelines                    2     6                             " + datasettest.LoadATS + " (",
		" old, stale)\n",
		"next step: `codefresh-mcp load` refreshes stale tables",
		"_dlt_loads                   2     5        (system)\n",
		"  " + datasettest.LoadB + "  " + datasettest.LoadBTS + "  codefresh  complete\n",
		"Pipeline codefresh_pipeline: state version 2 from load " + datasettest.LoadB,
		`"last_value": "2024-01-02T00:00:00Z"`,
		"Schema codefresh: version 2, hash hash2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}

	out, err = runIn(t, dir, "info", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var info dataset.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Dataset != "codefresh_data" || len(info.Tables) != 7 {
		t.Errorf("info --json: %v %+v", err, info)
	}
}

func TestInfoCmdBeforeAnyLoad(t *testing.T) {
	dir := t.TempDir()
	_, err := runIn(t, dir, "info")
	if !errors.Is(err, dataset.ErrNoData) || !strings.Contains(err.Error(), "codefresh-mcp load") {
		t.Errorf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("info created %v", entries)
	}
}
