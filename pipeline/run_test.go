package pipeline_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

const canary = "cfk-CANARY-7f3a9d1e5b"

// fixture is a project folder pointed at a simulator.
type fixture struct {
	t    *testing.T
	sim  *cfsim.Server
	srv  *httptest.Server
	proj *pipeline.Project
	db   string
}

func newFixture(t *testing.T, cfg cfsim.Config, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	cfg.APIKey = canary
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	sim := cfsim.New(cfg)
	h := sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials = secrets.Static(canary, srv.URL+"/api", "test")
	p.RatePerSecond = 1000
	p.RetryBaseWait = time.Millisecond
	p.LockWait = time.Second
	return &fixture{t: t, sim: sim, srv: srv, proj: p, db: filepath.Join(dir, "codefresh.duckdb")}
}

func (f *fixture) run(opts pipeline.Options) *pipeline.LoadInfo {
	f.t.Helper()
	info, err := f.proj.Run(context.Background(), opts)
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return info
}

// rows runs q on a short read-only connection and returns every row as strings.
func (f *fixture) rows(q string, args ...any) [][]string {
	f.t.Helper()
	db, err := duckfile.Open(context.Background(), f.db, true, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q, args...)
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			f.t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) count(q string) int64 {
	f.t.Helper()
	r := f.rows(q)
	if len(r) != 1 {
		f.t.Fatalf("%s: %d rows", q, len(r))
	}
	var n int64
	fmt.Sscan(r[0][0], &n)
	return n
}

// snapshot is every table's row count and the latest state, to compare a
// database before and after a failed load.
func (f *fixture) snapshot() string {
	f.t.Helper()
	var b strings.Builder
	for _, r := range f.rows(`SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1`) {
		n := r[0]
		parts := strings.SplitN(n, ".", 2)
		fmt.Fprintf(&b, "%s=%d\n", n, f.count(fmt.Sprintf(`SELECT count(*) FROM "%s"."%s"`, parts[0], parts[1])))
	}
	for _, r := range f.rows(`SELECT state FROM codefresh_data._dlt_pipeline_state ORDER BY version`) {
		b.WriteString(r[0])
	}
	return b.String()
}

func TestRunLoadsEveryDefaultResource(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 6, Builds: 700, Projects: 3}, nil)
	info := f.run(pipeline.Options{})
	if info.Destination != "duckdb" || info.Dataset != "codefresh_data" {
		t.Fatalf("info = %+v", info)
	}
	for _, r := range info.Resources {
		if r.Status != trace.StatusLoaded {
			t.Errorf("%s: %s %s", r.Name, r.Status, r.Reason)
			continue
		}
		want := int64(f.sim.Count(r.Name))
		got := f.count(fmt.Sprintf(`SELECT count(*) FROM codefresh_data."%s"`, r.Name))
		if got != want || r.Records != want {
			t.Errorf("%s: %d rows, %d records, simulator has %d", r.Name, got, r.Records, want)
		}
	}
	if n := f.count(`SELECT count(*) FROM codefresh_data._dlt_loads WHERE status = 0 AND load_id = '` + info.LoadID + `'`); n != 1 {
		t.Errorf("_dlt_loads rows for the load = %d", n)
	}
	// Child tables join back to their parents.
	orphans := f.count(`SELECT count(*) FROM codefresh_data.builds__annotations c LEFT JOIN codefresh_data.builds b ON c._dlt_parent_id = b._dlt_id WHERE b._dlt_id IS NULL`)
	children := f.count(`SELECT count(*) FROM codefresh_data.builds__annotations`)
	if orphans != 0 || children == 0 {
		t.Errorf("builds__annotations: %d rows, %d orphans", children, orphans)
	}
	steps := f.count(`SELECT count(*) FROM codefresh_data.pipelines__spec__steps s JOIN codefresh_data.pipelines p ON s._dlt_root_id = p._dlt_id`)
	if steps == 0 {
		t.Error("pipelines__spec__steps: no rows joined to pipelines")
	}
	// Secrets never stored.
	if n := f.count(`SELECT count(*) FROM information_schema.columns WHERE column_name IN ('event_data__secret', 'value') AND table_name IN ('triggers', 'builds__exposed_variables__pipeline')`); n != 0 {
		t.Errorf("%d secret columns stored", n)
	}
}

