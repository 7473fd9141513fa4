package tools_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// waitJob calls load_status with wait_seconds until the job ends.
func (e *env) waitJob(id string) pipeline.JobStatus {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var st tools.LoadStatusOut
		e.ok("load_status", map[string]any{"job_id": id, "wait_seconds": 20}, &st)
		if st.Job == nil || st.Job.ID != id {
			e.t.Fatalf("load_status = %+v", st)
		}
		if st.Job.Done() {
			return *st.Job
		}
	}
	e.t.Fatalf("job %s did not end", id)
	return pipeline.JobStatus{}
}

func TestStartLoadWatchedToCompletion(t *testing.T) {
	e := newEnv(t, envOpts{})
	var start tools.StartLoadOut
	tok := mcp.ProgressToken("load-1")
	res, text := e.callMeta("start_load", map[string]any{"resources": []string{"pipelines", "builds"}}, &mcp.Meta{ProgressToken: tok})
	if res.IsError {
		t.Fatal(text)
	}
	e.decode(res, &start)
	if start.State != trace.LoadRunning || !strings.HasPrefix(start.JobID, "load_") || !strings.Contains(start.Next, start.JobID) {
		t.Fatalf("start = %+v", start)
	}
	st := e.waitJob(start.JobID)
	if st.State != trace.LoadSucceeded || st.Info == nil {
		t.Fatalf("job = %+v", st)
	}
	if got := st.Info.Tables["builds"].Inserted; got != 120 {
		t.Fatalf("builds inserted = %d, want the simulator's 120", got)
	}
	if st.Progress.Rows == 0 || st.Progress.Pages == 0 {
		t.Fatalf("progress = %+v", st.Progress)
	}

	// The data is there, and says which load wrote it.
	var q struct {
		Rows       [][]any `json:"rows"`
		Provenance []struct {
			LoadID string `json:"load_id"`
		} `json:"provenance"`
	}
	e.ok("query", map[string]any{"sql": "SELECT count(*) FROM codefresh_data.builds"}, &q)
	if len(q.Rows) != 1 || q.Rows[0][0] != float64(120) {
		t.Fatalf("count = %v", q.Rows)
	}
	if len(q.Provenance) == 0 || q.Provenance[0].LoadID != st.Info.LoadID {
		t.Fatalf("provenance = %+v, want load %s", q.Provenance, st.Info.LoadID)
	}

	// start_load answered at once, so its token saw no notification: a
	// token lives only as long as its request.
	e.mu.Lock()
	for _, n := range e.progress {
		if n.Params.AdditionalFields["progressToken"] == "load-1" {
			t.Errorf("progress notification for start_load's token after it answered: %v", n.Params.AdditionalFields)
		}
	}
	e.mu.Unlock()

	// The session lists the job.
	var list tools.LoadStatusOut
	e.ok("load_status", nil, &list)
	if len(list.Jobs) != 1 || list.Jobs[0].JobID != start.JobID || list.Jobs[0].State != trace.LoadSucceeded {
		t.Fatalf("jobs = %+v", list.Jobs)
	}
}

func TestCancelLoadLeavesDatabaseAsItWas(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{Builds: 400}})
	var start tools.StartLoadOut
	e.ok("start_load", map[string]any{"resources": "pipelines"}, &start)
	if st := e.waitJob(start.JobID); st.State != trace.LoadSucceeded {
		t.Fatalf("first load = %+v", st)
	}
	var before tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &before)

	// A slow second load: cancel it while it extracts.
	e.sim.SetFaults(cfsim.Faults{Latency: 300 * time.Millisecond})
	e.ok("start_load", map[string]any{"resources": []string{"pipelines", "builds"}, "full_refresh": true}, &start)
	text := e.fail("start_load", map[string]any{"resources": []string{"pipelines"}})
	if !strings.Contains(text, start.JobID) || !strings.Contains(text, "already running") {
		t.Fatalf("second start error = %q", text)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st tools.LoadStatusOut
		e.ok("load_status", map[string]any{"job_id": start.JobID}, &st)
		if st.Job.Progress.Pages > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the load never fetched a page")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Queries keep working while the load runs.
	var q struct {
		Rows [][]any `json:"rows"`
	}
	e.ok("query", map[string]any{"sql": "SELECT count(*) FROM codefresh_data.pipelines"}, &q)
	if len(q.Rows) != 1 || q.Rows[0][0] != float64(6) {
		t.Fatalf("query during a load = %v", q.Rows)
	}
	var cancel tools.CancelLoadOut
	e.ok("cancel_load", map[string]any{"job_id": start.JobID}, &cancel)
	if cancel.Job.State != trace.LoadCancelled || cancel.Job.Info != nil {
		t.Fatalf("cancel = %+v", cancel)
	}
	e.sim.SetFaults(cfsim.Faults{})

	var after tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &after)
	if len(after.Loads) != len(before.Loads) || after.Loads[0].LoadID != before.Loads[0].LoadID {
		t.Fatalf("loads changed: before %+v after %+v", before.Loads, after.Loads)
	}
	if len(after.Tables) != len(before.Tables) {
		t.Fatalf("tables changed: before %+v after %+v", before.Tables, after.Tables)
	}
	for i := range before.Tables {
		// The same rows from the same load; only the age moves on.
		b, a := before.Tables[i], after.Tables[i]
		if b.TableSummary != a.TableSummary || (b.AsOf == nil) != (a.AsOf == nil) || b.AsOf != nil && !b.AsOf.Equal(*a.AsOf) {
			t.Fatalf("table changed: %+v -> %+v", before.Tables[i], after.Tables[i])
		}
	}
	// Cancelling again is harmless; an unknown job is a tool error.
	e.ok("cancel_load", map[string]any{"job_id": start.JobID}, &cancel)
	if text := e.fail("cancel_load", map[string]any{"job_id": "load_nope"}); !strings.Contains(text, "load_status") {
		t.Fatalf("unknown job error = %q", text)
	}
}

func TestDryRunCommitsNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	var start tools.StartLoadOut
	e.ok("start_load", map[string]any{"dry_run": true, "max_pages": 1}, &start)
	st := e.waitJob(start.JobID)
	if st.State != trace.LoadSucceeded || st.Info == nil || !st.Info.DryRun {
		t.Fatalf("dry run = %+v", st)
	}
	var info tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &info)
	if len(info.Tables) != 0 || len(info.Loads) != 0 {
		t.Fatalf("dry run left data: %+v", info)
	}
	var status tools.LoadStatusOut
	e.ok("load_status", map[string]any{"job_id": start.JobID}, &status)
	if !strings.Contains(status.Next, "dry run") {
		t.Fatalf("next = %q", status.Next)
	}
	_ = os.Remove(filepath.Join(e.dir, "codefresh.duckdb"))
}

func TestStartLoadWithoutKeySaysHowToSetOne(t *testing.T) {
	e := newEnv(t, envOpts{noKey: true})
	text := e.fail("start_load", nil)
	if !strings.Contains(text, "codefresh-mcp secrets set") {
		t.Fatalf("error = %q", text)
	}
	var list tools.LoadStatusOut
	e.ok("load_status", nil, &list)
	if len(list.Jobs) != 0 {
		t.Fatalf("a job started without a key: %+v", list.Jobs)
	}
}

func TestFailedLoadReportsRedactedError(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{APIKey: "cfk-the-right-one-0123456789"}})
	e.ok("configure_pipeline", map[string]any{"set": map[string]any{"resources": map[string]any{"pipelines": map[string]any{"required": true}}}}, nil)
	var start tools.StartLoadOut
	e.ok("start_load", map[string]any{"resources": []string{"pipelines"}}, &start)
	st := e.waitJob(start.JobID)
	if st.State != trace.LoadFailed || !strings.Contains(st.Error, "401") {
		t.Fatalf("job = %+v", st)
	}
	var info tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &info)
	if !strings.Contains(info.LastError, start.JobID) {
		t.Fatalf("last_error = %q", info.LastError)
	}
}

// A waiting load_status carries progress notifications for its own token.
func TestLoadStatusWaitReportsProgress(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{Latency: 300 * time.Millisecond}})
	var start tools.StartLoadOut
	e.ok("start_load", map[string]any{"resources": []string{"pipelines", "builds"}}, &start)
	res, text := e.callMeta("load_status", map[string]any{"job_id": start.JobID, "wait_seconds": 50}, &mcp.Meta{ProgressToken: "wait-1"})
	if res.IsError {
		t.Fatal(text)
	}
	var st tools.LoadStatusOut
	e.decode(res, &st)
	if st.Job.State != trace.LoadSucceeded {
		t.Fatalf("after waiting: %+v", st.Job)
	}
	forToken := func() []map[string]any {
		e.mu.Lock()
		defer e.mu.Unlock()
		var out []map[string]any
		for _, p := range e.progress {
			if p.Params.AdditionalFields["progressToken"] == "wait-1" {
				out = append(out, p.Params.AdditionalFields)
			}
		}
		return out
	}
	// The in-process client hands notifications over asynchronously: let
	// them arrive before counting.
	time.Sleep(2 * progressEvery)
	got := forToken()
	if len(got) == 0 {
		t.Fatal("no progress notification for the waiting call")
	}
	last := -1.0
	for _, f := range got {
		v, _ := f["progress"].(float64)
		if v <= last {
			t.Fatalf("progress %v after %v", v, last)
		}
		last = v
	}
	// The job's end is the last notification; nothing follows it.
	if f := got[len(got)-1]; f["total"] != f["progress"] {
		t.Fatalf("last notification %v does not mark the end", f)
	}
	time.Sleep(2 * progressEvery)
	if after := forToken(); len(after) != len(got) {
		t.Fatalf("%d more notifications after the job's end", len(after)-len(got))
	}
}

// progressEvery is tools' polling interval for progress notifications.
const progressEvery = 500 * time.Millisecond
