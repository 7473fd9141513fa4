// Package cimetrics computes CI metrics (build counts, success rates,
// durations, time to recovery, deploy and flakiness figures) over the CI
// views of a loaded dataset (package civiews), grouped and filtered as
// asked, in SQL that DuckDB and PostgreSQL both run. The request is
// validated against closed lists: no SQL comes from the caller.
package cimetrics

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Request asks for metrics.
type Request struct {
	Metrics []string // names from Metrics(); empty = DefaultMetrics
	GroupBy []string // names from Groupings(); empty = one row over everything
	// The window over the builds' created time: Last ("7d", "24h", "2w")
	// ending now, or Since/Until (RFC 3339 or YYYY-MM-DD, Until exclusive).
	Since, Until, Last string
	// Filters: exact values of the builds view's columns.
	Pipeline, Project, Branch, Trigger string
	OrderBy                            string // a requested metric or grouping; empty = the default order
	Limit                              int    // rows; 0 = DefaultLimit, at most MaxLimit
}

// Limits of a request.
const (
	DefaultLimit  = 50
	MaxLimit      = 500
	maxFilterLen  = 256
	maxLastAmount = 3660 // days: ten years
)

// DefaultMetrics answer a request that names none.
var DefaultMetrics = []string{"build_count", "success_rate", "failure_count", "duration_p95"}

// metric is one metric: its definition, how SQL computes it and how its
// value is rounded.
type metric struct {
	name, definition string
	sql              string // over the joined aggregates (columns of main, mttr, flaky)
	decimals         int    // -1: an integer count
	needs            string // "" or the part it needs: "mttr", "flaky", "deploy"
}

var metrics = []metric{
	{"build_count", "builds created in the window", "m.build_count", -1, ""},
	{"success_rate", "successes / finished builds (outcome success, failure or cancelled); null when none finished", "CAST(m.successes AS DOUBLE PRECISION) / NULLIF(m.finished, 0)", 4, ""},
	{"failure_count", "builds with outcome failure (statuses error, failure, failed)", "m.failures", -1, ""},
	{"duration_p50", "median run seconds (finished - started) of finished builds; percentile_cont, linear interpolation", "m.duration_p50", 3, ""},
	{"duration_p90", "90th percentile of run seconds of finished builds; percentile_cont, linear interpolation", "m.duration_p90", 3, ""},
	{"duration_p95", "95th percentile of run seconds of finished builds; percentile_cont, linear interpolation", "m.duration_p95", 3, ""},
	{"queue_p50", "median queue seconds (started - created) of started builds; percentile_cont, linear interpolation", "m.queue_p50", 3, ""},
	{"queue_p90", "90th percentile of queue seconds of started builds; percentile_cont, linear interpolation", "m.queue_p90", 3, ""},
	{"queue_p95", "95th percentile of queue seconds of started builds; percentile_cont, linear interpolation", "m.queue_p95", 3, ""},
	{"mttr", "mean seconds from the finish of the first failure of a streak to the finish of the next success on the same pipeline and branch (finished success/failure builds of the window in finish order; a streak not yet recovered is not counted; grouped by the first failure)", "rc.mttr", 3, "mttr"},
	{"recoveries", "failure streaks that recovered (the count mttr averages)", "coalesce(rc.recoveries, 0)", -1, "mttr"},
	{"change_failure_rate", "failed / finished (success or failure) builds of deploy pipelines ([ci] deploy_pipelines); null when none", "CAST(m.deploy_failures AS DOUBLE PRECISION) / NULLIF(m.deploy_failures + m.deploy_successes, 0)", 4, "deploy"},
	{"deploy_frequency", "successful builds of deploy pipelines per day of the window (per day of the period when grouped by day or week)", "m.deploy_successes", 4, "deploy"},
	{"flaky_count", "pipeline + revision pairs with a failed build and a later-created successful build of the same pipeline and revision (grouped by the failed build)", "coalesce(fl.flaky_count, 0)", -1, "flaky"},
	{"flaky_rate", "flaky_count / pipeline + revision pairs with a finished (success or failure) build", "CAST(coalesce(fl.flaky_count, 0) AS DOUBLE PRECISION) / NULLIF(rv.revisions, 0)", 4, "flaky"},
}

// grouping is one way to group builds: its SQL over the builds view.
type grouping struct{ name, sql string }

var groupings = []grouping{
	{"pipeline", "pipeline"},
	{"project", "project"},
	{"branch", "branch"},
	{"trigger", "trigger"},
	{"day", "CAST(CAST(created AT TIME ZONE 'UTC' AS DATE) AS TEXT)"},
	{"week", "CAST(CAST(date_trunc('week', created AT TIME ZONE 'UTC') AS DATE) AS TEXT)"},
}

// Metrics are the metric names, in their order.
func Metrics() []string { return names(metrics, func(m metric) string { return m.name }) }

// Groupings are the grouping names.
func Groupings() []string { return names(groupings, func(g grouping) string { return g.name }) }

// Definition is a metric's one-line definition ("" for an unknown one).
func Definition(name string) string {
	if m, ok := lookupMetric(name); ok {
		return m.definition
	}
	return ""
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}

func lookupMetric(name string) (metric, bool) {
	i := slices.IndexFunc(metrics, func(m metric) bool { return m.name == name })
	if i < 0 {
		return metric{}, false
	}
	return metrics[i], true
}

