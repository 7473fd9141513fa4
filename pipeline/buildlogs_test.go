package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// logsFixture is a fixture whose simulator's storage host listens too, with
// build_logs enabled as rc says and a log of everything the load logs.
func logsFixture(t *testing.T, cfg cfsim.Config, rc pipeline.ResourceConfig) (*fixture, *bytes.Buffer) {
	t.Helper()
	f := newFixture(t, cfg, nil)
	storage := httptest.NewServer(f.sim.StorageHandler())
	t.Cleanup(storage.Close)
	f.sim.SetStorageURL(storage.URL)
	on := true
	rc.Enabled = &on
	f.proj.Config.Resources = map[string]pipeline.ResourceConfig{"build_logs": rc}
	var logs bytes.Buffer
	f.proj.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return f, &logs
}

// servedLog is a build's log document as the storage host serves it.
func servedLog(t *testing.T, sim *cfsim.Server, buildID string) [][]string {
	t.Helper()
	b, ok := sim.BuildLog(buildID)
	if !ok {
		t.Fatalf("simulator has no log file for %s", buildID)
	}
	var doc struct {
		Steps []struct {
			Name string   `json:"name"`
			Logs []string `json:"logs"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := make([][]string, len(doc.Steps))
	for i, s := range doc.Steps {
		out[i] = s.Logs
	}
	return out
}

// signedQuery is the query of a build's signed log URL as the simulator
// hands it out now (its clock has not moved since the load).
func signedQuery(t *testing.T, f *fixture, progressID string) url.Values {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/progress/"+progressID, nil)
	req.Header.Set("Authorization", canary)
	rec := httptest.NewRecorder()
	f.sim.Handler().ServeHTTP(rec, req)
	loc, err := codefresh.ParseProgress("", rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc.URL)
	if err != nil || u.Query().Get("X-Amz-Signature") == "" {
		t.Fatalf("progress %s: no signed URL (%v)", progressID, err)
	}
	return u.Query()
}

func TestBuildLogsLoadedAsServed(t *testing.T) {
	const newest, tail, lineCap = 5, 300, 2000
	f, logs := logsFixture(t, cfsim.Config{Pipelines: 4, Builds: 400, Projects: 2},
		pipeline.ResourceConfig{NewestPerPipeline: newest, TailLines: tail})
	recordFile := filepath.Join(f.proj.Dir, "record.jsonl")
	info := f.run(pipeline.Options{Resources: []string{"builds", "build_logs"}, Record: recordFile})
	if info.Status != trace.LoadSucceeded {
		t.Fatalf("status %s: %+v", info.Status, info.Resources)
	}

	// Which builds: computed here from the builds table, newest per pipeline.
	var want []string
	perPipe := map[string]int{}
	for _, r := range f.rows(`SELECT id, service_id FROM codefresh_data.builds WHERE status IN ('error', 'terminated') ORDER BY created DESC, id`) {
		if perPipe[r[1]] < newest {
			want = append(want, r[0])
		}
		perPipe[r[1]]++
	}
	slices.Sort(want)
	var got []string
	for _, r := range f.rows(`SELECT DISTINCT build_id FROM codefresh_data.build_logs ORDER BY 1`) {
		got = append(got, r[0])
	}
	if len(want) < 10 || !slices.Equal(got, want) {
		t.Fatalf("logs of %d builds %v, want %d %v", len(got), got, len(want), want)
	}

	var sawTail, sawCut, sawCanary, sawMarker bool
	var secrets []string
	for _, id := range want {
		served := servedLog(t, f.sim, id)
		status := f.rows(`SELECT status, progress FROM codefresh_data.builds WHERE id = ?`, id)[0]
		q := signedQuery(t, f, status[1])
		secrets = append(secrets, q.Get("X-Amz-Signature"), q.Get("X-Amz-Credential"))
		steps := f.rows(`SELECT step_order, line_count, first_line, progress_id, _dlt_id FROM codefresh_data.build_logs WHERE build_id = ? ORDER BY step_order`, id)
		if len(steps) != len(served) {
			t.Fatalf("%s: %d steps stored, %d served", id, len(steps), len(served))
		}
		for i, st := range steps {
			lines := served[i]
			keep := lines[max(0, len(lines)-tail):]
			if st[0] != fmt.Sprint(i) || st[1] != fmt.Sprint(len(lines)) || st[2] != fmt.Sprint(len(lines)-len(keep)+1) || st[3] != status[1] {
				t.Fatalf("%s step %d: order, line_count, first_line, progress = %v; served %d lines, kept %d", id, i, st[:4], len(lines), len(keep))
			}
			sawTail = sawTail || len(lines) > tail
			stored := f.rows(`SELECT value FROM codefresh_data.build_logs__lines WHERE _dlt_parent_id = ? ORDER BY _dlt_list_idx`, st[4])
			if len(stored) != len(keep) {
				t.Fatalf("%s step %d: %d lines stored, want %d", id, i, len(stored), len(keep))
			}
			for j, line := range keep {
				s := stored[j][0]
				secret := strings.Contains(line, canary) || strings.Contains(line, cfsim.SecretMarker)
				sawCanary = sawCanary || strings.Contains(line, canary)
				sawMarker = sawMarker || strings.Contains(line, cfsim.SecretMarker)
				switch {
				case secret:
					if strings.Contains(s, canary) || strings.Contains(s, cfsim.SecretMarker) || !strings.Contains(s, "[REDACTED]") {
						t.Fatalf("%s line %d not masked: %q", id, j, s)
					}
				case utf8.RuneCountInString(line) > lineCap:
					sawCut = true
					r := []rune(line)
					if want := string(r[:lineCap]) + fmt.Sprintf(" …[line cut: %d more characters]", len(r)-lineCap); s != want {
						t.Fatalf("%s line %d: cut to %d chars, marked %q", id, j, utf8.RuneCountInString(s), s[lineCap:])
					}
				case s != line:
					t.Fatalf("%s line %d: stored %q, served %q", id, j, s, line)
				}
			}
		}
		// The failed step (the last) ends with the error line served.
		last := served[len(served)-1]
		endLine := f.rows(`SELECT l.value FROM codefresh_data.build_logs b JOIN codefresh_data.build_logs__lines l ON l._dlt_parent_id = b._dlt_id
			WHERE b.build_id = ? AND b.step_order = ? ORDER BY l._dlt_list_idx DESC LIMIT 1`, id, len(served)-1)[0][0]
		if endLine != last[len(last)-1] {
			t.Fatalf("%s: failed step ends with %q, served %q", id, endLine, last[len(last)-1])
		}
		if status[0] == "error" && !strings.Contains(endLine, "exit code 1") {
			t.Fatalf("%s (error): failed step ends with %q, not the error", id, endLine)
		}
	}
	if !sawTail || !sawCut || !sawCanary || !sawMarker {
		t.Fatalf("the data exercised tail %v, line cap %v, key %v, secret marker %v: all must be", sawTail, sawCut, sawCanary, sawMarker)
	}

	all, withAuth, withKey := f.sim.StorageKeyCount()
	if all != len(want) || withAuth != 0 || withKey != 0 {
		t.Fatalf("storage host: %d requests (want %d), %d with Authorization, %d with the key", all, len(want), withAuth, withKey)
	}
	// The signed query, the key and the simulator's secrets are nowhere:
	// not in the project folder (database, trace, record), not in the log.
	secrets = append(secrets, canary, cfsim.SecretMarker, "X-Amz-Signature")
	scanned := 0
	err := filepath.WalkDir(f.proj.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", path, s)
			}
		}
		return nil
	})
	if err != nil || scanned < 3 {
		t.Fatalf("scanned %d files: %v", scanned, err)
	}
	if _, err := os.Stat(recordFile); err != nil {
		t.Fatalf("no debug record: %v", err)
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log output holds %q", s)
		}
	}
	dump := f.rows(`SELECT string_agg(value, chr(10)) FROM codefresh_data.build_logs__lines`)[0][0] +
		strings.Join(slices.Concat(f.rows(`SELECT build_id || step_name || progress_id FROM codefresh_data.build_logs`)...), "\n")
	for _, s := range secrets {
		if strings.Contains(dump, s) {
			t.Errorf("build_logs holds %q", s)
		}
	}
}

func TestBuildLogsExpiredURLReadAgainOnce(t *testing.T) {
	f, _ := logsFixture(t, cfsim.Config{Pipelines: 1, Builds: 60, Projects: 1}, pipeline.ResourceConfig{NewestPerPipeline: 1})
	f.sim.ExpireNextLogURLs(1)
	info := f.run(pipeline.Options{Resources: []string{"builds", "build_logs"}})
	if info.Status != trace.LoadSucceeded {
		t.Fatalf("status %s: %+v", info.Status, info.Resources)
	}
	progress := f.rows(`SELECT DISTINCT progress_id FROM codefresh_data.build_logs`)
	if len(progress) != 1 {
		t.Fatalf("logs of %d builds, want 1", len(progress))
	}
	if n := progressReads(f.sim, progress[0][0]); n != 2 {
		t.Fatalf("progress read %d times, want 2 (once, once more after the expired URL)", n)
	}
	st := f.sim.StorageRequests()
	if len(st) != 2 || st[0].Status != http.StatusForbidden || st[1].Status != http.StatusOK {
		t.Fatalf("storage requests %+v, want 403 then 200", st)
	}

	// Expired twice: one re-read only, then the resource fails, classified;
	// the builds are committed.
	f2, logs := logsFixture(t, cfsim.Config{Pipelines: 1, Builds: 60, Projects: 1}, pipeline.ResourceConfig{NewestPerPipeline: 1})
	f2.sim.ExpireNextLogURLs(5)
	info = f2.run(pipeline.Options{Resources: []string{"builds", "build_logs"}})
	if info.Status != trace.LoadCompletedWithErrors {
		t.Fatalf("status %s, want %s", info.Status, trace.LoadCompletedWithErrors)
	}
	var ri pipeline.ResourceInfo
	for _, r := range info.Resources {
		if r.Name == "build_logs" {
			ri = r
		}
	}
	if ri.Status != trace.StatusFailed || ri.Cause != trace.CauseLogStorage ||
		!strings.Contains(ri.Reason, "HTTP 403 AccessDenied: Request has expired") || !strings.Contains(ri.Reason, "log file http://127.0.0.1:") ||
		strings.Contains(ri.Reason, "X-Amz") || strings.Contains(ri.Reason, "?") {
		t.Fatalf("build_logs: %+v", ri)
	}
	if n := f2.count(`SELECT count(*) FROM codefresh_data.builds`); n != 60 {
		t.Fatalf("builds = %d, want 60", n)
	}
	if all, _, _ := f2.sim.StorageKeyCount(); all != 2 {
		t.Fatalf("storage read %d times, want 2", all)
	}
	if strings.Contains(logs.String(), "X-Amz-Signature") {
		t.Fatal("the log output holds the signed query")
	}
}

// progressReads counts GET /progress/{id} requests.
func progressReads(sim *cfsim.Server, id string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Path == "/progress/"+id {
			n++
		}
	}
	return n
}

func TestBuildLogsOfRunningBuildsSkippedWithReason(t *testing.T) {
	f, _ := logsFixture(t, cfsim.Config{Pipelines: 2, Builds: 200, Projects: 1},
		pipeline.ResourceConfig{Statuses: []string{"running", "error"}, NewestPerPipeline: 50})
	info := f.run(pipeline.Options{Resources: []string{"builds", "build_logs"}})
	running := f.count(`SELECT count(*) FROM codefresh_data.builds WHERE status = 'running'`)
	failed := f.count(`SELECT count(*) FROM codefresh_data.builds WHERE status = 'error'`)
	if running == 0 || failed == 0 || running+failed > 100 {
		t.Fatalf("%d running, %d failed builds: the test needs both, under the per-pipeline bound", running, failed)
	}
	if info.Status != trace.LoadSucceeded {
		t.Fatalf("status %s: %+v", info.Status, info.Resources)
	}
	if n := f.count(`SELECT count(DISTINCT build_id) FROM codefresh_data.build_logs`); n != failed {
		t.Fatalf("logs of %d builds, want the %d failed ones", n, failed)
	}
	var live *codefresh.Deviation
	for i, w := range info.Warnings {
		if w.Kind == codefresh.DeviationLiveLogs {
			live = &info.Warnings[i]
		}
	}
	if want := fmt.Sprintf("a live log (location.type firebase) for %d of %d builds", running, running+failed); live == nil || live.Resource != "build_logs" || live.Got != want {
		t.Fatalf("warning %+v, want got %q", live, want)
	}
	if all, _, _ := f.sim.StorageKeyCount(); int64(all) != failed {
		t.Fatalf("storage read %d times, want %d (no live build)", all, failed)
	}
}

func TestBuildLogsRedirectToLinkLocalRefused(t *testing.T) {
	f, _ := logsFixture(t, cfsim.Config{Pipelines: 1, Builds: 60, Projects: 1}, pipeline.ResourceConfig{NewestPerPipeline: 1})
	f.sim.RedirectNextLogURL("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
	info := f.run(pipeline.Options{Resources: []string{"builds", "build_logs"}})
	var ri pipeline.ResourceInfo
	for _, r := range info.Resources {
		if r.Name == "build_logs" {
			ri = r
		}
	}
	if ri.Status != trace.StatusFailed || ri.Cause != trace.CauseUntrustedURL ||
		!strings.Contains(ri.Reason, "to http://169.254.169.254/latest/meta-data/iam/security-credentials/ not followed: a link-local or cloud metadata address") ||
		strings.Contains(ri.Reason, "X-Amz") {
		t.Fatalf("build_logs: %+v", ri)
	}
	if st := f.sim.StorageRequests(); len(st) != 1 || st[0].Status != http.StatusFound {
		t.Fatalf("storage requests %+v, want the one redirect", st)
	}
}

func TestLiveBuildLogsMatchesTheLoad(t *testing.T) {
	f, _ := logsFixture(t, cfsim.Config{Pipelines: 2, Builds: 120, Projects: 1}, pipeline.ResourceConfig{NewestPerPipeline: 1})
	f.run(pipeline.Options{Resources: []string{"builds", "build_logs"}})
	id := f.rows(`SELECT build_id FROM codefresh_data.build_logs ORDER BY build_id LIMIT 1`)[0][0]
	f.sim.ResetRequests()
	steps, err := f.proj.LiveBuildLogs(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	rows := f.rows(`SELECT b.step_order, b.step_name, b.line_count, b.first_line, coalesce(string_agg(l.value, chr(10) ORDER BY l._dlt_list_idx), '')
		FROM codefresh_data.build_logs b LEFT JOIN codefresh_data.build_logs__lines l ON l._dlt_parent_id = b._dlt_id
		WHERE b.build_id = ? GROUP BY ALL ORDER BY 1`, id)
	if len(steps) != len(rows) {
		t.Fatalf("%d live steps, %d loaded", len(steps), len(rows))
	}
	for i, st := range steps {
		got := []string{fmt.Sprint(st.Order), st.Name, fmt.Sprint(st.LineCount), fmt.Sprint(st.FirstLine), strings.Join(st.Lines, "\n")}
		if !slices.Equal(got, rows[i]) {
			t.Fatalf("step %d: live %.200q, loaded %.200q", i, got, rows[i])
		}
	}
	for _, r := range f.sim.Requests() {
		if r.Method != http.MethodGet {
			t.Fatalf("live fetch sent %s %s", r.Method, r.Path)
		}
	}
	if _, _, withAuth := f.sim.StorageKeyCount(); withAuth != 0 {
		t.Fatal("the storage host received the key")
	}

	running := f.sim.BuildIDs("running")
	if len(running) == 0 {
		t.Fatal("no running build")
	}
	_, err = f.proj.LiveBuildLogs(context.Background(), running[0])
	var le *pipeline.LiveLogError
	if !errors.As(err, &le) {
		t.Fatalf("running build: %v, want a live-log error", err)
	}
}

// The pipeline file's build_logs keys are validated, and only build_logs
// takes them.
func TestBuildLogsSettingsValidated(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[resources.builds]\ntail_lines = 5\n", "resources.builds.tail_lines: only build_logs takes this key"},
		{"[resources.build_logs]\nline_cap = 10\n", "resources.build_logs.line_cap: use 80 to 100000"},
		{"[resources.build_logs]\nnewest_per_pipeline = 5000\n", "resources.build_logs.newest_per_pipeline: use 1 to 1000"},
		{"[resources.build_logs]\nstatuses = [\"Error!\"]\n", `resources.build_logs.statuses: "Error!" is not a build status`},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, pipeline.ConfigFile), []byte(tc.toml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := pipeline.OpenProject(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.toml, err, tc.want)
		}
	}
	dir := t.TempDir()
	ok := "[resources.build_logs]\nenabled = true\nstatuses = [\"error\", \"pending-approval\"]\nnewest_per_pipeline = 3\ntail_lines = 50\nline_cap = 500\n"
	if err := os.WriteFile(filepath.Join(dir, pipeline.ConfigFile), []byte(ok), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rc := p.Config.Resources["build_logs"]; rc.NewestPerPipeline != 3 || rc.TailLines != 50 || rc.LineCap != 500 || len(rc.Statuses) != 2 {
		t.Fatalf("decoded %+v", rc)
	}
}

// lockedWriter serializes writes from the load's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// On PostgreSQL, and across a second load that reads the same builds again
// (merge on build_id, step_order), each step is stored once with its tail.
func TestBuildLogsOnPostgresMergedOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	const tail = 100
	f, _ := logsFixture(t, cfsim.Config{Pipelines: 3, Builds: 150, Projects: 1}, pipeline.ResourceConfig{NewestPerPipeline: 3, TailLines: tail})
	s, d := pgtest.Settings(t, dsn), &f.proj.Config.Destination
	d.Type, d.Host, d.Port, d.Database, d.User, d.SSLMode = "postgres", s.Host, s.Port, s.Database, s.User, s.SSLMode
	f.proj.Config.DatasetName = pgtest.Dataset(t, dsn)
	f.proj.Env = pgtest.Env(dsn)
	ds := f.proj.Config.DatasetName
	for range 2 {
		if info := f.run(pipeline.Options{Resources: []string{"builds", "build_logs"}, FullRefresh: true}); info.Status != trace.LoadSucceeded {
			t.Fatalf("status %s: %+v", info.Status, info.Resources)
		}
	}
	ids := strings.Split(answer(t, f.proj, `SELECT DISTINCT build_id FROM `+ds+`.build_logs ORDER BY 1`), ";")
	chosen := 0
	for _, n := range strings.Split(answer(t, f.proj, `SELECT count(*) FROM `+ds+`.builds WHERE status IN ('error', 'terminated') GROUP BY service_id`), ";") {
		k, _ := strconv.Atoi(n)
		chosen += min(k, 3)
	}
	if len(ids) != chosen || chosen < 5 {
		t.Fatalf("logs of %d builds, want %d (the newest 3 failed per pipeline)", len(ids), chosen)
	}
	var steps, lines int
	var lastLines []string
	for _, id := range ids {
		served := servedLog(t, f.sim, id)
		steps += len(served)
		for _, l := range served {
			lines += min(len(l), tail)
		}
		end := served[len(served)-1]
		lastLines = append(lastLines, end[len(end)-1])
	}
	want := fmt.Sprintf("%d,%d", steps, lines)
	if got := answer(t, f.proj, `SELECT (SELECT count(*) FROM `+ds+`.build_logs), (SELECT count(*) FROM `+ds+`.build_logs__lines)`); got != want {
		t.Fatalf("steps, lines = %s, want %s", got, want)
	}
	got := answer(t, f.proj, `SELECT l.value FROM `+ds+`.build_logs b JOIN `+ds+`.build_logs__lines l ON l._dlt_parent_id = b._dlt_id
		WHERE l._dlt_list_idx + b.first_line = b.line_count AND b.step_order = (SELECT max(step_order) FROM `+ds+`.build_logs m WHERE m.build_id = b.build_id) ORDER BY b.build_id`)
	if got != strings.Join(lastLines, ";") {
		t.Fatalf("last lines of the failed steps:\n%s\nwant\n%s", got, strings.Join(lastLines, ";"))
	}
}
