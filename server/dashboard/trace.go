package dashboard

import (
	"context"
	"time"
)

// TraceSource returns the recorded load traces, newest first. It is the
// seam for the load trace (issue 11): the dashboard renders whatever it
// returns and works without one (nil).
type TraceSource func(ctx context.Context) ([]LoadTrace, error)

// LoadTrace is what one load did. LoadID matches _dlt_loads.load_id when
// the load committed; a failed or cancelled load has no _dlt_loads row and
// is shown from its trace alone.
type LoadTrace struct {
	LoadID    string
	Status    string // "succeeded", "failed", "cancelled" (anything else is shown as given)
	Started   time.Time
	Finished  time.Time // zero while running
	Resources []ResourceTrace
	Warnings  []string    // load-wide fallbacks and notes
	Error     *TraceError // why the load failed, nil when it did not
}

// ResourceTrace is one resource of a load.
type ResourceTrace struct {
	Resource string
	Status   string // "loaded", "skipped", "failed", ...
	Duration time.Duration
	Requests int
	Pages    int
	Retries  int
	Rows     map[string]int64 // table -> rows written
	Warnings []string         // fallbacks taken, such as a sequential listing instead of date windows
	Error    *TraceError
}

// TraceError is a classified failure with what to do about it.
type TraceError struct {
	Message string // already redacted by the recorder
	Cause   string // classified cause: auth, scope, rate_limit, network, lock, ...
	Next    string // the next step for the user
}

// Failed tells a load that ended in an error.
func (t LoadTrace) Failed() bool { return t.Error != nil || t.Status == "failed" }

// Duration is the load's wall time, 0 while it runs.
func (t LoadTrace) Duration() time.Duration {
	if t.Finished.IsZero() || t.Started.IsZero() {
		return 0
	}
	return t.Finished.Sub(t.Started)
}

// totals sums a trace's resources for the loads table.
func (t LoadTrace) totals() (pages, retries, requests int, rows int64) {
	for _, r := range t.Resources {
		pages += r.Pages
		retries += r.Retries
		requests += r.Requests
		for _, n := range r.Rows {
			rows += n
		}
	}
	return pages, retries, requests, rows
}

// allWarnings lists the load's warnings, each resource's prefixed by its name.
func (t LoadTrace) allWarnings() []string {
	out := append([]string(nil), t.Warnings...)
	for _, r := range t.Resources {
		for _, w := range r.Warnings {
			out = append(out, r.Resource+": "+w)
		}
	}
	return out
}