func TestSecondFullRunAddsNoDuplicates(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 4, Builds: 400, Projects: 2}, nil)
	f.run(pipeline.Options{Resources: []string{"builds", "pipelines"}})
	builds := f.count(`SELECT count(*) FROM codefresh_data.builds`)
	ann := f.count(`SELECT count(*) FROM codefresh_data.builds__annotations`)
	f.run(pipeline.Options{Resources: []string{"builds", "pipelines"}, FullRefresh: true})
	if b2, a2 := f.count(`SELECT count(*) FROM codefresh_data.builds`), f.count(`SELECT count(*) FROM codefresh_data.builds__annotations`); b2 != builds || a2 != ann {
		t.Fatalf("after second run: builds %d -> %d, annotations %d -> %d", builds, b2, ann, a2)
	}
	if d := f.count(`SELECT count(*) - count(DISTINCT id) FROM codefresh_data.builds`); d != 0 {
		t.Fatalf("%d duplicate build ids", d)
	}
	if n := f.count(`SELECT count(*) FROM codefresh_data._dlt_loads`); n != 2 {
		t.Fatalf("_dlt_loads = %d, want 2", n)
	}
}

func TestIncrementalRunFetchesTheWindowAndSettlesRunningBuilds(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 5, Builds: 3000, Projects: 2}, nil)
	full := f.run(pipeline.Options{Resources: []string{"builds"}})
	running := f.count(`SELECT count(*) FROM codefresh_data.builds WHERE status IN ('running','pending','delayed','elected','terminating','pending-approval')`)
	if running == 0 {
		t.Fatal("simulator has no running builds to settle")
	}
	f.sim.Advance(6 * time.Hour)
	f.sim.ResetRequests()
	inc := f.run(pipeline.Options{Resources: []string{"builds"}})
	if inc.Pages*5 > full.Pages {
		t.Errorf("incremental run read %d pages, full run %d", inc.Pages, full.Pages)
	}
	if got, want := f.count(`SELECT count(*) FROM codefresh_data.builds`), int64(f.sim.Count("builds")); got != want {
		t.Errorf("builds after incremental run = %d, simulator has %d", got, want)
	}
	// Every build the simulator has settled is settled in the database too.
	stale := 0
	for _, r := range f.rows(`SELECT id, status FROM codefresh_data.builds`) {
		id, status := r[0], r[1]
		if s, ok := f.sim.Build(id); ok && s != status {
			stale++
		}
	}
	if stale != 0 {
		t.Errorf("%d builds whose status differs from the simulator's", stale)
	}
	for _, r := range f.sim.Requests() {
		if r.Path == "/api/workflow" && r.Query.Get("startDate") == "" && r.Query.Get("limit") != "1" {
			t.Errorf("incremental run listed builds without a startDate: %v", r.Query)
			break
		}
	}
}

