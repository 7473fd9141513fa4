package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

var stepsRes = resource{"build_steps", destination.Merge, []string{"build_id", "name"}}

// ciBuild is a build record with only the fields the first CI views load
// has: no pipeline, branch or trigger columns yet.
func ciBuild(id, status string, created time.Time, queued, ran time.Duration) map[string]any {
	rec := map[string]any{"id": id, "created": created.Format(time.RFC3339Nano)}
	if status != "" {
		rec["status"] = status
	}
	if queued > 0 {
		rec["started"] = created.Add(queued).Format(time.RFC3339Nano)
	}
	if ran > 0 {
		rec["finished"] = created.Add(queued + ran).Format(time.RFC3339Nano)
	}
	return rec
}

// testCIViews: a load makes the CI views over the columns the dataset has
// (missing ones read as NULL), every Codefresh status gets its outcome, and
// a later load that brings new columns and build_steps refreshes them.
func testCIViews(t *testing.T, r *run) {
	ctx := context.Background()
	b := NewBuilder(r.dataset, t.TempDir())
	ci := civiews.Schema(r.dataset)
	t0 := time.Date(2024, 3, 1, 23, 59, 0, 0, time.UTC)
	var recs []map[string]any
	i := 0
	for _, rule := range civiews.BuildOutcomes {
		for _, st := range rule.Statuses {
			i++
			recs = append(recs, ciBuild(fmt.Sprintf("b%02d", i), strings.ToUpper(st[:1])+st[1:], t0.Add(time.Duration(i)*time.Minute),
				time.Duration(i)*1500*time.Millisecond, time.Duration(i)*time.Minute+250*time.Millisecond))
		}
	}
	recs = append(recs, ciBuild("b90", "mystery", t0, time.Second, time.Second), ciBuild("b91", "", t0, 0, 0))
	pkg, err := b.build(ctx, Load1, state("x"), batch{buildsRes, recs})
	if err != nil {
		t.Fatal(err)
	}
	defer pkg.Stage.Close()
	r.commit(t, pkg)

	// Expected rows, computed from the records.
	var want []string
	for _, rec := range recs {
		want = append(want, expectedBuildRow(rec))
	}
	q := `SELECT build_id, status, outcome, queue_seconds, run_seconds, pipeline, branch FROM ` + ci + `.builds ORDER BY build_id`
	if got := r.query(t, q); got != strings.Join(want, ";") {
		t.Fatalf("%s: builds view:\n got %s\nwant %s", r.f.Name, got, strings.Join(want, ";"))
	}
	if got := r.viewNames(t); got != ci+".builds,"+ci+".pipeline_daily" {
		t.Fatalf("%s: views after the first load = %s", r.f.Name, got)
	}
	var nf *dataset.TableNotFoundError
	if _, err := r.Reader.Describe(ctx, ci+".steps"); !errors.As(err, &nf) {
		t.Fatalf("%s: steps view before build_steps was loaded: %v, want not found", r.f.Name, err)
	}
	d, err := r.Reader.Describe(ctx, ci+".builds")
	if err != nil {
		t.Fatal(err)
	}
	if !d.View || d.Dataset != ci || d.Rows != int64(len(recs)) || len(d.Columns) != 18 || d.Columns[12].Name != "outcome" || !strings.Contains(d.Columns[12].Doc, "failure <- error") {
		t.Fatalf("%s: describe builds view = %+v", r.f.Name, d)
	}

	// The second load brings pipeline and branch columns and build steps.
	more := ciBuild("b95", "error", t0.Add(time.Hour), time.Second, 90*time.Second)
	more["pipelineName"], more["branchName"] = "api/build", "main"
	steps := []map[string]any{
		{"build_id": "b95", "name": "clone", "step_order": float64(0), "status": "success", "type": "git-clone",
			"start_timestamp": "2024-03-02T01:00:01Z", "finish_timestamp": "2024-03-02T01:00:11.5Z"},
		{"build_id": "b95", "name": "test", "step_order": float64(1), "status": "failure", "type": "freestyle", "total_time": float64(4200)},
		{"build_id": "b95", "name": "push", "step_order": float64(2), "result": "skipped"},
	}
	pkg2, err := b.build(ctx, Load2, state("y"), batch{buildsRes, []map[string]any{more}}, batch{stepsRes, steps})
	if err != nil {
		t.Fatal(err)
	}
	defer pkg2.Stage.Close()
	r.commit(t, pkg2)
	if got, want := r.query(t, `SELECT pipeline, branch, outcome FROM `+ci+`.builds WHERE build_id = 'b95'`), "api/build,main,failure"; got != want {
		t.Fatalf("%s: refreshed builds view = %s, want %s", r.f.Name, got, want)
	}
	if got := r.viewNames(t); got != ci+".builds,"+ci+".steps,"+ci+".pipeline_daily" {
		t.Fatalf("%s: views after build_steps = %s", r.f.Name, got)
	}
	gotSteps := r.query(t, `SELECT step_order, step_name, type, status, outcome, seconds FROM `+ci+`.steps ORDER BY step_order`)
	if want := "0,clone,git-clone,success,success,10.5;1,test,freestyle,failure,failure,4.2;2,push,<nil>,skipped,skipped,<nil>"; gotSteps != want {
		t.Fatalf("%s: steps view:\n got %s\nwant %s", r.f.Name, gotSteps, want)
	}
	// pipeline_daily against a count over the records of the day.
	if got, want := r.query(t, `SELECT builds, successes, failures, cancelled, success_rate, p50_run_seconds FROM `+ci+`.pipeline_daily WHERE pipeline = 'api/build'`),
		"1,0,1,0,0,90"; got != want {
		t.Fatalf("%s: pipeline_daily = %s, want %s", r.f.Name, got, want)
	}
	var dayWant []string
	perDay := map[string][4]int{}
	var days []string
	for _, rec := range recs {
		created, _ := time.Parse(time.RFC3339Nano, rec["created"].(string))
		day := created.UTC().Format("2006-01-02")
		c, seen := perDay[day]
		if !seen {
			days = append(days, day)
		}
		c[0]++
		st, _ := rec["status"].(string)
		switch civiews.OutcomeOf(civiews.BuildOutcomes, st) {
		case civiews.Success:
			c[1]++
		case civiews.Failure:
			c[2]++
		case civiews.Cancelled:
			c[3]++
		}
		perDay[day] = c
	}
	slices.Sort(days)
	for _, day := range days {
		c := perDay[day]
		dayWant = append(dayWant, fmt.Sprintf("%d,%d,%d,%d", c[0], c[1], c[2], c[3]))
	}
	got := r.query(t, `SELECT builds, successes, failures, cancelled FROM `+ci+`.pipeline_daily WHERE pipeline IS NULL ORDER BY day`)
	if got != strings.Join(dayWant, ";") {
		t.Fatalf("%s: pipeline_daily without pipeline = %s, want %s", r.f.Name, got, strings.Join(dayWant, ";"))
	}
}

