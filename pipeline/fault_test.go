package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/record"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// flaky wraps the simulator with faults it cannot make itself: connections
// cut before any answer, and answers slower than the client waits.
func flaky(seed uint64, resetRate, slowRate float64, slow time.Duration) func(http.Handler) http.Handler {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 1))
	roll := func(p float64) bool {
		mu.Lock()
		defer mu.Unlock()
		return p > 0 && rng.Float64() < p
	}
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if roll(resetRate) {
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			if roll(slowRate) {
				select {
				case <-time.After(slow):
				case <-r.Context().Done():
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
}

// consistent checks the database against the simulator's ground truth:
// every loaded resource has the simulator's row count (exact is false: at
// most that many) with no primary key twice, every child row has its root,
// every row's load is in _dlt_loads, and the builds cursor is the newest
// build loaded.
func (f *fixture) consistent(t *testing.T, resources []string, exact bool) {
	t.Helper()
	for _, name := range resources {
		res, _ := codefresh.Lookup(name)
		if !f.hasTable(name) {
			if exact {
				t.Errorf("%s: no table", name)
			}
			continue
		}
		got, want := f.count(fmt.Sprintf(`SELECT count(*) FROM codefresh_data."%s"`, name)), int64(f.sim.Count(name))
		if exact && got != want || got > want {
			t.Errorf("%s: %d rows, simulator has %d", name, got, want)
		}
		if len(res.PrimaryKey) > 0 {
			key := `"` + strings.Join(res.PrimaryKey, `", "`) + `"`
			if d := f.count(fmt.Sprintf(`SELECT count(*) FROM (SELECT %s FROM codefresh_data."%s" GROUP BY %s HAVING count(*) > 1)`, key, name, key)); d != 0 {
				t.Errorf("%s: %d primary keys appear twice", name, d)
			}
		}
		if n := f.count(fmt.Sprintf(`SELECT count(*) FROM codefresh_data."%s" WHERE _dlt_load_id NOT IN (SELECT load_id FROM codefresh_data._dlt_loads WHERE status = 0)`, name)); n != 0 {
			t.Errorf("%s: %d rows of a load _dlt_loads does not list", name, n)
		}
	}
	for _, r := range f.rows(`SELECT table_name FROM information_schema.columns WHERE table_schema = 'codefresh_data' AND column_name = '_dlt_root_id'`) {
		child := r[0]
		root, _, _ := strings.Cut(child, "__")
		if n := f.count(fmt.Sprintf(`SELECT count(*) FROM codefresh_data."%s" c WHERE NOT EXISTS (SELECT 1 FROM codefresh_data."%s" p WHERE p._dlt_id = c._dlt_root_id)`, child, root)); n != 0 {
			t.Errorf("%s: %d rows without their %s row", child, n, root)
		}
	}
	if slices.Contains(resources, "builds") && f.hasTable("builds") && f.count(`SELECT count(*) FROM codefresh_data.builds`) > 0 {
		newest := f.rows(`SELECT strftime(max(created), '%Y-%m-%dT%H:%M:%S.%g') FROM codefresh_data.builds`)[0][0]
		cur := f.cursor("builds.created")
		if !strings.HasPrefix(cur, newest) {
			t.Errorf("builds cursor %q, newest build loaded %s", cur, newest)
		}
	}
}

// hasTable tells whether the dataset has the table.
func (f *fixture) hasTable(name string) bool {
	f.t.Helper()
	return f.count(fmt.Sprintf(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'codefresh_data' AND table_name = '%s'`, name)) > 0
}

// cursor is an incremental cursor's last value in the latest committed state.
func (f *fixture) cursor(name string) string {
	f.t.Helper()
	r, err := f.proj.Reader(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	info, err := r.Info(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, ps := range info.PipelineStates {
		var st pipeline.State
		if json.Unmarshal(ps.State, &st) == nil {
			return st.Cursors()[name].LastValue
		}
	}
	return ""
}

// The fault suite: each fault on a load of the default resources, then a
// clean rerun. Tolerated deviations must load everything exactly the first
// time; transient faults may leave resources failed (the others commit),
// and the rerun must leave the database equal to the simulator's data.
func TestFaultSuite(t *testing.T) {
	cases := []struct {
		name     string
		cfg      cfsim.Config
		wrap     func(http.Handler) http.Handler
		timeout  time.Duration // client timeout per attempt (0: default)
		tolerate bool          // the faulty run itself must be complete and warn
		warn     string        // the warning kind a tolerated deviation gives
	}{
		{name: "429 storm with Retry-After", cfg: cfsim.Config{Rate429: 0.3}},
		{name: "5xx bursts", cfg: cfsim.Config{Rate5xx: 0.35}},
		{name: "truncated JSON", cfg: cfsim.Config{TruncateRate: 0.3}},
		{name: "connection resets", wrap: flaky(3, 0.3, 0, 0)},
		{name: "timeouts", wrap: flaky(4, 0, 0.25, 2*time.Second), timeout: 300 * time.Millisecond},
		{name: "repeated page", cfg: cfsim.Config{Deviations: cfsim.Deviations{RepeatPage: "/workflow"}}},
		{name: "page loop", cfg: cfsim.Config{Deviations: cfsim.Deviations{LoopPages: "/workflow"}}},
		{name: "date filters ignored", cfg: cfsim.Config{Deviations: cfsim.Deviations{IgnoreDateFilters: true}}, tolerate: true, warn: codefresh.DeviationDateFilters},
		{name: "bare arrays", cfg: cfsim.Config{Deviations: cfsim.Deviations{Envelope: "bare"}}, tolerate: true, warn: codefresh.DeviationEnvelope},
		{name: "data envelope", cfg: cfsim.Config{Deviations: cfsim.Deviations{Envelope: "data"}}, tolerate: true, warn: codefresh.DeviationEnvelope},
		{name: "limit capped at 25", cfg: cfsim.Config{Deviations: cfsim.Deviations{PageSizeCap: 25}}, tolerate: true, warn: codefresh.DeviationPageSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Pipelines, cfg.Builds, cfg.Projects, cfg.Seed = 4, 700, 2, 11
			f := newFixture(t, cfg, tc.wrap)
			if tc.timeout > 0 {
				f.proj.HTTPClient = &http.Client{Timeout: tc.timeout}
			}
			resources := f.proj.Config.EnabledResources()
			info, err := f.proj.Run(context.Background(), pipeline.Options{})
			if err != nil {
				t.Fatalf("the faulty load failed as a whole: %v", err)
			}
			failed := 0
			for _, r := range info.Resources {
				if r.Status == trace.StatusFailed {
					failed++
					if r.Cause == "" || r.NextStep == "" {
						t.Errorf("%s failed without cause or next step: %+v", r.Name, r)
					}
					// This was the first load: no empty table stands for the failed resource.
					if f.hasTable(r.Name) {
						t.Errorf("%s failed on the first load, yet has a table", r.Name)
					}
				}
			}
			if (failed > 0) != (info.Status == trace.LoadCompletedWithErrors) {
				t.Errorf("status %s with %d failed resources", info.Status, failed)
			}
			if tc.tolerate {
				if failed > 0 || info.Status != trace.LoadSucceeded {
					t.Fatalf("a tolerated deviation failed resources: %+v", info.Resources)
				}
				if !slices.ContainsFunc(info.Warnings, func(d codefresh.Deviation) bool { return d.Kind == tc.warn }) {
					t.Errorf("no %s warning: %+v", tc.warn, info.Warnings)
				}
			}
			f.consistent(t, resources, tc.tolerate)
			tr, err := f.proj.Trace(info.LoadID)
			if err != nil || tr.Status != info.Status {
				t.Fatalf("trace %+v: %v", tr, err)
			}
			t.Logf("faulty run: %s, %d failed, %d requests, %d retries, %d warnings", info.Status, failed, info.Requests, info.Retries, len(info.Warnings))

			f.sim.SetFaults(cfsim.Faults{})
			f.sim.SetDeviations(cfsim.Deviations{})
			f.proj.HTTPClient = nil
			f.srv.Config.Handler = f.sim.Handler()
			info = f.run(pipeline.Options{})
			if info.Status != trace.LoadSucceeded {
				t.Fatalf("clean rerun: %s %+v", info.Status, info.Resources)
			}
			f.consistent(t, resources, true)
		})
	}
}

// One resource that keeps failing no longer fails the others: the result
// and the trace say which and why, with the failing request and a next step.
func TestFailingResourceDoesNotFailTheOthers(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 4, Builds: 300, Projects: 2}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/step-types" {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("upstream connect error"))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	info := f.run(pipeline.Options{})
	if info.Status != trace.LoadCompletedWithErrors {
		t.Fatalf("status %s", info.Status)
	}
	for _, r := range info.Resources {
		switch {
		case r.Name == "step_types":
			if r.Status != trace.StatusFailed || r.Cause != trace.CauseServer || !strings.Contains(r.Reason, "HTTP 503") {
				t.Errorf("step_types: %+v", r)
			}
		case r.Status != trace.StatusLoaded:
			t.Errorf("%s: %s %s", r.Name, r.Status, r.Reason)
		}
	}
	if f.hasTable("step_types") {
		t.Error("step_types failed on the first load, yet has a table")
	}
	if n := f.count(`SELECT count(*) FROM codefresh_data.pipelines`); n != 4 {
		t.Errorf("pipelines = %d", n)
	}
	tr, err := f.proj.Trace("")
	if err != nil {
		t.Fatal(err)
	}
	probs := tr.Problems()
	if len(probs) != 1 || probs[0].Name != "step_types" || probs[0].Error.Request == nil ||
		probs[0].Error.Request.Path != "/step-types" || probs[0].Error.Request.Status != 503 ||
		probs[0].RetryReasons["server error 503"] == 0 || !strings.Contains(probs[0].Error.NextStep, "later") {
		b, _ := json.Marshal(probs)
		t.Fatalf("problems %s", b)
	}
	if info.Record == "" {
		t.Fatal("a load with failed resources kept no debug record")
	}
	if _, err := os.Stat(info.Record); err != nil {
		t.Fatal(err)
	}
	// A load that succeeds keeps none.
	f2 := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 50, Projects: 1}, nil)
	if info := f2.run(pipeline.Options{Resources: []string{"pipelines"}}); info.Record != "" {
		t.Errorf("a successful load kept %s", info.Record)
	}
	if left, _ := filepath.Glob(filepath.Join(f2.proj.Dir, ".codefresh-mcp", "records", "*")); len(left) != 0 {
		t.Errorf("records left: %v", left)
	}
}

// A load recorded against the simulator replays into a fresh folder with no
// simulator and no key, to the same row counts; the record holds neither the
// key, an Authorization value, nor any secret the simulator handed out.
func TestRecordReplaysOffline(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 4, Builds: 150, Projects: 2, TruncateRate: 0.05}, nil)
	f.sim.FailNext("/projects", 1, http.StatusTooManyRequests) // a retry after Retry-After, replayed as one
	resources := []string{}
	for _, r := range codefresh.Catalog() {
		resources = append(resources, r.Name)
	}
	file := filepath.Join(t.TempDir(), "load.jsonl")
	info := f.run(pipeline.Options{Resources: resources, Record: file})
	if info.Record != file {
		t.Fatalf("record at %q", info.Record)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{canary, cfsim.SecretMarker, "Authorization", "authorization"} {
		if strings.Contains(string(b), bad) {
			t.Fatalf("the record contains %q", bad)
		}
	}
	want := map[string]int64{}
	for tbl, st := range info.Tables {
		want[tbl] = st.Inserted
	}

	rp, err := record.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, err := rp.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close() // nothing answers for the simulator any more
	dir := t.TempDir()
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials = secrets.Static("any-key", base, "replay")
	p.RatePerSecond, p.RetryBaseWait = 1000, time.Millisecond
	got, err := p.Run(ctx, pipeline.Options{Resources: resources})
	if err != nil {
		t.Fatalf("replay: %v (misses %v)", err, rp.Misses())
	}
	if m := rp.Misses(); len(m) > 0 {
		t.Fatalf("the replay asked for %d requests not in the record, first %s", len(m), m[0])
	}
	for tbl, n := range want {
		if got.Tables[tbl].Inserted != n {
			t.Errorf("%s: replay inserted %d rows, the recorded load %d", tbl, got.Tables[tbl].Inserted, n)
		}
	}
}
