package tools_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// hugeError is a 400 body whose message echoes the key, then runs 5 MB.
func hugeError(key string) string {
	return `{"status":400,"code":"4000","name":"BAD_REQUEST","message":"bad request for ` + key + " " + strings.Repeat("x", 5<<20) + `"}`
}

// frontOf puts a server in front of the simulator (envOpts.front): serve
// answers each request, passing it on to the simulator with sim.
func frontOf(t *testing.T, serve func(w http.ResponseWriter, r *http.Request, sim http.Handler)) func(string) string {
	return func(simBase string) string {
		u, err := url.Parse(simBase)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, proxy) }))
		t.Cleanup(srv.Close)
		return srv.URL + "/api"
	}
}

// hugeErrorFront puts a server in front of the simulator that answers the
// failing paths with hugeError and passes everything else on.
func hugeErrorFront(t *testing.T, failing ...string) func(string) string {
	return frontOf(t, func(w http.ResponseWriter, r *http.Request, sim http.Handler) {
		if slices.Contains(failing, strings.TrimPrefix(r.URL.Path, "/api")) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, hugeError(r.Header.Get("Authorization")))
			return
		}
		sim.ServeHTTP(w, r)
	})
}

// An API answering 5 MB error messages: load_status, explain_load, the
// saved trace and the debug record each stay within their bound, and still
// say what happened: the status, the code, the head of the message, that it
// was cut and from how much.
func TestHugeAPIErrorStaysBounded(t *testing.T) {
	e := newEnv(t, envOpts{front: hugeErrorFront(t, "/workflow", "/projects")})
	var start tools.StartLoadOut
	e.ok("start_load", map[string]any{"resources": []string{"pipelines", "builds", "projects"}}, &start)
	st := e.waitJob(start.JobID)
	if st.State != trace.LoadCompletedWithErrors {
		t.Fatalf("job state %s, error %.300s", st.State, st.Error)
	}
	cutNote := fmt.Sprintf("… (cut: the error body was %d bytes)", len(hugeError(canary)))
	wantHead := "HTTP 400 BAD_REQUEST: bad request for [REDACTED] xxxx"

	_, status := e.call("load_status", map[string]any{"job_id": start.JobID})
	if len(status) > 8<<10 || !strings.Contains(status, wantHead) || !strings.Contains(status, cutNote) {
		t.Errorf("load_status: %d bytes (want at most 8 KiB) saying %q and %q:\n%.600s", len(status), wantHead, cutNote, status)
	}

	var out tools.ExplainLoadOut
	_, explain := e.call("explain_load", map[string]any{"job_id": start.JobID, "verbose": true})
	if err := json.Unmarshal([]byte(explain), &out); err != nil {
		t.Fatal(err)
	}
	if len(explain) > 48<<10 || !strings.Contains(explain, wantHead) || !strings.Contains(explain, cutNote) {
		t.Errorf("explain_load: %d bytes (want at most 48 KiB) saying %q and %q:\n%.600s", len(explain), wantHead, cutNote, explain)
	}
	var failed []string
	for _, p := range out.Problems {
		if p.Error.Cause != trace.CauseServer || p.Error.Request == nil || p.Error.Request.Status != 400 {
			t.Errorf("problem %s: %+v", p.Name, p.Error)
		}
		failed = append(failed, p.Name)
	}
	if slices.Sort(failed); !slices.Equal(failed, []string{"builds", "projects"}) {
		t.Errorf("problems %v, want builds and projects", failed)
	}

	traces, _ := filepath.Glob(filepath.Join(e.dir, ".codefresh-mcp", "traces", "*.json"))
	records, _ := filepath.Glob(filepath.Join(e.dir, ".codefresh-mcp", "records", "*.jsonl"))
	if len(traces) != 1 || len(records) != 1 {
		t.Fatalf("traces %v, records %v: want one of each", traces, records)
	}
	trace, _ := os.ReadFile(traces[0])
	if len(trace) > 64<<10 || !strings.Contains(string(trace), cutNote) {
		t.Errorf("trace: %d bytes (want at most 64 KiB) with %q", len(trace), cutNote)
	}
	record, _ := os.ReadFile(records[0])
	t.Logf("sizes: load_status %d B, explain_load (verbose) %d B, trace %d B, record %d B", len(status), len(explain), len(trace), len(record))
	if len(record) > 64<<10 || strings.Count(string(record), `"omitted":"cut"`) != 2 || strings.Contains(string(record), canary) {
		t.Errorf("record: %d bytes (want at most 64 KiB), %d error bodies cut (want 2), key present %v",
			len(record), strings.Count(string(record), `"omitted":"cut"`), strings.Contains(string(record), canary))
	}
}