func lookupGrouping(name string) (grouping, bool) {
	i := slices.IndexFunc(groupings, func(g grouping) bool { return g.name == name })
	if i < 0 {
		return grouping{}, false
	}
	return groupings[i], true
}

// ValidationError is a request the metrics refuse; Valid lists what would do.
type ValidationError struct {
	Field, Value, Problem string
	Valid                 []string
}

func (e *ValidationError) Error() string {
	msg := fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Problem)
	if len(e.Valid) > 0 {
		msg += "; valid: " + strings.Join(e.Valid, ", ")
	}
	return msg
}

// Window is the resolved time window, [Since, Until) over created; a zero
// Since is no lower bound.
type Window struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until"`
}

// plan is a validated request.
type plan struct {
	metrics  []metric
	groups   []grouping
	window   Window
	filters  [][2]string // view column, value
	orderBy  string
	orderAsc bool
	limit    int
}

func (r Request) plan(now time.Time) (*plan, error) {
	p := &plan{limit: r.Limit}
	ms := r.Metrics
	if len(ms) == 0 {
		ms = DefaultMetrics
	}
	for _, name := range ms {
		m, ok := lookupMetric(strings.TrimSpace(name))
		if !ok {
			return nil, &ValidationError{Field: "metric", Value: name, Problem: "unknown metric", Valid: Metrics()}
		}
		if !slices.ContainsFunc(p.metrics, func(x metric) bool { return x.name == m.name }) {
			p.metrics = append(p.metrics, m)
		}
	}
	for _, name := range r.GroupBy {
		g, ok := lookupGrouping(strings.TrimSpace(name))
		if !ok {
			return nil, &ValidationError{Field: "group_by", Value: name, Problem: "unknown grouping", Valid: Groupings()}
		}
		if slices.ContainsFunc(p.groups, func(x grouping) bool { return x.name == g.name }) {
			return nil, &ValidationError{Field: "group_by", Value: name, Problem: "named twice"}
		}
		p.groups = append(p.groups, g)
	}
	if p.limit == 0 {
		p.limit = DefaultLimit
	}
	if p.limit < 1 || p.limit > MaxLimit {
		return nil, &ValidationError{Field: "limit", Value: strconv.Itoa(r.Limit), Problem: fmt.Sprintf("use 1 to %d", MaxLimit)}
	}
	var err error
	if p.window, err = window(r, now); err != nil {
		return nil, err
	}
	for _, f := range [][2]string{{"pipeline", r.Pipeline}, {"project", r.Project}, {"branch", r.Branch}, {"trigger", r.Trigger}} {
		if f[1] == "" {
			continue
		}
		if len(f[1]) > maxFilterLen || strings.ContainsRune(f[1], 0) {
			return nil, &ValidationError{Field: f[0], Value: f[1][:min(len(f[1]), 40)], Problem: fmt.Sprintf("give a value of at most %d characters", maxFilterLen)}
		}
		p.filters = append(p.filters, f)
	}
	return p, p.order(r.OrderBy)
}

// order picks the sort: a named metric descending or grouping ascending;
// by default the day or week ascending when grouped by one, else the first
// metric descending.
func (p *plan) order(by string) error {
	if by == "" {
		for _, g := range p.groups {
			if g.name == "day" || g.name == "week" {
				p.orderBy, p.orderAsc = g.name, true
				return nil
			}
		}
		p.orderBy = p.metrics[0].name
		return nil
	}
	var valid []string
	for _, g := range p.groups {
		if g.name == by {
			p.orderBy, p.orderAsc = by, true
			return nil
		}
		valid = append(valid, g.name)
	}
	for _, m := range p.metrics {
		if m.name == by {
			p.orderBy = by
			return nil
		}
		valid = append(valid, m.name)
	}
	return &ValidationError{Field: "order_by", Value: by, Problem: "not a requested metric or grouping", Valid: valid}
}

// window resolves Last or Since/Until against now.
func window(r Request, now time.Time) (Window, error) {
	w := Window{Until: now.UTC()}
	if r.Last != "" {
		if r.Since != "" || r.Until != "" {
			return w, &ValidationError{Field: "last", Value: r.Last, Problem: "give either last or since/until, not both"}
		}
		d, err := parseLast(r.Last)
		if err != nil {
			return w, err
		}
		w.Since = w.Until.Add(-d)
		return w, nil
	}
	if r.Since != "" {
		t, err := parseTime("since", r.Since)
		if err != nil {
			return w, err
		}
		w.Since = t
	}
	if r.Until != "" {
		t, err := parseTime("until", r.Until)
		if err != nil {
			return w, err
		}
		w.Until = t
	}
	if !w.Since.IsZero() && !w.Since.Before(w.Until) {
		return w, &ValidationError{Field: "since", Value: r.Since, Problem: "must be before until (" + w.Until.Format(time.RFC3339) + ")"}
	}
	return w, nil
}

// parseLast reads "24h", "7d" or "2w".
func parseLast(s string) (time.Duration, error) {
	bad := &ValidationError{Field: "last", Value: s, Problem: "give a whole number of hours, days or weeks", Valid: []string{"24h", "7d", "2w"}}
	if len(s) < 2 {
		return 0, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, bad
	}
	unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 || time.Duration(n)*unit > maxLastAmount*24*time.Hour {
		return 0, bad
	}
	return time.Duration(n) * unit, nil
}

func parseTime(field, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &ValidationError{Field: field, Value: s, Problem: "give a date (2024-05-01) or an RFC 3339 time (2024-05-01T12:00:00Z)"}
}
