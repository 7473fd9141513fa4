package pipeline_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/record"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Every build_logs row and line, without the per-load ids.
const (
	logRowsQuery = `SELECT build_id, progress_id, step_order, step_name, line_count, first_line
		FROM codefresh_data.build_logs ORDER BY build_id, step_order`
	logLinesQuery = `SELECT b.build_id, b.step_order, l._dlt_list_idx, l.value
		FROM codefresh_data.build_logs b JOIN codefresh_data.build_logs__lines l ON l._dlt_parent_id = b._dlt_id
		ORDER BY 1, 2, 3`
)

// replayInto replays the record at file into a fresh project with
// build_logs enabled as rc says, the simulator unreachable.
func replayInto(t *testing.T, file string, rc pipeline.ResourceConfig, resources []string) (*fixture, *pipeline.LoadInfo, *record.Replay) {
	t.Helper()
	rp, err := record.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	base, err := rp.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	dir := t.TempDir()
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials = secrets.Static("any-key", base, "replay")
	p.RatePerSecond, p.RetryBaseWait, p.LockWait = 1000, time.Millisecond, time.Second
	on := true
	rc.Enabled = &on
	p.Config.Resources = map[string]pipeline.ResourceConfig{"build_logs": rc}
	f := &fixture{t: t, proj: p, db: filepath.Join(dir, "codefresh.duckdb")}
	return f, f.run(pipeline.Options{Resources: resources}), rp
}

// recordEntries reads a record's entries.
func recordEntries(t *testing.T, file string) []record.Entry {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 64<<20)
	sc.Scan() // header
	var out []record.Entry
	for sc.Scan() {
		var e record.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// A load with build_logs recorded against the simulator (one signed URL
// expired on the way) replays into a fresh project with no simulator to the
// same build_logs and build_logs__lines, row for row; the record holds the
// log files under their progress records, never the storage host, the
// signed query, the key or the simulator's secrets. A record without log
// files (as written before they were recorded) replays with build_logs
// failed on an error naming the record, and the rest committed.
func TestRecordedBuildLogsReplayRowForRow(t *testing.T) {
	rc := pipeline.ResourceConfig{NewestPerPipeline: 5, TailLines: 40}
	f, _ := logsFixture(t, cfsim.Config{Pipelines: 4, Builds: 300, Projects: 2}, rc)
	f.sim.ExpireNextLogURLs(1)
	resources := []string{"builds", "build_steps", "build_logs"}
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	info := f.run(pipeline.Options{Resources: resources, Record: file})
	if info.Status != trace.LoadSucceeded || info.Record != file {
		t.Fatalf("status %s, record %q: %+v", info.Status, info.Record, info.Resources)
	}
	wantRows, wantLines := f.rows(logRowsQuery), f.rows(logLinesQuery)
	builds := f.rows(`SELECT DISTINCT progress_id FROM codefresh_data.build_logs ORDER BY 1`)
	if len(builds) < 10 || len(wantLines) <= len(wantRows) {
		t.Fatalf("the load read logs of %d builds, %d steps, %d lines: too few to compare", len(builds), len(wantRows), len(wantLines))
	}

	// What the record holds of the storage host.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	storage, err := url.Parse(f.sim.StorageURL())
	if err != nil || storage.Host == "" {
		t.Fatalf("storage URL %q: %v", f.sim.StorageURL(), err)
	}
	signature := signedQuery(t, f, builds[0][0]).Get("X-Amz-Signature")
	for _, bad := range []string{canary, cfsim.SecretMarker, "X-Amz", signature, storage.Host, "Authorization"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("the record holds %q", bad)
		}
	}
	served := f.sim.StorageRequests()
	var logFiles []record.Entry
	for _, e := range recordEntries(t, file) {
		if e.Kind == codefresh.KindLogFile {
			logFiles = append(logFiles, e)
		}
	}
	if len(logFiles) != len(served) || len(served) != len(builds)+1 {
		t.Fatalf("%d log file entries, the storage host served %d requests for %d builds (one expired)", len(logFiles), len(served), len(builds))
	}
	// Fetched concurrently: the same answers, not in the same order.
	var recorded, answered []int
	var expired []record.Entry
	for i, e := range logFiles {
		recorded, answered = append(recorded, e.Status), append(answered, served[i].Status)
		if !strings.HasPrefix(e.Path, "/progress/") || e.Query != "" {
			t.Errorf("log file entry %d: path %q query %q", i, e.Path, e.Query)
		}
		if e.Status == 403 {
			expired = append(expired, e)
		}
	}
	slices.Sort(recorded)
	slices.Sort(answered)
	if !slices.Equal(recorded, answered) {
		t.Errorf("log file entries have statuses %v, the storage host answered %v", recorded, answered)
	}
	if len(expired) != 1 || expired[0].Body != "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>" {
		t.Errorf("expired entries: %+v", expired)
	}

	f.srv.Close() // the API is gone; the storage host must not be asked either
	r, got, rp := replayInto(t, file, rc, resources)
	if got.Status != trace.LoadSucceeded {
		t.Fatalf("replay status %s: %+v (misses %v)", got.Status, got.Resources, rp.Misses())
	}
	if m := rp.Misses(); len(m) != 0 {
		t.Fatalf("the replay asked for %d requests not in the record, first %s", len(m), m[0])
	}
	if n := len(f.sim.StorageRequests()); n != len(served) {
		t.Fatalf("the replay read %d log files from the simulator's storage host", n-len(served))
	}
	if g := r.rows(logRowsQuery); !slices.EqualFunc(g, wantRows, slices.Equal) {
		t.Errorf("build_logs: replay %d rows, load %d; first replayed %v, loaded %v", len(g), len(wantRows), g[:min(1, len(g))], wantRows[0])
	}
	if g := r.rows(logLinesQuery); !slices.EqualFunc(g, wantLines, slices.Equal) {
		t.Errorf("build_logs__lines: replay %d rows, load %d", len(g), len(wantLines))
	}

	// The same record without its log files.
	old := filepath.Join(t.TempDir(), "old.jsonl")
	var kept []string
	for _, l := range strings.SplitAfter(string(raw), "\n") {
		if !strings.Contains(l, `"kind":"`+codefresh.KindLogFile+`"`) {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(old, []byte(strings.Join(kept, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	r, got, _ = replayInto(t, old, rc, resources)
	if got.Status != trace.LoadCompletedWithErrors {
		t.Fatalf("old record: status %s, want %s", got.Status, trace.LoadCompletedWithErrors)
	}
	for _, ri := range got.Resources {
		failed := ri.Status == trace.StatusFailed
		if failed != (ri.Name == "build_logs") {
			t.Errorf("old record: %s %s (%s)", ri.Name, ri.Status, ri.Reason)
		}
		if ri.Name == "build_logs" && (ri.Cause != trace.CauseLogStorage ||
			!strings.Contains(ri.Reason, "HTTP 501 NOT_IN_RECORD: the debug record old.jsonl holds no log file of /progress/") ||
			strings.Contains(ri.Reason, "GET log file ://")) {
			t.Errorf("old record: build_logs %s: %s", ri.Cause, ri.Reason)
		}
	}
	for _, tbl := range []string{"builds", "build_steps"} {
		if g, w := r.count(`SELECT count(*) FROM codefresh_data.`+tbl), f.count(`SELECT count(*) FROM codefresh_data.`+tbl); g != w || g == 0 {
			t.Errorf("old record: %s has %d rows, the recorded load %d", tbl, g, w)
		}
	}
}