func TestFailedRunLeavesDatabaseAsBefore(t *testing.T) {
	fail := false
	f := newFixture(t, cfsim.Config{Pipelines: 4, Builds: 600, Projects: 2}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fail && r.URL.Path == "/api/step-types" {
				w.WriteHeader(http.StatusBadGateway)
				w.Write([]byte(`{"status":502,"message":"bad gateway"}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	f.run(pipeline.Options{})
	before := f.snapshot()
	f.sim.Advance(12 * time.Hour)

	fail = true
	if f.proj.Config.Resources == nil {
		f.proj.Config.Resources = map[string]pipeline.ResourceConfig{}
	}
	f.proj.Config.Resources["step_types"] = pipeline.ResourceConfig{Required: true}
	info, err := f.proj.Run(context.Background(), pipeline.Options{})
	if err == nil || !strings.Contains(err.Error(), "step_types") {
		t.Fatalf("run with persistent 502 on a required resource: err = %v", err)
	}
	if strings.Contains(err.Error(), canary) {
		t.Fatal("error carries the key")
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("database changed after a failed run:\nbefore %s\nafter %s", before, after)
	}
	// The failed load says where its debug record is, and its trace is kept.
	if info == nil || info.Record == "" || !strings.Contains(err.Error(), info.Record) {
		t.Fatalf("failed load info %+v: no debug record named in %v", info, err)
	}
	tr, terr := f.proj.Trace("")
	if terr != nil || tr.LoadID != info.LoadID || tr.Status != trace.LoadFailed || tr.Error == nil || tr.Error.Cause != trace.CauseServer {
		t.Fatalf("trace of the failed load: %+v (%v)", tr, terr)
	}
	delete(f.proj.Config.Resources, "step_types")

	fail = false
	ctx, cancel := context.WithCancel(context.Background())
	pr := func(p pipeline.Progress) {
		if p.Pages >= 3 {
			cancel()
		}
	}
	if _, err := f.proj.Run(ctx, pipeline.Options{Progress: pr}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err = %v", err)
	}
	if after := f.snapshot(); after != before {
		t.Fatal("database changed after a cancelled run")
	}
}

func TestSkipsForbiddenResourceUnlessRequired(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 3, Builds: 50, Projects: 1, Scopes: []string{"pipeline:read", "project:read"}}, nil)
	info := f.run(pipeline.Options{Resources: []string{"pipelines", "builds"}})
	var skipped []string
	for _, r := range info.Resources {
		if r.Status == trace.StatusSkipped {
			skipped = append(skipped, r.Name)
			if !strings.Contains(r.Reason, "403") && !strings.Contains(strings.ToLower(r.Reason), "forbidden") {
				t.Errorf("reason %q", r.Reason)
			}
		}
	}
	if strings.Join(skipped, ",") != "builds" {
		t.Fatalf("skipped = %v", skipped)
	}
	f.proj.Config.Resources = map[string]pipeline.ResourceConfig{"builds": {Required: true}}
	if _, err := f.proj.Run(context.Background(), pipeline.Options{Resources: []string{"pipelines", "builds"}}); err == nil {
		t.Fatal("required forbidden resource: no error")
	}
}

func TestSchemaEvolutionAndVariantColumns(t *testing.T) {
	second := false
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 10, Projects: 3}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !second || r.URL.Path != "/api/projects" {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			// A number turns into text, and a new field appears.
			body = bytes.Replace(body, []byte(`"pipelinesNumber":`), []byte(`"brandNewField":"x","pipelinesNumber":"many","oldPipelinesNumber":`), 1)
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	})
	f.run(pipeline.Options{Resources: []string{"projects"}})
	second = true
	info := f.run(pipeline.Options{Resources: []string{"projects"}})
	cols := map[string]string{}
	for _, r := range f.rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'codefresh_data' AND table_name = 'projects'`) {
		cols[r[0]] = r[1]
	}
	if cols["pipelines_number"] != "BIGINT" || cols["pipelines_number__v_text"] != "VARCHAR" || cols["brand_new_field"] == "" {
		t.Fatalf("columns: %v", cols)
	}
	joined := strings.Join(info.NewColumns, ",")
	if !strings.Contains(joined, "projects.brand_new_field") || !strings.Contains(joined, "projects.pipelines_number__v_text") {
		t.Fatalf("new columns = %v", info.NewColumns)
	}
	if n := f.count(`SELECT count(*) FROM codefresh_data.projects WHERE pipelines_number__v_text = 'many'`); n != 1 {
		t.Fatalf("variant rows = %d", n)
	}
}

func TestDetailResources(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 40, Projects: 1}, nil)
	f.run(pipeline.Options{Resources: []string{"builds", "builds_by_id", "build_steps"}})
	if got, want := f.count(`SELECT count(*) FROM codefresh_data.builds_by_id`), f.count(`SELECT count(*) FROM codefresh_data.builds`); got != want || got != 40 {
		t.Fatalf("builds_by_id = %d, builds = %d", got, want)
	}
	if n := f.count(`SELECT count(DISTINCT build_id) FROM codefresh_data.build_steps`); n == 0 {
		t.Fatal("no build steps")
	}
	if n := f.count(`SELECT count(*) FROM codefresh_data.build_steps s LEFT JOIN codefresh_data.builds b ON s.build_id = b.id WHERE b.id IS NULL`); n != 0 {
		t.Fatalf("%d steps of unknown builds", n)
	}
}

// TestLockHeldByAnotherProcess: a second process holding the file gives a
// clear error naming it, and nothing is lost.
func TestLockHeldByAnotherProcess(t *testing.T) {
	if os.Getenv("CFMCP_HOLD_DB") != "" {
		db, err := duckfile.Open(context.Background(), os.Getenv("CFMCP_HOLD_DB"), false, 0)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		db.Exec("CREATE TABLE IF NOT EXISTS held(x INT)")
		fmt.Println("HOLDING")
		time.Sleep(30 * time.Second)
		os.Exit(0)
	}
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
	cmd := exec.Command(os.Args[0], "-test.run=TestLockHeldByAnotherProcess$")
	cmd.Env = append(os.Environ(), "CFMCP_HOLD_DB="+f.db)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), "HOLDING") {
		t.Fatalf("holder said %q", buf[:n])
	}
	_, err := f.proj.Run(context.Background(), pipeline.Options{Resources: []string{"projects"}})
	var le *duckfile.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LockedError", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("PID %d", cmd.Process.Pid)) {
		t.Fatalf("error does not name the holder's PID %d: %v", cmd.Process.Pid, err)
	}
}

