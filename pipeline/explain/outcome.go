package explain

import (
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
)

// Outcomes of a build, from its Codefresh status: the CI views' mapping,
// so an explanation and the views never disagree.
const (
	OutcomeSuccess   = civiews.Success
	OutcomeFailure   = civiews.Failure
	OutcomeCancelled = civiews.Cancelled
	OutcomeRunning   = civiews.Running
	OutcomePending   = civiews.Pending
)

// Outcome maps a Codefresh build status to its outcome.
func Outcome(status string) string { return civiews.OutcomeOf(civiews.BuildOutcomes, status) }

// failureStatuses is the SQL list of statuses whose outcome is failure.
func failureStatuses() string {
	var q []string
	for _, r := range civiews.BuildOutcomes {
		if r.Outcome == OutcomeFailure {
			for _, s := range r.Statuses {
				q = append(q, literal(s))
			}
		}
	}
	sortStrings(q)
	return "(" + strings.Join(q, ", ") + ")"
}

// stepFailed: a step status or result that means the step failed.
func stepFailed(s string) bool { return civiews.OutcomeOf(civiews.StepOutcomes, s) == OutcomeFailure }

// stepStopped: a step that was terminated (a cancelled build's last step).
func stepStopped(s string) bool {
	return civiews.OutcomeOf(civiews.StepOutcomes, s) == OutcomeCancelled
}
