// Package civiews defines the CI views: a small set of documented views
// over a loaded dataset (one row per build, one per step, daily rollups per
// pipeline) in a schema of their own, <dataset>_ci, so the dataset itself
// stays exactly dlt's. Writers create them with each load; the Parquet
// reader defines them over its files; readers, the dashboard and the
// metrics read them, so every front end agrees on what a build's outcome
// and duration are. The package is a leaf: it writes SQL and documents it.
package civiews

import "strings"

// SchemaSuffix makes the views' schema name from the dataset's.
const SchemaSuffix = "_ci"

// Schema is the schema the views of dataset live in: "codefresh_data_ci".
func Schema(dataset string) string { return dataset + SchemaSuffix }

// The views.
const (
	Builds        = "builds"
	Steps         = "steps"
	PipelineDaily = "pipeline_daily"
)

// Outcomes a build or step can have.
const (
	Success   = "success"
	Failure   = "failure"
	Cancelled = "cancelled"
	Running   = "running"
	Pending   = "pending"
	Skipped   = "skipped" // steps only
	Other     = "other"   // a status this mapping does not know
)

// OutcomeRule maps raw statuses (lower-cased) to one outcome.
type OutcomeRule struct {
	Outcome  string   `json:"outcome"`
	Statuses []string `json:"statuses"`
}

// BuildOutcomes maps every build status Codefresh uses (the CLI's list,
// running, success, error, terminated, terminating, pending-approval,
// delayed, pending, elected, plus denied and approved seen in filters) and
// the spellings other CI tools use. A status not listed is Other; a NULL
// status has a NULL outcome.
var BuildOutcomes = []OutcomeRule{
	{Success, []string{"success"}},
	{Failure, []string{"error", "failure", "failed"}},
	// terminating is on its way to terminated; denied is an approval refused.
	{Cancelled, []string{"terminated", "terminating", "cancelled", "canceled", "aborted", "denied"}},
	// elected: a runtime took the build; approved: it resumes after approval.
	{Running, []string{"running", "elected", "approved"}},
	// delayed: held back by the pipeline's concurrency limit, not started.
	{Pending, []string{"pending", "pending-approval", "queued", "delayed"}},
}

// StepOutcomes are BuildOutcomes plus skipped steps.
var StepOutcomes = append(append([]OutcomeRule{}, BuildOutcomes...), OutcomeRule{Skipped, []string{"skipped"}})

// Finished are the outcomes of a build that ended: success rates and run
// time percentiles are taken over these.
var Finished = []string{Success, Failure, Cancelled}

// OutcomeOf is the outcome of a raw status under rules ("" for an empty
// status, which the views leave NULL).
func OutcomeOf(rules []OutcomeRule, status string) string {
	s := strings.ToLower(strings.TrimSpace(status))
	if s == "" {
		return ""
	}
	for _, r := range rules {
		for _, st := range r.Statuses {
			if st == s {
				return r.Outcome
			}
		}
	}
	return Other
}

// Column documents one column of a view.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"` // the SQL type the view casts it to
	Doc  string `json:"doc"`
}

// View documents one view.
type View struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Columns     []Column `json:"columns"`
}

// SQL types of the views' columns, spelled as DuckDB and PostgreSQL both read them.
const (
	typeText   = "TEXT"
	typeBigint = "BIGINT"
	typeDouble = "DOUBLE PRECISION"
	typeTime   = "TIMESTAMPTZ"
	typeDate   = "DATE"
)

// Views documents every view, in the order they are created.
func Views() []View {
	return []View{
		{Name: Builds, Description: "One row per loaded build (table builds): who, what, when, and its outcome and durations.", Columns: []Column{
			{"build_id", typeText, "the build id (builds.id)"},
			{"pipeline", typeText, "pipeline name (pipelineName, else serviceName)"},
			{"pipeline_id", typeText, "pipeline id (serviceId)"},
			{"project", typeText, "project name"},
			{"branch", typeText, "git branch (branchName)"},
			{"trigger", typeText, "how it started: triggerType (git, cron, manual), else trigger"},
			{"revision", typeText, "commit sha"},
			{"commit_message", typeText, "commit message"},
			{"committer", typeText, "commit author"},
			{"repo", typeText, "repoOwner/repoName"},
			{"progress_id", typeText, "progress (log) id, for GET /progress/{id}"},
			{"status", typeText, "raw Codefresh status"},
			{"outcome", typeText, "success, failure, cancelled, running, pending or other: " + RulesText(BuildOutcomes)},
			{"created", typeTime, "submitted"},
			{"started", typeTime, "started running (NULL while pending)"},
			{"finished", typeTime, "ended (NULL while running)"},
			{"queue_seconds", typeDouble, "started - created"},
			{"run_seconds", typeDouble, "finished - started, for finished builds (success, failure, cancelled)"},
		}},
		{Name: Steps, Description: "One row per step of each build whose steps were loaded (table build_steps); absent until build_steps is loaded.", Columns: []Column{
			{"build_id", typeText, "the build (builds view build_id)"},
			{"step_order", typeBigint, "0-based order of the step in the build"},
			{"step_name", typeText, "step name"},
			{"type", typeText, "step type (freestyle, build, push, git-clone...)"},
			{"status", typeText, "raw step status (result when status is missing)"},
			{"outcome", typeText, "as the builds view's outcome, plus skipped"},
			{"started", typeTime, "step start"},
			{"finished", typeTime, "step finish"},
			{"seconds", typeDouble, "finished - started, else totalTime"},
		}},
		{Name: PipelineDaily, Description: "Per pipeline per UTC day of creation: build counts by outcome, success rate and run time percentiles.", Columns: []Column{
			{"pipeline", typeText, "pipeline name"},
			{"day", typeDate, "UTC day the builds were created"},
			{"builds", typeBigint, "builds created that day"},
			{"successes", typeBigint, "builds with outcome success"},
			{"failures", typeBigint, "builds with outcome failure"},
			{"cancelled", typeBigint, "builds with outcome cancelled"},
			{"success_rate", typeDouble, "successes / (successes + failures + cancelled); NULL when none finished"},
			{"p50_run_seconds", typeDouble, "median run_seconds of finished builds (linear interpolation, percentile_cont)"},
			{"p95_run_seconds", typeDouble, "95th percentile of run_seconds of finished builds (linear interpolation, percentile_cont)"},
		}},
	}
}

// Lookup returns the view named name.
func Lookup(name string) (View, bool) {
	for _, v := range Views() {
		if v.Name == name {
			return v, true
		}
	}
	return View{}, false
}

// RulesText writes the mapping in one line: "success <- success; failure <- error, failure, failed; ...".
func RulesText(rules []OutcomeRule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.Outcome + " <- " + strings.Join(r.Statuses, ", ")
	}
	return strings.Join(parts, "; ") + "; any other status -> other"
}