func TestMaxPagesNeverCutsAReplacedTable(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 3, Builds: 400, Images: 250, Projects: 2}, nil)
	f.run(pipeline.Options{Resources: []string{"images", "builds"}})
	images := f.count(`SELECT count(*) FROM codefresh_data.images`)
	if images <= 100 {
		t.Fatalf("images = %d: the test needs more than one page", images)
	}
	info := f.run(pipeline.Options{Resources: []string{"images", "builds"}, MaxPages: 1})
	for _, r := range info.Resources {
		if r.Name == "images" && r.Status != trace.StatusPreviewed {
			t.Errorf("images: %s", r.Status)
		}
		if r.Name == "builds" && r.Status != trace.StatusLoaded {
			t.Errorf("builds: %s", r.Status)
		}
	}
	if got := f.count(`SELECT count(*) FROM codefresh_data.images`); got != images {
		t.Fatalf("images after a max_pages run: %d, before %d", got, images)
	}
}

// A sparse history (about one build a day) must be listed whole whatever day
// the clock starts on: a window sized by a thin density once jumped years
// back and failed the load.
func TestSparseBuildHistoryListedWhole(t *testing.T) {
	for _, hours := range []int{0, 24, 217, 500} { // 217 failed before the fix
		now := cfsim.DefaultNow.Add(time.Duration(hours)*time.Hour + 17*time.Minute)
		f := newFixture(t, cfsim.Config{Pipelines: 3, Builds: 100, Projects: 1, Now: now}, nil)
		f.run(pipeline.Options{Resources: []string{"builds"}})
		if n := f.count(`SELECT count(*) FROM codefresh_data.builds`); n != 100 {
			t.Fatalf("clock starting %s: %d builds loaded, want 100", now.Format(time.RFC3339), n)
		}
		// No window is wider than a year, however thin the history it follows.
		for _, r := range f.sim.Requests() {
			start, err1 := time.Parse("2006-01-02", r.Query.Get("startDate"))
			end, err2 := time.Parse("2006-01-02", r.Query.Get("endDate"))
			if err1 == nil && err2 == nil && end.Sub(start) > 366*24*time.Hour {
				t.Fatalf("clock starting %s: builds listed in a window from %s to %s", now.Format(time.RFC3339), r.Query.Get("startDate"), r.Query.Get("endDate"))
			}
		}
	}
}

