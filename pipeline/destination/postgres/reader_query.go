package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// Query runs one untrusted statement. The server enforces the limits: the
// text is parsed as one prepared statement (several are refused), it runs
// as the query of a cursor (only SELECT, TABLE, VALUES and WITH ... SELECT
// can be), inside a READ ONLY transaction with statement_timeout, and rows
// are fetched only up to the cap.
func (r *Reader) Query(ctx context.Context, query string, opts dataset.QueryOptions) (*dataset.Result, error) {
	opts = opts.WithDefaults()
	if blank(query) {
		return nil, &dataset.RefusedError{Reason: "empty query: give one SELECT statement"}
	}
	if err := checkPostgresQuery(query); err != nil {
		return nil, err
	}
	s, err := r.open(ctx, opts.Timeout)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if s.superuser {
		return nil, &dataset.RefusedError{Reason: "the PostgreSQL login is a superuser that cannot drop to pg_read_all_data (PostgreSQL 14+): query with a login that has only read rights"}
	}
	qctx, cancel := context.WithTimeout(ctx, opts.Timeout+2*time.Second)
	defer cancel()
	start := time.Now()
	plan, err := s.explain(qctx, query)
	if err == nil {
		err = s.checkRelations(plan)
	}
	var res *dataset.Result
	if err == nil {
		res, err = s.run(qctx, query, opts)
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("query canceled: %w", ctx.Err())
		case errors.Is(qctx.Err(), context.DeadlineExceeded) || isSQLState(err, "57014"):
			return nil, fmt.Errorf("query interrupted after the %s timeout: filter with WHERE, aggregate, or add LIMIT", opts.Timeout)
		case isSQLState(err, "42501"):
			return nil, r.readRightsError(ctx, err)
		}
		return nil, err
	}
	res.ElapsedMS = time.Since(start).Milliseconds()
	if !opts.NoProvenance {
		res.TablesRead = s.tablesRead(plan)
		res.Provenance, _ = s.provenance(qctx, res.TablesRead)
	}
	return res, nil
}

// explain is PostgreSQL's plan of the query (EXPLAIN runs nothing), as
// decoded JSON. The text goes as one prepared statement, so a second
// statement is refused here already.
func (s *pgSession) explain(ctx context.Context, query string) (any, error) {
	var raw []byte
	if err := s.tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON, VERBOSE) "+query).Scan(&raw); err != nil {
		return nil, s.queryError(err, query)
	}
	var plan any
	if err := json.Unmarshal(raw, &plan); err != nil {
		return nil, fmt.Errorf("read query plan: %w", err)
	}
	return plan, nil
}

// hiddenCatalogs are system catalogs a query may not read even where the
// login may: role passwords, user mappings and subscriptions (connection
// secrets), statistics samples (values of tables of other schemas), large
// objects.
var hiddenCatalogs = map[string]bool{
	"pg_authid": true, "pg_user_mapping": true, "pg_subscription": true, "pg_statistic": true,
	"pg_statistic_ext_data": true, "pg_largeobject": true,
}

// checkRelations refuses a plan that reads a table outside the dataset
// (system catalogs aside, except the hidden ones) or calls a denied
// function in FROM: the relations are the planner's, views resolved.
func (s *pgSession) checkRelations(plan any) error {
	var bad error
	dataset.WalkJSON(plan, func(m map[string]any) {
		if bad != nil {
			return
		}
		schema, _ := m["Schema"].(string)
		if fn, ok := m["Function Name"].(string); ok {
			bad = checkPostgresQuery(fn)
		}
		name, ok := m["Relation Name"].(string)
		if !ok {
			return
		}
		switch {
		case schema == s.dataset:
		case (schema == "pg_catalog" || schema == "information_schema") && !hiddenCatalogs[name]:
		default:
			bad = &dataset.RefusedError{Reason: fmt.Sprintf("only the dataset's tables (schema %s) and the system catalogs can be read; the query reads %s.%s", s.dataset, schema, name)}
		}
	})
	return bad
}

// run declares the cursor (parsing refuses a second statement and
// anything but a query) and fetches one row more than the cap.
func (s *pgSession) run(ctx context.Context, query string, opts dataset.QueryOptions) (*dataset.Result, error) {
	// The extended protocol sends the text as one Parse message, which
	// PostgreSQL refuses to hold more than one statement. (pgx's Exec
	// without arguments would use the simple protocol, which runs many.)
	pc := s.conn.PgConn()
	if _, err := pc.Prepare(ctx, "", "DECLARE cfmcp_query NO SCROLL CURSOR FOR "+query, nil); err != nil {
		return nil, s.queryError(err, query)
	}
	if _, err := pc.ExecPrepared(ctx, "", nil, nil, nil).Close(); err != nil {
		return nil, s.queryError(err, query)
	}
	rows, err := s.tx.Query(ctx, fmt.Sprintf("FETCH FORWARD %d FROM cfmcp_query", opts.MaxRows+1))
	if err != nil {
		return nil, s.queryError(err, query)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	cols, types, convTypes := make([]string, len(fields)), make([]string, len(fields)), make([]string, len(fields))
	for i, f := range fields {
		cols[i] = f.Name
		types[i] = pgTypeName(s.conn.TypeMap(), f.DataTypeOID)
		convTypes[i] = duckTypeOf(types[i])
	}
	res, err := dataset.FillResult(cols, types, convTypes, opts, func() ([]any, bool, error) {
		if !rows.Next() {
			return nil, false, nil
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, false, s.queryError(err, query)
		}
		for i, v := range vals {
			vals[i] = pgValue(v)
		}
		return vals, true, nil
	})
	rows.Close()
	if err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, s.queryError(err, query)
	}
	return res, nil
}

