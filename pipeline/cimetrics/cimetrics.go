package cimetrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// Options say where the views are and what the pipeline file says.
type Options struct {
	Dataset string
	// DeployPipelines are names or globs (path.Match) of deploy pipelines.
	DeployPipelines []string
	Now             time.Time // zero = time.Now
}

// Answer is the metrics as compact rows.
type Answer struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	RowCount  int      `json:"row_count"`
	Truncated bool     `json:"truncated"`
	Window    Window   `json:"window"`
	// Filters applied, by builds view column.
	Filters map[string]string `json:"filters,omitempty"`
	// Definitions says how each metric is computed, in one line.
	Definitions map[string]string `json:"definitions"`
	Source      string            `json:"source"` // the view read
	Notes       []string          `json:"notes,omitempty"`
	// Freshness is the as-of time of the builds table the views read,
	// filled by the caller.
	Freshness []dataset.TableFreshness `json:"freshness,omitempty"`
}

// NoViewsError says the dataset has no CI views to read yet.
type NoViewsError struct{ Schema string }

func (e *NoViewsError) Error() string {
	return "the CI views " + e.Schema + " do not exist: builds were never loaded, or the last load predates the views"
}

func (e *NoViewsError) Unwrap() error { return dataset.ErrNoData }

// Compute answers req over the CI views r reads.
func Compute(ctx context.Context, r dataset.Reader, req Request, o Options) (*Answer, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	p, err := req.plan(now)
	if err != nil {
		return nil, err
	}
	ans := &Answer{Window: p.window, Definitions: map[string]string{},
		Source: civiews.Schema(o.Dataset) + "." + civiews.Builds, Rows: [][]any{}}
	for _, f := range p.filters {
		if ans.Filters == nil {
			ans.Filters = map[string]string{}
		}
		ans.Filters[f[0]] = f[1]
	}
	for _, m := range p.metrics {
		ans.Definitions[m.name] = m.definition
	}
	var deploys []string
	if p.needs("deploy") {
		if len(o.DeployPipelines) == 0 {
			ans.Notes = append(ans.Notes, "no deploy pipelines are set ([ci] deploy_pipelines in the pipeline file): change_failure_rate and deploy_frequency are null")
		} else if deploys, err = matchDeploys(ctx, r, o); err != nil {
			return nil, err
		}
	}
	res, err := r.Query(ctx, p.query(o.Dataset, deploys), dataset.QueryOptions{MaxRows: p.limit + 1, MaxBytes: 4 << 20, MaxStringLen: 1000})
	if err != nil {
		return nil, viewsError(err, o.Dataset)
	}
	rows := res.Rows
	if len(rows) > p.limit || res.Truncated {
		ans.Truncated = true
		rows = rows[:min(len(rows), p.limit)]
	}
	for _, g := range p.groups {
		ans.Columns = append(ans.Columns, g.name)
	}
	for _, m := range p.metrics {
		ans.Columns = append(ans.Columns, m.name)
	}
	days, err := p.windowDays(ctx, r, o.Dataset)
	if err != nil {
		return nil, err
	}
	ng := len(p.groups)
	for _, row := range rows {
		out := make([]any, 0, len(ans.Columns))
		out = append(out, row[:ng]...)
		for i, m := range p.metrics {
			v := row[ng+i]
			if m.name == "deploy_frequency" {
				v = p.perDay(row, days, len(deploys) > 0)
			}
			out = append(out, round(v, m.decimals))
		}
		ans.Rows = append(ans.Rows, out)
	}
	ans.RowCount = len(ans.Rows)
	if ans.RowCount == 0 {
		ans.Notes = append(ans.Notes, "no builds match the window and filters")
	}
	return ans, nil
}

// perDay divides a row's successful deploys by the days they are counted
// over: the window's, or the day's or week's part of the window.
func (p *plan) perDay(row []any, windowDays float64, haveDeploys bool) any {
	if !haveDeploys {
		return nil
	}
	n, ok := number(row[len(row)-1])
	if !ok {
		return nil
	}
	days := windowDays
	for i, g := range p.groups {
		if g.name != "day" && g.name != "week" {
			continue
		}
		start, err := time.Parse(time.DateOnly, fmt.Sprint(row[i]))
		if err != nil {
			return nil
		}
		end := start.AddDate(0, 0, 1)
		if g.name == "week" {
			end = start.AddDate(0, 0, 7)
		}
		if !p.window.Since.IsZero() && p.window.Since.After(start) {
			start = p.window.Since
		}
		if p.window.Until.Before(end) {
			end = p.window.Until
		}
		days = min(days, end.Sub(start).Hours()/24)
	}
	if days <= 0 {
		return nil
	}
	return n / days
}

// windowDays is the window's length in days; an open window starts at the
// first selected build.
func (p *plan) windowDays(ctx context.Context, r dataset.Reader, ds string) (float64, error) {
	if !p.needs("deploy") {
		return 0, nil
	}
	since := p.window.Since
	if since.IsZero() {
		res, err := r.Query(ctx, "SELECT min(created) FROM "+civiews.QuoteIdent(civiews.Schema(ds))+"."+civiews.QuoteIdent(civiews.Builds)+
			" WHERE created < "+sqlTime(p.window.Until), dataset.QueryOptions{MaxRows: 1})
		if err != nil {
			return 0, viewsError(err, ds)
		}
		if len(res.Rows) == 0 || res.Rows[0][0] == nil {
			return 0, nil
		}
		t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(res.Rows[0][0]))
		if err != nil {
			return 0, fmt.Errorf("first build time %v: %w", res.Rows[0][0], err)
		}
		since = t
	}
	return p.window.Until.Sub(since).Hours() / 24, nil
}

// matchDeploys are the loaded pipeline names the deploy globs match.
func matchDeploys(ctx context.Context, r dataset.Reader, o Options) ([]string, error) {
	res, err := r.Query(ctx, "SELECT DISTINCT pipeline FROM "+civiews.QuoteIdent(civiews.Schema(o.Dataset))+"."+civiews.QuoteIdent(civiews.Builds)+
		" WHERE pipeline IS NOT NULL ORDER BY 1", dataset.QueryOptions{MaxRows: 100000, MaxBytes: 16 << 20, MaxStringLen: 1000})
	if err != nil {
		return nil, viewsError(err, o.Dataset)
	}
	var out []string
	for _, row := range res.Rows {
		name := fmt.Sprint(row[0])
		for _, glob := range o.DeployPipelines {
			if ok, _ := path.Match(glob, name); ok || glob == name {
				out = append(out, name)
				break
			}
		}
	}
	return out, nil
}

// viewsError names missing views as such.
func viewsError(err error, ds string) error {
	var refused *dataset.RefusedError
	if errors.As(err, &refused) || errors.Is(err, dataset.ErrNoData) {
		return err
	}
	schema := civiews.Schema(ds)
	msg := err.Error()
	if strings.Contains(msg, "does not exist") && (strings.Contains(msg, schema) || strings.Contains(msg, civiews.Builds)) {
		return &NoViewsError{Schema: schema}
	}
	return fmt.Errorf("ci metrics over %s: %w", schema, err)
}

func number(v any) (float64, bool) { return dataset.CellFloat(v) }

// round keeps counts whole and other figures to decimals places.
func round(v any, decimals int) any {
	f, ok := number(v)
	if !ok {
		return nil
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	if decimals < 0 {
		return int64(math.Round(f))
	}
	scale := math.Pow(10, float64(decimals))
	return math.Round(f*scale) / scale
}