// An API that ignores the date filters (older installs) is found out from
// what it sends back: the load falls back to one listing newest first, loads
// every build once, says so, and the rerun is still incremental.
func TestBuildListingThatIgnoresDatesFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  cfsim.Config
	}{
		{"sparse", cfsim.Config{Pipelines: 3, Builds: 300, Projects: 1}},
		{"busy", cfsim.Config{Pipelines: 5, Builds: 3000, Projects: 1, History: 36 * time.Hour}}, // pages of hours: windows of one day
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Deviations = cfsim.Deviations{IgnoreDateFilters: true}
			f := newFixture(t, tc.cfg, nil)
			info := f.run(pipeline.Options{Resources: []string{"builds"}})
			want := int64(f.sim.Count("builds"))
			if n := f.count(`SELECT count(*) FROM codefresh_data.builds`); n != want {
				t.Fatalf("%d builds loaded, want %d", n, want)
			}
			if d := f.count(`SELECT count(*) - count(DISTINCT id) FROM codefresh_data.builds`); d != 0 {
				t.Fatalf("%d duplicate builds", d)
			}
			if info.Status != trace.LoadSucceeded || len(info.Warnings) != 1 || info.Warnings[0].Kind != "date_filters" ||
				info.Warnings[0].Resource != "builds" || !strings.Contains(info.Warnings[0].Action, "without date filters") {
				t.Fatalf("status %s, warnings %+v", info.Status, info.Warnings)
			}
			if info.Resources[0].Records > want+100 {
				t.Errorf("%d records read for %d builds: the fallback read too much again", info.Resources[0].Records, want)
			}

			// The rerun reads only what is newer than the cursor minus the look-back.
			cursor := f.rows(`SELECT strftime(max(created), '%Y-%m-%dT%H:%M:%S.%gZ') FROM codefresh_data.builds`)[0][0]
			f.sim.Advance(2 * time.Hour)
			f.sim.ResetRequests()
			info = f.run(pipeline.Options{Resources: []string{"builds"}})
			if n := f.count(`SELECT count(*) FROM codefresh_data.builds`); n != int64(f.sim.Count("builds")) {
				t.Fatalf("after the rerun %d builds, want %d", n, f.sim.Count("builds"))
			}
			listings := 0
			for _, r := range f.sim.Requests() {
				if r.Path == "/workflow" {
					listings++
				}
			}
			since := f.count(fmt.Sprintf(`SELECT count(*) FROM codefresh_data.builds WHERE created >= TIMESTAMPTZ '%s' - INTERVAL (%d) SECOND`,
				cursor, int(f.proj.Config.Lookback().Seconds())))
			// The probe, the first window of each worker (where the deviation shows) and the listing.
			if want := int(since/100) + 2 + 4 + 1; listings > want {
				t.Errorf("the incremental rerun made %d /workflow requests for %d builds since the cursor minus the look-back (want at most %d)", listings, since, want)
			}
		})
	}
}

// Builds dated before any real Codefresh build (bad data, a test clock) are
// listed in one sequential pass rather than in date windows, and all load.
func TestBuildsOlderThanWindowsAllowAreListedWhole(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 3, Builds: 300, Projects: 1, Now: time.Date(2009, 6, 1, 12, 0, 0, 0, time.UTC)}, nil)
	f.run(pipeline.Options{Resources: []string{"builds"}})
	if n := f.count(`SELECT count(*) FROM codefresh_data.builds`); n != 300 {
		t.Fatalf("%d builds loaded, want 300", n)
	}
	for _, r := range f.sim.Requests() {
		if r.Path == "/api/workflow" && r.Query.Get("endDate") != "" {
			t.Fatalf("listed by date window: %v", r.Query)
		}
	}
}

// A destination its commit could not write is refused before any request.
func TestUnwritableDestinationRefusedBeforeExtracting(t *testing.T) {
	cases := []struct {
		cfg   pipeline.Config
		setup func(dir string) error
		want  string
	}{
		{pipeline.Config{Destination: pipeline.DestinationConfig{Path: "data/cf.duckdb"}}, nil,
			`codefresh_pipeline.toml: destination.path: "data/cf.duckdb": the folder data does not exist in the project: create it or choose another path`},
		{pipeline.Config{Destination: pipeline.DestinationConfig{Path: "data"}}, func(dir string) error { return os.Mkdir(filepath.Join(dir, "data"), 0o755) },
			`codefresh_pipeline.toml: destination.path: "data": is a folder; DuckDB needs a file name such as codefresh.duckdb`},
		{pipeline.Config{Destination: pipeline.DestinationConfig{Type: "parquet", Path: "notes.txt"}}, func(dir string) error { return os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644) },
			`codefresh_pipeline.toml: destination.path: "notes.txt": is a file; Parquet needs a folder`},
	}
	for _, c := range cases {
		var requests atomic.Int64
		f := newFixture(t, cfsim.Config{}, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1); h.ServeHTTP(w, r) })
		})
		if c.setup != nil {
			if err := c.setup(f.proj.Dir); err != nil {
				t.Fatal(err)
			}
		}
		f.proj.Config = c.cfg
		_, err := f.proj.Run(context.Background(), pipeline.Options{})
		var ce *pipeline.ConfigError
		if err == nil || err.Error() != c.want || !errors.As(err, &ce) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
		if n := requests.Load(); n != 0 {
			t.Errorf("%s: %d requests before the refusal", c.want, n)
		}
	}
}