// queryError keeps PostgreSQL's message (it names the bad column or
// table) and says what is allowed when the server refused the statement:
// any statement that is no query, and a read the role has no right to.
// query is the user's text.
func (s *pgSession) queryError(err error, query string) error {
	var pe *pgconn.PgError
	var big *pgproto3.ExceededMaxBodyLenErr
	switch {
	case errors.As(err, &big):
		return &dataset.RefusedError{Reason: fmt.Sprintf("a row of the result holds %d bytes, more than the %d a row may: select fewer or shorter values (e.g. left(column, 1000))", big.ActualBodyLen, big.MaxExpectedBodyLen)}
	case !errors.As(err, &pe):
		return fmt.Errorf("query failed: %w", err)
	}
	got := ""
	if w := firstKeyword(query); w != "" && w != "SELECT" && w != "WITH" && w != "VALUES" && w != "TABLE" {
		got = "got " + w + ": "
	}
	switch {
	case pe.Code == "42601" && strings.Contains(pe.Message, "multiple commands"):
		return &dataset.RefusedError{Reason: "only a single SELECT statement is allowed (got more than one statement)"}
	case got != "", pe.Code == "25006", pe.Code == "0A000":
		// To EXPLAIN and DECLARE, a statement that is no query is a syntax
		// error or a statement they cannot run; 25006 is a write in the
		// read-only transaction, 0A000 e.g. a cursor over a data-modifying WITH.
		return &dataset.RefusedError{Reason: "only a single SELECT statement is allowed (" + got + pe.Message + ")"}
	case pe.Code == "42501":
		// A write the read rights do not allow (FOR UPDATE, a data-modifying
		// WITH), or a read right the login lacks: Query tells them apart.
		return &permissionDenied{refusal: dataset.RefusedError{Reason: "only a single SELECT statement over the dataset's tables is allowed (" + pe.Message + ")"}, pe: pe}
	}
	return &queryFailure{pe: pe}
}

// permissionDenied is a statement the server refused for want of a right.
type permissionDenied struct {
	refusal dataset.RefusedError
	pe      *pgconn.PgError
}

func (e *permissionDenied) Error() string   { return e.refusal.Error() }
func (e *permissionDenied) Unwrap() []error { return []error{&e.refusal, e.pe} }

// queryFailure is PostgreSQL's error about a query, its code kept.
type queryFailure struct{ pe *pgconn.PgError }

func (e *queryFailure) Error() string { return "query failed: " + e.pe.Message }
func (e *queryFailure) Unwrap() error { return e.pe }

// blank tells whether q holds nothing but blanks and comments.
func blank(q string) bool {
	for {
		q = strings.TrimLeft(q, " \t\r\n")
		switch {
		case q == "":
			return true
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return true
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return false // PostgreSQL reports the open comment
			}
			q = q[i+2:]
		default:
			return false
		}
	}
}

// firstKeyword is the query's first word in upper case, after blanks,
// comments and opening parentheses.
func firstKeyword(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "--"):
			if i := strings.IndexByte(q, '\n'); i >= 0 {
				q = q[i+1:]
				continue
			}
			return ""
		case strings.HasPrefix(q, "/*"):
			if i := strings.Index(q, "*/"); i >= 0 {
				q = q[i+2:]
				continue
			}
			return ""
		}
		end := strings.IndexFunc(q, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		})
		if end < 0 {
			end = len(q)
		}
		return strings.ToUpper(q[:end])
	}
}

func isSQLState(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// tablesRead are the dataset tables in the plan PostgreSQL made of the
// query, sorted; the planner has already replaced views by the tables they read.
func (s *pgSession) tablesRead(plan any) []string {
	var out []string
	dataset.WalkJSON(plan, func(m map[string]any) {
		name, _ := m["Relation Name"].(string)
		schema, _ := m["Schema"].(string)
		if name != "" && schema == s.dataset && !slices.Contains(out, name) {
			out = append(out, name)
		}
	})
	slices.Sort(out)
	return out
}

// provenance names the latest loads present in each of the tables read
// that carry _dlt_load_id.
func (s *pgSession) provenance(ctx context.Context, tables []string) ([]dataset.LoadRef, error) {
	if len(tables) == 0 {
		return nil, nil
	}
	rows, err := s.tx.Query(ctx, `SELECT c.relname FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND a.attname = '_dlt_load_id' AND NOT a.attisdropped
		  AND to_regclass(quote_ident($1) || '._dlt_loads') IS NOT NULL
		ORDER BY c.relname COLLATE "C"`, s.dataset)
	if err != nil {
		return nil, err
	}
	loaded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var out []dataset.LoadRef
	for _, table := range dataset.ProvenanceTablesOf(loaded, tables) {
		rows, err := s.tx.Query(ctx, dataset.ProvenanceQuery(s.dataset, table))
		if err != nil {
			return out, err
		}
		for rows.Next() {
			ref := dataset.LoadRef{Table: table}
			if err := rows.Scan(&ref.LoadID, &ref.LoadedAt); err != nil {
				rows.Close()
				return out, err
			}
			out = append(out, ref)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}