// expectedBuildRow is the builds view's row of a record, as r.query prints it.
func expectedBuildRow(rec map[string]any) string {
	ts := func(k string) (time.Time, bool) {
		s, ok := rec[k].(string)
		if !ok {
			return time.Time{}, false
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		return v, err == nil
	}
	created, _ := ts("created")
	started, hasStart := ts("started")
	finished, hasFinish := ts("finished")
	status, hasStatus := rec["status"].(string)
	outcome := civiews.OutcomeOf(civiews.BuildOutcomes, status)
	cell := func(ok bool, v any) string {
		if !ok {
			return "<nil>"
		}
		return fmt.Sprint(v)
	}
	ended := outcome == civiews.Success || outcome == civiews.Failure || outcome == civiews.Cancelled
	return strings.Join([]string{rec["id"].(string), cell(hasStatus, status), cell(hasStatus, outcome),
		cell(hasStart, started.Sub(created).Seconds()), cell(hasStart && hasFinish && ended, finished.Sub(started).Seconds()),
		"<nil>", "<nil>"}, ",")
}

// viewNames are the CI views Info lists, comma-separated.
func (r *run) viewNames(t *testing.T) string {
	t.Helper()
	info, err := r.Reader.Info(context.Background())
	if err != nil {
		t.Fatalf("%s: info: %v", r.f.Name, err)
	}
	var names []string
	for _, v := range info.Views {
		names = append(names, v.Name)
	}
	return strings.Join(names, ",")
}
