package civiews

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Source tables of the views, in the dataset.
const (
	BuildsTable = "builds"
	StepsTable  = "build_steps"
)

// Statements are the statements that create or refresh the views of
// dataset, given the columns its tables have (table -> column -> type,
// dlt's data type or the database's SQL type; "" when unknown). The SQL
// reads in DuckDB and PostgreSQL alike. A view whose source table does not
// exist is left out (steps until build_steps is loaded). A column a load
// has not seen, or whose type does not fit (a boolean "finished"), reads as
// NULL of the view column's type, so a column appearing later changes no
// view column's type and CREATE OR REPLACE keeps working in PostgreSQL.
// View bodies name tables without a catalog: DuckDB binds them in the
// view's own database whatever name it is attached under.
func Statements(dataset string, columns map[string]map[string]string) []string {
	views := Definitions(dataset, columns)
	if len(views) == 0 {
		return nil
	}
	out := []string{CreateSchema(dataset)}
	for _, v := range views {
		out = append(out, v.Create)
	}
	return out
}

// Definition is one view's statement, as Statements would create it.
type Definition struct {
	Name   string
	Create string // CREATE OR REPLACE VIEW ...
	// Comment is what a writer sets as the view's comment: it names the
	// definition, so a later load replaces only views whose definition
	// changed (in PostgreSQL a replace waits for every reader of the view).
	Comment string
}

// Definitions are the views of dataset over columns (see Statements), in
// the order they are created.
func Definitions(dataset string, columns map[string]map[string]string) []Definition {
	schema := quoteIdent(Schema(dataset))
	var out []Definition
	add := func(view, body string) {
		create := "CREATE OR REPLACE VIEW " + schema + "." + quoteIdent(view) + " AS " + body
		sum := sha256.Sum256([]byte(create))
		out = append(out, Definition{Name: view, Create: create, Comment: commentPrefix + hex.EncodeToString(sum[:8])})
	}
	if cols, ok := columns[BuildsTable]; ok {
		add(Builds, buildsBody(dataset, source{cols}))
		add(PipelineDaily, dailyBody(dataset))
	}
	if cols, ok := columns[StepsTable]; ok {
		add(Steps, stepsBody(dataset, source{cols}))
	}
	return out
}

// commentPrefix starts the comment of every view this package defines.
const commentPrefix = "codefresh-mcp CI view, definition "

// CreateSchema makes the views' schema when it is missing.
func CreateSchema(dataset string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + quoteIdent(Schema(dataset))
}

// SetComment records v's definition on the view; the statement reads in
// DuckDB and PostgreSQL alike.
func (v Definition) SetComment(dataset string) string {
	return "COMMENT ON VIEW " + quoteIdent(Schema(dataset)) + "." + quoteIdent(v.Name) + " IS '" + v.Comment + "'"
}

// kind is the family of a column's type.
type kind int

const (
	kindUnknown kind = iota
	kindText
	kindTime
	kindNumber
	kindOther // booleans, documents, lists
)

func kindOf(typ string) kind {
	t := strings.ToLower(strings.TrimSpace(typ))
	switch {
	case t == "":
		return kindUnknown
	case t == "text" || t == "varchar" || strings.HasPrefix(t, "character varying"):
		return kindText
	case strings.HasPrefix(t, "timestamp"):
		return kindTime
	case t == "bigint" || t == "integer" || t == "double" || t == "double precision" || t == "hugeint" || strings.HasPrefix(t, "decimal") || strings.HasPrefix(t, "numeric"):
		return kindNumber
	}
	return kindOther
}

// source writes expressions over a table's columns.
type source struct{ cols map[string]string }

// first is the first of names the table has with a type fit for want,
// NULL when it has none.
func (s source) first(fits func(kind) bool, names ...string) string {
	var have []string
	for _, n := range names {
		if typ, ok := s.cols[n]; ok && fits(kindOf(typ)) {
			have = append(have, quoteIdent(n))
		}
	}
	switch len(have) {
	case 0:
		return "NULL"
	case 1:
		return have[0]
	}
	return "coalesce(" + strings.Join(have, ", ") + ")"
}

// Scalars cast to text; only timestamps are times; only numbers are numbers.
func asText(k kind) bool   { return k != kindOther }
func asTime(k kind) bool   { return k == kindTime }
func asNumber(k kind) bool { return k == kindNumber }

// text, time, number are a column (or the first of several) cast to the view type.
func (s source) text(names ...string) string { return cast(s.first(asText, names...), typeText) }
func (s source) time(names ...string) string { return cast(s.first(asTime, names...), typeTime) }
func (s source) number(typ string, names ...string) string {
	return cast(s.first(asNumber, names...), typ)
}

func cast(expr, typ string) string { return "CAST(" + expr + " AS " + typ + ")" }

// seconds is b - a in seconds (fractional), NULL when either is NULL. The
// interval's epoch is exact to the microsecond in both dialects, where the
// difference of two epochs would carry a double's rounding.
func seconds(a, b string) string {
	return cast("extract(epoch FROM ("+b+" - "+a+"))", typeDouble)
}

