package explain

import "strings"

// Outcomes of a build, from its Codefresh status. The mapping is the one
// the CI views define (issue 21); a status outside it keeps its own name.
const (
	OutcomeSuccess   = "success"
	OutcomeFailure   = "failure"
	OutcomeCancelled = "cancelled"
	OutcomeRunning   = "running"
	OutcomePending   = "pending"
)

var outcomes = map[string]string{
	"success":          OutcomeSuccess,
	"error":            OutcomeFailure,
	"failure":          OutcomeFailure,
	"failed":           OutcomeFailure,
	"terminated":       OutcomeCancelled,
	"terminating":      OutcomeCancelled,
	"cancelled":        OutcomeCancelled,
	"canceled":         OutcomeCancelled,
	"aborted":          OutcomeCancelled,
	"denied":           OutcomeCancelled,
	"running":          OutcomeRunning,
	"elected":          OutcomeRunning,
	"approved":         OutcomeRunning,
	"delayed":          OutcomeRunning,
	"pending":          OutcomePending,
	"pending-approval": OutcomePending,
	"queued":           OutcomePending,
}

// Outcome maps a Codefresh build status to its outcome.
func Outcome(status string) string {
	s := strings.ToLower(strings.TrimSpace(status))
	if o, ok := outcomes[s]; ok {
		return o
	}
	return s
}

// failureStatuses is the SQL list of statuses whose outcome is failure.
func failureStatuses() string {
	var q []string
	for s, o := range outcomes {
		if o == OutcomeFailure {
			q = append(q, literal(s))
		}
	}
	sortStrings(q)
	return "(" + strings.Join(q, ", ") + ")"
}

// stepFailed: a step status or result that means the step failed.
func stepFailed(s string) bool {
	switch strings.ToLower(s) {
	case "failure", "error", "failed":
		return true
	}
	return false
}

// stepStopped: a step that was terminated (a cancelled build's last step).
func stepStopped(s string) bool {
	switch strings.ToLower(s) {
	case "terminated", "terminating", "cancelled", "canceled", "aborted":
		return true
	}
	return false
}
