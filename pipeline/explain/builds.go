package explain

import (
	"context"
	"fmt"
)

// latestFailed is the id of the newest failed build of pipeline (matched by
// name or id), on branch when set.
func (e *Explainer) latestFailed(ctx context.Context, b table, pipeline, branch string) (string, error) {
	where := e.pipelineMatch(b, pipeline)
	if branch != "" {
		where += " AND " + b.col("branch_name", "") + " = " + literal(branch)
	}
	res, err := e.query(ctx, "the latest failed build", fmt.Sprintf(`SELECT id FROM %s WHERE %s AND lower(%s) IN %s ORDER BY %s DESC LIMIT 1`,
		e.ref(b), where, b.col("status", ""), failureStatuses(), b.col("created", "")))
	if err != nil {
		return "", err
	}
	if len(res.Rows) == 1 {
		return str(res.Rows[0][0]), nil
	}
	nf := &NoFailedBuildError{Pipeline: pipeline, Branch: branch}
	count, err := e.query(ctx, "builds of the pipeline", fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s`, e.ref(b), where))
	if err != nil {
		return "", err
	}
	nf.Builds, _ = num(count.Rows[0][0])
	if nf.Builds == 0 && branch == "" {
		if nf.Similar, err = e.similarPipelines(ctx, b, pipeline); err != nil {
			return "", err
		}
	}
	return "", nf
}

// pipelineMatch is the condition for builds of pipeline, by name or id.
func (e *Explainer) pipelineMatch(b table, pipeline string) string {
	return fmt.Sprintf("(%s = %s OR %s = %s)", b.col("pipeline_name", ""), literal(pipeline), b.col("service_id", ""), literal(pipeline))
}

// similarPipelines names up to 5 loaded pipelines whose name contains
// pipeline's last part (after a project's "/").
func (e *Explainer) similarPipelines(ctx context.Context, b table, pipeline string) ([]string, error) {
	if !b.cols["pipeline_name"] {
		return nil, nil
	}
	part := pipeline
	for i := len(part) - 1; i >= 0; i-- {
		if part[i] == '/' {
			part = part[i+1:]
			break
		}
	}
	res, err := e.query(ctx, "pipeline names", fmt.Sprintf(`SELECT DISTINCT pipeline_name FROM %s WHERE strpos(lower(pipeline_name), lower(%s)) > 0 ORDER BY 1 LIMIT 5`,
		e.ref(b), literal(part)))
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, row := range res.Rows {
		out = append(out, str(row[0]))
	}
	return out, nil
}

// buildColumns are read for the explained build, in this order.
var buildColumns = []string{"id", "pipeline_name", "project", "branch_name", "revision", "commit_message", "committer", "trigger", "status", "created", "started", "finished", "progress"}

// build reads one build.
func (e *Explainer) build(ctx context.Context, b table, id string) (Build, error) {
	sel := ""
	for i, c := range buildColumns {
		if i > 0 {
			sel += ", "
		}
		sel += b.col(c, "")
	}
	res, err := e.query(ctx, "build "+id, fmt.Sprintf(`SELECT %s FROM %s WHERE %s = %s LIMIT 1`, sel, e.ref(b), b.col("id", ""), literal(id)))
	if err != nil {
		return Build{}, err
	}
	if len(res.Rows) == 0 {
		nf := &BuildNotFoundError{BuildID: id, Dataset: e.Dataset}
		count, err := e.query(ctx, "builds", `SELECT count(*) FROM `+e.ref(b))
		if err != nil {
			return Build{}, err
		}
		nf.Loaded, _ = num(count.Rows[0][0])
		return Build{}, nf
	}
	v := res.Rows[0]
	out := Build{
		ID: str(v[0]), Pipeline: str(v[1]), Project: str(v[2]), Branch: str(v[3]), Revision: str(v[4]),
		CommitMessage: cut(clean(firstLine(str(v[5]))), 120), Committer: str(v[6]), Trigger: str(v[7]), Status: str(v[8]),
		Created: stamp(v[9]), Started: stamp(v[10]), Finished: stamp(v[11]), progress: str(v[12]),
	}
	out.Outcome = Outcome(out.Status)
	out.QueueSeconds = seconds(out.Created, out.Started)
	out.RunSeconds = seconds(out.Started, out.Finished)
	return out, nil
}

// history reads the earlier builds of the pipeline on the branch and the
// pipeline's builds of the same revision.
func (e *Explainer) history(ctx context.Context, b table, r *Report) error {
	if !b.cols["created"] {
		return nil
	}
	this := "(SELECT created FROM " + e.ref(b) + " WHERE id = " + literal(r.Build.ID) + " LIMIT 1)"
	res, err := e.query(ctx, "earlier builds", fmt.Sprintf(
		`SELECT id, %s, %s, %s, created FROM %s WHERE %s IS NOT DISTINCT FROM %s AND %s IS NOT DISTINCT FROM %s AND created < %s AND id <> %s ORDER BY created DESC LIMIT %d`,
		b.col("status", ""), b.col("revision", ""), b.col("branch_name", ""), e.ref(b),
		b.col("pipeline_name", ""), nullable(b, "pipeline_name", r.Build.Pipeline), b.col("branch_name", ""), nullable(b, "branch_name", r.Build.Branch),
		this, literal(r.Build.ID), historyScan))
	if err != nil {
		return err
	}
	var earlier []BuildBrief
	for _, row := range res.Rows {
		earlier = append(earlier, brief(row))
	}
	h := &r.History
	h.Scanned = len(earlier)
	h.Previous = append(h.Previous, earlier[:min(historyShown, len(earlier))]...)
	if r.Build.Outcome == OutcomeFailure {
		streak(h, r.Build, earlier)
	}
	if r.Build.Revision == "" || !b.cols["revision"] {
		return nil
	}
	same, err := e.query(ctx, "builds of the same revision", fmt.Sprintf(
		`SELECT id, %s, revision, %s, created FROM %s WHERE %s IS NOT DISTINCT FROM %s AND revision = %s ORDER BY created LIMIT %d`,
		b.col("status", ""), b.col("branch_name", ""), e.ref(b), b.col("pipeline_name", ""), nullable(b, "pipeline_name", r.Build.Pipeline),
		literal(r.Build.Revision), sameRevScan))
	if err != nil {
		return err
	}
	var runs []BuildBrief
	for _, row := range same.Rows {
		runs = append(runs, brief(row))
	}
	revisionRuns(h, r.Build, runs)
	return nil
}

// nullable is value as a literal, or NULL when empty or the column is absent.
func nullable(b table, col, value string) string {
	if value == "" || !b.cols[col] {
		return "NULL"
	}
	return literal(value)
}

func brief(row []any) BuildBrief {
	return BuildBrief{ID: str(row[0]), Outcome: Outcome(str(row[1])), Revision: shortRev(str(row[2])), Branch: str(row[3]), Created: stamp(row[4])}
}

// streak walks the earlier builds (newest first) back from a failed build:
// failures extend the streak, the first success ends it, cancelled and
// unfinished builds are passed over.
func streak(h *History, b Build, earlier []BuildBrief) {
	h.FailingStreak = 1
	since := BuildBrief{ID: b.ID, Outcome: b.Outcome, Revision: shortRev(b.Revision), Branch: b.Branch, Created: b.Created}
	for _, e := range earlier {
		if e.Outcome == OutcomeSuccess {
			h.LastSuccess = &e
			break
		}
		if e.Outcome == OutcomeFailure {
			h.FailingStreak++
			since = e
		}
	}
	h.FailingSince = &since
	h.FirstFailure = h.FailingStreak == 1
	h.StreakAtLeast = h.LastSuccess == nil && len(earlier) == historyScan
}

// revisionRuns counts the same revision's builds (oldest first) and finds
// a flaky revision: a failed build followed by a successful one.
func revisionRuns(h *History, b Build, runs []BuildBrief) {
	rr := &RevisionRuns{Builds: len(runs)}
	failedYet, thisSeen := false, false
	for i := range runs {
		run := runs[i]
		switch run.Outcome {
		case OutcomeFailure:
			rr.Failed++
			failedYet = true
		case OutcomeSuccess:
			rr.Passed++
			if failedYet {
				h.Flaky = true
			}
			if thisSeen && b.Outcome == OutcomeFailure && rr.PassedLater == nil {
				rr.PassedLater = &runs[i]
			}
		}
		if run.ID == b.ID {
			thisSeen = true
		}
	}
	h.SameRevision = rr
}
