package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// A load where one resource fails exits 3, commits the others, and `info`
// shows its trace: the failing request, the cause and the next step.
func TestLoadCompletedWithErrorsAndInfoTrace(t *testing.T) {
	dir := t.TempDir()
	_, err := runIn(t, dir, "load", "--demo", "--demo-builds", "300", "--demo-deviations", "page-size-cap=10,repeat-page=/workflow")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitCompletedWithErrors || !strings.Contains(err.Error(), "builds (paging) failed") {
		t.Fatalf("err = %v", err)
	}
	out, err := runIn(t, dir, "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Last load", "completed_with_errors", "failed builds (paging)", "page 2 repeats page 1",
		"failing request: GET /workflow?", "next step:", "debug record:", "pipelines"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
}

// Deviations the loader works around load whole and say so; a recorded
// load replays into a fresh folder with no simulator, to the same counts.
func TestLoadDeviationsRecordReplay(t *testing.T) {
	dir := t.TempDir()
	// The demo's steps and logs off, as the pipeline file may say: this test
	// is about deviations (TestLoadDemoRecordReplaysBuildLogs replays logs).
	if err := os.WriteFile(filepath.Join(dir, "codefresh_pipeline.toml"),
		[]byte("[resources.build_steps]\nenabled = false\n\n[resources.build_logs]\nenabled = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	out, err := runIn(t, dir, "load", "--demo", "--demo-builds", "400", "--json", "--record", file,
		"--demo-deviations", "ignore-date-filters,bare-arrays,page-size-cap=25")
	if err != nil {
		t.Fatal(err)
	}
	var info pipeline.LoadInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, w := range info.Warnings {
		kinds[w.Kind] = true
	}
	if info.Status != trace.LoadSucceeded || !kinds["date_filters"] || !kinds["envelope"] || !kinds["page_size"] ||
		info.Tables["builds"].Inserted != 400 || info.Record != file {
		t.Fatalf("status %s, warnings %+v, builds %d, record %q", info.Status, info.Warnings, info.Tables["builds"].Inserted, info.Record)
	}

	out, err = runIn(t, t.TempDir(), "load", "--replay", file, "--json")
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	var replayed pipeline.LoadInfo
	if err := json.Unmarshal([]byte(out), &replayed); err != nil {
		t.Fatal(err)
	}
	for tbl, st := range info.Tables {
		if replayed.Tables[tbl].Inserted != st.Inserted {
			t.Errorf("%s: replay inserted %d, the recorded load %d", tbl, replayed.Tables[tbl].Inserted, st.Inserted)
		}
	}
}

// The demo load (build_steps and build_logs on) recorded, then replayed
// into a fresh folder for builds, steps and logs: the same rows, and the
// record names neither the storage host's signed query nor the key.
func TestLoadDemoRecordReplaysBuildLogs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	out, err := runIn(t, t.TempDir(), "load", "--demo", "--demo-builds", "300", "--json", "--record", file)
	if err != nil {
		t.Fatal(err)
	}
	var info pipeline.LoadInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Status != trace.LoadSucceeded || info.Tables["build_logs__lines"].Inserted == 0 {
		t.Fatalf("status %s, %d log lines", info.Status, info.Tables["build_logs__lines"].Inserted)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"X-Amz", demoKey} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("the record holds %q", bad)
		}
	}

	out, err = runIn(t, t.TempDir(), "load", "--replay", file, "--resources", "builds,build_steps,build_logs", "--json")
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	var replayed pipeline.LoadInfo
	if err := json.Unmarshal([]byte(out), &replayed); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"builds", "build_steps", "build_logs", "build_logs__lines"} {
		if got, want := replayed.Tables[tbl].Inserted, info.Tables[tbl].Inserted; got != want {
			t.Errorf("%s: replay inserted %d, the recorded load %d", tbl, got, want)
		}
	}
}
