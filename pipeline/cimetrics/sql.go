package cimetrics

import (
	"fmt"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
)

// sqlTime is a timestamp literal both dialects read.
func sqlTime(t time.Time) string {
	return "CAST(" + civiews.QuoteLiteral(t.UTC().Format("2006-01-02 15:04:05.999999")+"+00") + " AS TIMESTAMPTZ)"
}

// keys are the hidden group key columns g_0..: one constant when ungrouped.
func (p *plan) keys() []string {
	if len(p.groups) == 0 {
		return []string{"g_0"}
	}
	out := make([]string, len(p.groups))
	for i := range p.groups {
		out[i] = fmt.Sprintf("g_%d", i)
	}
	return out
}

// joinOn matches the group keys of a and b, NULL matching NULL.
func (p *plan) joinOn(a, b string) string {
	var on []string
	for _, k := range p.keys() {
		on = append(on, a+"."+k+" IS NOT DISTINCT FROM "+b+"."+k)
	}
	return strings.Join(on, " AND ")
}

func (p *plan) needs(part string) bool {
	for _, m := range p.metrics {
		if m.needs == part {
			return true
		}
	}
	return false
}

// query writes the statement: the selected builds (window, filters, group
// keys, deploy flag), their aggregates, and where asked the recoveries and
// flaky revisions, joined by group and ordered and capped.
func (p *plan) query(dataset string, deploys []string) string {
	view := civiews.QuoteIdent(civiews.Schema(dataset)) + "." + civiews.QuoteIdent(civiews.Builds)
	keys := p.keys()
	keyList := strings.Join(keys, ", ")

	var sel []string
	if len(p.groups) == 0 {
		sel = append(sel, "1 AS g_0")
	}
	for i, g := range p.groups {
		sel = append(sel, fmt.Sprintf("%s AS g_%d", g.sql, i))
	}
	deploy := "FALSE"
	if len(deploys) > 0 {
		quoted := make([]string, len(deploys))
		for i, d := range deploys {
			quoted[i] = civiews.QuoteLiteral(d)
		}
		deploy = "coalesce(pipeline IN (" + strings.Join(quoted, ", ") + "), FALSE)"
	}
	sel = append(sel, deploy+" AS is_deploy")
	var where []string
	if !p.window.Since.IsZero() {
		where = append(where, "created >= "+sqlTime(p.window.Since))
	}
	where = append(where, "created < "+sqlTime(p.window.Until))
	for _, f := range p.filters {
		where = append(where, civiews.QuoteIdent(f[0])+" = "+civiews.QuoteLiteral(f[1]))
	}

	pct := func(q float64, col, filter string) string {
		return fmt.Sprintf("percentile_cont(%g) WITHIN GROUP (ORDER BY CASE WHEN %s THEN %s END)", q, filter, col)
	}
	finished := "outcome IN ('success', 'failure', 'cancelled')"
	var b strings.Builder
	fmt.Fprintf(&b, "WITH sel AS (SELECT b.*, %s FROM %s b WHERE %s),\n", strings.Join(sel, ", "), view, strings.Join(where, " AND "))
	fmt.Fprintf(&b, `m AS (SELECT %s, count(*) AS build_count,
	count(*) FILTER (WHERE outcome = 'success') AS successes,
	count(*) FILTER (WHERE outcome = 'failure') AS failures,
	count(*) FILTER (WHERE %s) AS finished,
	%s AS duration_p50, %s AS duration_p90, %s AS duration_p95,
	%s AS queue_p50, %s AS queue_p90, %s AS queue_p95,
	count(*) FILTER (WHERE is_deploy AND outcome = 'success') AS deploy_successes,
	count(*) FILTER (WHERE is_deploy AND outcome = 'failure') AS deploy_failures
	FROM sel GROUP BY %s)`, keyList, finished,
		pct(0.5, "run_seconds", finished), pct(0.9, "run_seconds", finished), pct(0.95, "run_seconds", finished),
		pct(0.5, "queue_seconds", "started IS NOT NULL"), pct(0.9, "queue_seconds", "started IS NOT NULL"), pct(0.95, "queue_seconds", "started IS NOT NULL"),
		keyList)
	joins := ""
	if p.needs("mttr") || p.needs("flaky") {
		b.WriteString(",\nfin AS (SELECT * FROM sel WHERE outcome IN ('success', 'failure') AND finished IS NOT NULL)")
	}
	if p.needs("mttr") {
		// k counts the successes up to each build of a pipeline and branch in
		// finish order: a failure streak shares k with the success before it,
		// and the success that ends it has k + 1.
		fmt.Fprintf(&b, `,
seq AS (SELECT *, sum(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) OVER (PARTITION BY pipeline, branch ORDER BY finished, build_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k FROM fin),
firsts AS (SELECT *, row_number() OVER (PARTITION BY pipeline, branch, k ORDER BY finished, build_id) AS streak_pos FROM seq WHERE outcome = 'failure'),
rec AS (SELECT %s, CAST(extract(epoch FROM (s.finished - f.finished)) AS DOUBLE PRECISION) AS secs
	FROM firsts f JOIN seq s ON s.outcome = 'success' AND s.k = f.k + 1 AND s.pipeline IS NOT DISTINCT FROM f.pipeline AND s.branch IS NOT DISTINCT FROM f.branch
	WHERE f.streak_pos = 1),
rc AS (SELECT %s, avg(secs) AS mttr, count(*) AS recoveries FROM rec GROUP BY %s)`, prefixed("f", keys), keyList, keyList)
		joins += " LEFT JOIN rc ON " + p.joinOn("m", "rc")
	}
	if p.needs("flaky") {
		fmt.Fprintf(&b, `,
flaky_fail AS (SELECT DISTINCT %s, f.pipeline, f.revision FROM fin f WHERE f.outcome = 'failure' AND f.revision IS NOT NULL
	AND EXISTS (SELECT 1 FROM fin s WHERE s.outcome = 'success' AND s.pipeline IS NOT DISTINCT FROM f.pipeline AND s.revision = f.revision
		AND (s.created > f.created OR (s.created = f.created AND s.build_id > f.build_id)))),
fl AS (SELECT %s, count(*) AS flaky_count FROM flaky_fail GROUP BY %s),
rv AS (SELECT %s, count(*) AS revisions FROM (SELECT DISTINCT %s, pipeline, revision FROM fin WHERE revision IS NOT NULL) x GROUP BY %s)`,
			prefixed("f", keys), keyList, keyList, keyList, keyList, keyList)
		joins += " LEFT JOIN fl ON " + p.joinOn("m", "fl") + " LEFT JOIN rv ON " + p.joinOn("m", "rv")
	}
	var out []string
	for i, g := range p.groups {
		out = append(out, fmt.Sprintf("m.g_%d AS %s", i, civiews.QuoteIdent(g.name)))
	}
	for _, m := range p.metrics {
		out = append(out, m.sql+" AS "+civiews.QuoteIdent(m.name))
	}
	out = append(out, "m.deploy_successes AS deploy_successes_")
	order := []string{p.orderExpr()}
	for i := range p.groups {
		order = append(order, fmt.Sprintf("m.g_%d NULLS LAST", i))
	}
	fmt.Fprintf(&b, "\nSELECT %s\nFROM m%s\nORDER BY %s\nLIMIT %d", strings.Join(out, ", "), joins, strings.Join(order, ", "), p.limit+1)
	return b.String()
}

// orderExpr sorts by the chosen metric or grouping; deploy_frequency sorts
// by its count, which it divides by days.
func (p *plan) orderExpr() string {
	dir := " DESC NULLS LAST"
	if p.orderAsc {
		dir = " ASC NULLS LAST"
	}
	for i, g := range p.groups {
		if g.name == p.orderBy {
			return fmt.Sprintf("m.g_%d%s", i, dir)
		}
	}
	m, _ := lookupMetric(p.orderBy)
	return "(" + m.sql + ")" + dir
}

func prefixed(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c
	}
	return strings.Join(out, ", ")
}