// A trace written before messages were cut at the source (megabytes of
// message per failed request) still comes back within explain_load's cap,
// saying what was left out and where the whole trace is.
func TestExplainLoadCapsAnOversizedTrace(t *testing.T) {
	e := newEnv(t, envOpts{})
	huge := "boom " + strings.Repeat("y", 64<<10)
	tr := trace.Trace{LoadID: "1700000000.000001", Pipeline: "codefresh_pipeline", Status: trace.LoadCompletedWithErrors}
	for i := range 40 {
		rq := trace.Request{Method: "GET", Path: fmt.Sprintf("/r%d", i), Attempt: 1, Status: 500, Error: huge}
		rt := &trace.Resource{Name: fmt.Sprintf("r%02d", i), Status: "failed", Requests: 1, Statuses: map[string]int{"500": 1},
			Sample: []trace.Request{rq, rq, rq},
			Error:  &trace.Error{Message: huge, Cause: trace.CauseServer, NextStep: "load again later", Request: &rq}}
		tr.Resources = append(tr.Resources, rt)
	}
	tr.Resources = append(tr.Resources, &trace.Resource{Name: "ok", Status: "loaded", Requests: 1, Statuses: map[string]int{"200": 1}})
	dir := filepath.Join(e.dir, ".codefresh-mcp", "traces")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tr)
	if err := os.WriteFile(filepath.Join(dir, tr.LoadID+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, verbose := range []bool{false, true} {
		_, text := e.call("explain_load", map[string]any{"verbose": verbose})
		var out tools.ExplainLoadOut
		if err := json.Unmarshal([]byte(text), &out); err != nil {
			t.Fatal(err)
		}
		if len(text) > 48<<10 || !out.Truncated {
			t.Errorf("verbose %v: %d bytes, truncated %v; want at most 48 KiB, truncated", verbose, len(text), out.Truncated)
		}
		notes := "messages cut to 1024 bytes; "
		if verbose {
			notes += "sampled requests left out (verbose); "
		}
		notes += "resources without problems left out of trace.resources; only the first " + fmt.Sprint(len(out.Problems)) + " of 40 problems are shown"
		want := "the trace passed the 48 KiB output cap: " + notes + "; the whole trace is the file .codefresh-mcp/traces/1700000000.000001.json in the project folder"
		if out.Hint != want {
			t.Errorf("verbose %v: hint\n %q\nwant\n %q", verbose, out.Hint, want)
		}
		if len(out.Problems) < 10 || out.Problems[0].Name != "r00" || out.Problems[0].Error.Message != codefresh.CutText(huge, 1024) {
			t.Errorf("verbose %v: %d problems, first %s: %.80q", verbose, len(out.Problems), out.Problems[0].Name, out.Problems[0].Error.Message)
		}
	}
}

// An SQL string over 64 KiB and oversized arguments are refused before
// anything runs, with an error naming the argument and the limit. (On stdio
// a 50 MB message does not even reach the tool: server's
// TestStdioRefusesOversizedMessage.)
func TestOversizedArgumentsRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	sql := "SELECT '" + strings.Repeat("x", 1<<20) + "'"
	got := e.fail("query", map[string]any{"sql": sql})
	want := fmt.Sprintf("argument sql has a string of %d bytes: a string argument may be at most 65536 bytes (64 KiB); nothing was run\n"+
		"Next: send at most 64 KiB in sql (for a query: select less text, or split it into smaller queries)", len(sql))
	if got != want {
		t.Errorf("query:\n got %q\nwant %q", got, want)
	}
	// A long string inside a map argument is found too.
	got = e.fail("configure_pipeline", map[string]any{"set": map[string]any{"resources": map[string]any{
		"builds": map[string]any{"params": map[string]any{"status": strings.Repeat("s", 70000)}}}}})
	if !strings.HasPrefix(got, "argument set has a string of 70000 bytes: a string argument may be at most 65536 bytes (64 KiB); nothing was run\n") {
		t.Errorf("configure_pipeline: %.300q", got)
	}
	// Strings each under the bound, over it in all.
	params := map[string]any{}
	for i := range 5 {
		params[fmt.Sprintf("p%d", i)] = strings.Repeat("v", 60000)
	}
	got = e.fail("configure_pipeline", map[string]any{"set": map[string]any{"resources": map[string]any{"builds": map[string]any{"params": params}}}})
	if !strings.HasPrefix(got, "arguments are ") || !strings.Contains(got, " bytes: a call's arguments may be at most 262144 bytes (256 KiB) in all; nothing was run\nNext: send fewer or shorter arguments") {
		t.Errorf("configure_pipeline, many strings: %.300q", got)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "codefresh_pipeline.toml")); err == nil {
		t.Error("configure_pipeline wrote the pipeline file")
	}
}
