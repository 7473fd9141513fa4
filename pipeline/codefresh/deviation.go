package codefresh

import "slices"

// Deviation is a way the API answered differently from the catalog that the
// client worked around: the load goes on, and the result says so.
type Deviation struct {
	Resource string `json:"resource"`
	Kind     string `json:"kind"`     // one of the Deviation* kinds
	Expected string `json:"expected"` // what the catalog (or the request) expected
	Got      string `json:"got"`      // what came back
	Action   string `json:"action"`   // what was done instead
}

// Deviation kinds.
const (
	DeviationEnvelope    = "envelope"     // records under another key, or a bare array
	DeviationPageSize    = "page_size"    // pages smaller or larger than the limit asked
	DeviationPaging      = "paging"       // limit and page/offset ignored: one page holds everything
	DeviationDateFilters = "date_filters" // startDate/endDate ignored on /workflow
	// DeviationDuplicates: records with a primary key already read in the same
	// load (a listing that shifted while it was read); the last is kept.
	DeviationDuplicates = "duplicate_keys"
	// DeviationLiveLogs: builds whose log is live (Firebase, a running
	// build), skipped; DeviationLogsUnread: builds whose log file could not
	// be read, skipped while the others load.
	DeviationLiveLogs   = "live_logs"
	DeviationLogsUnread = "logs_unread"
)

// fallbackSelectors are the envelopes tried after a resource's own ones:
// what Codefresh and the proxies in front of it have been seen to use.
var fallbackSelectors = []string{"$", "docs", "data", "items", "result", "workflows.docs"}

// selectorsFor lists a resource's selectors, its own first, then the
// fallbacks (a single-object endpoint has none: any object is its record).
func selectorsFor(r Resource) (all []string, own int) {
	all = append([]string{r.DataSelector}, r.AltSelectors...)
	own = len(all)
	if r.DataSelector == "" {
		return all, own
	}
	for _, s := range fallbackSelectors {
		if !slices.Contains(all, s) {
			all = append(all, s)
		}
	}
	return all, own
}

// describeSelector names a selector for people.
func describeSelector(s string) string {
	switch s {
	case "":
		return "a single object"
	case "$":
		return "a bare array"
	}
	return "an array at " + s
}