// outcomeCase maps the lower-cased expr by rules.
func outcomeCase(expr string, rules []OutcomeRule) string {
	var b strings.Builder
	b.WriteString("CASE")
	for _, r := range rules {
		quoted := make([]string, len(r.Statuses))
		for i, s := range r.Statuses {
			quoted[i] = quoteLiteral(s)
		}
		fmt.Fprintf(&b, " WHEN lower(%s) IN (%s) THEN %s", expr, strings.Join(quoted, ", "), quoteLiteral(r.Outcome))
	}
	fmt.Fprintf(&b, " WHEN %s IS NULL THEN NULL ELSE %s END", expr, quoteLiteral(Other))
	return b.String()
}

// inList is "IN ('a', 'b')" of values.
func inList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quoteLiteral(v)
	}
	return "IN (" + strings.Join(quoted, ", ") + ")"
}

func buildsBody(dataset string, s source) string {
	repo := "NULL"
	if owner, name := s.first(asText, "repo_owner"), s.first(asText, "repo_name"); owner != "NULL" && name != "NULL" {
		repo = cast(owner, typeText) + " || '/' || " + cast(name, typeText)
	}
	status := s.text("status")
	started, finished, created := s.time("started"), s.time("finished"), s.time("created")
	inner := strings.Join([]string{
		s.text("id") + " AS build_id",
		s.text("pipeline_name", "service_name") + " AS pipeline",
		s.text("service_id") + " AS pipeline_id",
		s.text("project") + " AS project",
		s.text("branch_name") + " AS branch",
		s.text("trigger_type", "trigger") + " AS trigger",
		s.text("revision") + " AS revision",
		s.text("commit_message") + " AS commit_message",
		s.text("committer") + " AS committer",
		cast(repo, typeText) + " AS repo",
		s.text("progress") + " AS progress_id",
		status + " AS status",
		created + " AS created",
		started + " AS started",
		finished + " AS finished",
	}, ",\n\t")
	return fmt.Sprintf(`SELECT build_id, pipeline, pipeline_id, project, branch, trigger, revision, commit_message, committer, repo, progress_id, status,
	%s AS outcome,
	created, started, finished,
	%s AS queue_seconds,
	CASE WHEN %s %s THEN %s END AS run_seconds
FROM (SELECT %s
	FROM %s.%s) b`,
		cast(outcomeCase("status", BuildOutcomes), typeText),
		seconds("created", "started"),
		outcomeCase("status", BuildOutcomes), inList(Finished), seconds("started", "finished"),
		inner, quoteIdent(dataset), quoteIdent(BuildsTable))
}

func stepsBody(dataset string, s source) string {
	totalTime := s.number(typeDouble, "total_time") + " / 1000.0"
	inner := strings.Join([]string{
		s.text("build_id") + " AS build_id",
		s.number(typeBigint, "step_order") + " AS step_order",
		s.text("name") + " AS step_name",
		s.text("type") + " AS type",
		s.text("status", "result") + " AS status",
		s.time("start_timestamp") + " AS started",
		s.time("finish_timestamp") + " AS finished",
		totalTime + " AS total_seconds",
	}, ",\n\t")
	return fmt.Sprintf(`SELECT build_id, step_order, step_name, type, status,
	%s AS outcome,
	started, finished,
	coalesce(%s, total_seconds) AS seconds
FROM (SELECT %s
	FROM %s.%s) s`,
		cast(outcomeCase("status", StepOutcomes), typeText),
		seconds("started", "finished"),
		inner, quoteIdent(dataset), quoteIdent(StepsTable))
}

func dailyBody(dataset string) string {
	count := func(outcomes ...string) string {
		return "count(*) FILTER (WHERE outcome " + inList(outcomes) + ")"
	}
	return fmt.Sprintf(`SELECT pipeline, CAST(created AT TIME ZONE 'UTC' AS DATE) AS day,
	count(*) AS builds,
	%s AS successes,
	%s AS failures,
	%s AS cancelled,
	CAST(%s AS DOUBLE PRECISION) / NULLIF(%s, 0) AS success_rate,
	percentile_cont(0.5) WITHIN GROUP (ORDER BY run_seconds) AS p50_run_seconds,
	percentile_cont(0.95) WITHIN GROUP (ORDER BY run_seconds) AS p95_run_seconds
FROM %s.%s
GROUP BY 1, 2`,
		count(Success), count(Failure), count(Cancelled), count(Success), count(Finished...),
		quoteIdent(Schema(dataset)), quoteIdent(Builds))
}

// QuoteIdent quotes a name as a SQL identifier (both dialects).
func QuoteIdent(name string) string { return quoteIdent(name) }

// QuoteLiteral quotes a string literal (both dialects with standard strings).
func QuoteLiteral(s string) string { return quoteLiteral(s) }

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
