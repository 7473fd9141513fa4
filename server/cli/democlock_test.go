package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// newestBuilds GETs a /workflow page from a running simulator.
func newestBuilds(t *testing.T, base string) ([]byte, []time.Time) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/workflow?limit=100", nil)
	req.Header.Set("Authorization", cfsim.DemoAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /workflow: %d %v", resp.StatusCode, err)
	}
	var v struct {
		Workflows struct {
			Docs []struct {
				Created time.Time `json:"created"`
			} `json:"docs"`
		} `json:"workflows"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var created []time.Time
	for _, d := range v.Workflows.Docs {
		created = append(created, d.Created)
	}
	return body, created
}

// simulate --now pins the clock: the history ends there and the same
// flags serve the same bytes; without it the history ends in this hour.
func TestSimulateNowPinsClock(t *testing.T) {
	t.Setenv(secrets.EnvAPIKey, "")
	now := time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)
	serve := func(args ...string) ([]byte, []time.Time) {
		base, stop, _ := runSimulate(t, append([]string{"--builds", "300", "--seed", "9"}, args...)...)
		defer func() {
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		}()
		return newestBuilds(t, base)
	}
	first, created := serve("--now", now.Format(time.RFC3339))
	again, _ := serve("--now", now.Format(time.RFC3339))
	if string(first) != string(again) {
		t.Fatal("the same --now and seed served different builds")
	}
	// The history's newest builds are in flight, created in its last half hour.
	if len(created) != 100 || created[0].After(now) || created[0].Before(now.Add(-30*time.Minute)) {
		t.Fatalf("--now %s: %d builds, newest created %s", now, len(created), created[0])
	}

	hour := time.Now().UTC().Truncate(time.Hour)
	_, created = serve()
	after := time.Now()
	if created[0].After(after) || created[0].Before(hour.Add(-30*time.Minute)) {
		t.Fatalf("no --now: newest build created %s, want in the half hour before %s", created[0], hour)
	}

	_, err := runIn(t, t.TempDir(), "simulate", "--now", "yesterday")
	if err == nil || !strings.HasPrefix(err.Error(), "--now: want RFC 3339 like 2024-05-06T08:00:00Z: ") {
		t.Fatalf("--now yesterday: %v", err)
	}
}

// demoBuildTimes loads the demo into a fresh project and returns how many
// builds were created in the 7 days before since, and the newest one.
func demoBuildTimes(t *testing.T, since time.Time, args ...string) (lastWeek int64, newest time.Time) {
	t.Helper()
	dir := t.TempDir()
	if _, err := runIn(t, dir, append([]string{"load", "--demo", "--demo-builds", "300", "--resources", "builds"}, args...)...); err != nil {
		t.Fatal(err)
	}
	out, err := runIn(t, dir, "query", "--json", "SELECT count(*) FILTER (WHERE epoch_ms(created) >= "+
		jsonInt(since.Add(-7*24*time.Hour).UnixMilli())+"), epoch_ms(max(created)) FROM builds")
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Rows [][]int64 `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &q); err != nil || len(q.Rows) != 1 || len(q.Rows[0]) != 2 {
		t.Fatalf("query: %v\n%s", err, out)
	}
	return q.Rows[0][0], time.UnixMilli(q.Rows[0][1]).UTC()
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// load --demo's history ends at the current hour, so the last 7 days have
// builds; --demo-now pins it.
func TestLoadDemoHistoryEndsNow(t *testing.T) {
	hour := time.Now().UTC().Truncate(time.Hour)
	lastWeek, newest := demoBuildTimes(t, time.Now())
	if lastWeek == 0 || newest.After(time.Now()) || newest.Before(hour.Add(-30*time.Minute)) {
		t.Fatalf("load --demo: %d builds in the last 7 days, newest %s (hour %s)", lastWeek, newest, hour)
	}

	pinned := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	lastWeek, newest = demoBuildTimes(t, pinned, "--demo-now", pinned.Format(time.RFC3339))
	if lastWeek == 0 || newest.After(pinned) || newest.Before(pinned.Add(-30*time.Minute)) {
		t.Fatalf("--demo-now %s: %d builds in its last 7 days, newest %s", pinned, lastWeek, newest)
	}

	if _, err := runIn(t, t.TempDir(), "load", "--demo-now", pinned.Format(time.RFC3339)); err == nil || err.Error() != "--demo-now needs --demo" {
		t.Fatalf("--demo-now without --demo: %v", err)
	}
	if _, err := runIn(t, t.TempDir(), "load", "--demo", "--demo-now", "2025-01-02"); err == nil ||
		!strings.HasPrefix(err.Error(), "--demo-now: want RFC 3339") {
		t.Fatalf("--demo-now 2025-01-02: %v", err)
	}
}

// load --demo loads step data and the logs of failed builds (unless the
// pipeline file decides), so explain has a failing step and its log.
func TestLoadDemoLoadsStepsAndFailureLogs(t *testing.T) {
	dir := t.TempDir()
	if _, err := runIn(t, dir, "load", "--demo", "--demo-builds", "300"); err != nil {
		t.Fatal(err)
	}
	out, err := runIn(t, dir, "query", "--json", `SELECT
		(SELECT count(*) FROM build_steps),
		(SELECT count(DISTINCT build_id) FROM build_logs),
		(SELECT count(*) FROM build_logs l JOIN builds b ON b.id = l.build_id WHERE b.status NOT IN ('error', 'terminated')),
		(SELECT count(*) FROM build_logs__lines)`)
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Rows [][]int64 `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &q); err != nil || len(q.Rows) != 1 {
		t.Fatalf("query: %v\n%s", err, out)
	}
	if r := q.Rows[0]; r[0] == 0 || r[1] == 0 || r[2] != 0 || r[3] == 0 {
		t.Fatalf("steps %d, builds with logs %d, logs of builds that did not fail %d, lines %d", r[0], r[1], r[2], r[3])
	}
	out, err = runIn(t, dir, "query", "--json", `SELECT pipeline_name FROM builds WHERE status = 'error' ORDER BY created DESC LIMIT 1`)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Rows [][]string `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Rows) != 1 {
		t.Fatalf("query: %v\n%s", err, out)
	}
	out, err = runIn(t, dir, "explain", "--json", "--pipeline", p.Rows[0][0])
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		FailingStep *struct{ Name, From string } `json:"failing_step"`
		Sources     struct{ Steps, Logs string } `json:"sources"`
		Log         *struct {
			ErrorLines []struct{ N int } `json:"error_lines"`
		} `json:"log"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.FailingStep == nil || rep.FailingStep.From != "build_steps" || rep.Sources.Logs != "loaded" || rep.Log == nil || len(rep.Log.ErrorLines) == 0 {
		t.Fatalf("explain --pipeline %s: %s", p.Rows[0][0], out)
	}
}
