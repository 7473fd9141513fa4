package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// Query runs one untrusted statement. The engine enforces every limit: the
// file is open read-only with file, network and extension access off and the
// configuration locked; the statement is prepared alone (more than one is
// refused) and run only when DuckDB types it SELECT and its syntax tree
// calls no table function outside a short list.
func (r *Reader) Query(ctx context.Context, query string, opts dataset.QueryOptions) (*dataset.Result, error) {
	opts = opts.WithDefaults()
	if strings.TrimSpace(query) == "" {
		return nil, &dataset.RefusedError{Reason: "empty query: give one SELECT statement"}
	}
	// The timeout bounds the wait for another process's lock too: a query
	// waiting longer says which process holds the file (LockedError).
	start := time.Now()
	wait := opts.Timeout
	if r.opts.LockWait > 0 {
		wait = min(wait, r.opts.LockWait)
	}
	s, err := r.open(ctx, wait)
	if err != nil {
		return nil, r.damaged(err)
	}
	defer s.Close()

	qctx, cancel := context.WithDeadline(ctx, start.Add(opts.Timeout))
	defer cancel()
	ast, err := s.parse(qctx, query)
	if err != nil {
		return nil, err
	}
	res, err := s.run(qctx, query, ast, opts)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("query canceled: %w", ctx.Err())
		case errors.Is(qctx.Err(), context.DeadlineExceeded):
			return nil, &dataset.TimeoutError{Timeout: opts.Timeout}
		}
		return nil, r.damaged(err)
	}
	res.ElapsedMS = time.Since(start).Milliseconds()
	if !opts.NoProvenance {
		// Best effort: a query whose tables cannot be found still answers.
		res.TablesRead, _ = s.tablesRead(qctx, ast)
		res.Provenance, _ = s.provenance(qctx, res.TablesRead)
	}
	return res, nil
}

// parse returns DuckDB's own syntax tree of query (json_serialize_sql),
// or nil when DuckDB cannot serialize it (anything but plain SELECTs).
// Parsing executes nothing.
func (s *session) parse(ctx context.Context, query string) (map[string]any, error) {
	var ast any
	if err := s.conn.QueryRowContext(ctx, `SELECT json_serialize_sql(CAST(? AS VARCHAR))`, query).Scan(&ast); err != nil {
		return nil, fmt.Errorf("parse query: %w", err)
	}
	m, ok := ast.(map[string]any)
	if !ok || m["error"] != false {
		return nil, nil
	}
	return m, nil
}

// run prepares and runs the statement on the driver's own connection:
// database/sql would execute every statement but the last before
// preparing, while duckdb.Conn.Prepare refuses more than one.
func (s *session) run(ctx context.Context, query string, ast map[string]any, opts dataset.QueryOptions) (*dataset.Result, error) {
	var res *dataset.Result
	err := s.conn.Raw(func(dc any) error {
		conn, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		st, err := conn.Prepare(query)
		if err != nil {
			return prepareError(err)
		}
		stmt := st.(*duckdb.Stmt)
		defer stmt.Close()
		typ, err := stmt.StatementType()
		if err != nil {
			return fmt.Errorf("statement type: %w", err)
		}
		if typ != duckdb.STATEMENT_TYPE_SELECT {
			return &dataset.RefusedError{Reason: fmt.Sprintf("only a single SELECT statement is allowed (got %s)", stmtTypeName(typ))}
		}
		if err := checkTableFunctions(ast); err != nil {
			return err
		}
		if stmt.NumInput() > 0 {
			return &dataset.RefusedError{Reason: "query parameters ($1, ?) are not supported: write the values into the SELECT"}
		}
		rows, err := stmt.QueryContext(ctx, nil)
		if err != nil {
			return engineError(err)
		}
		defer rows.Close()
		res, err = readRows(rows, opts)
		return err
	})
	return res, err
}

// readRows converts rows until a cap: MaxRows rows or MaxBytes of JSON.
func readRows(rows driver.Rows, opts dataset.QueryOptions) (*dataset.Result, error) {
	cols := rows.Columns()
	types := make([]string, len(cols))
	if tn, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		for i := range cols {
			types[i] = tn.ColumnTypeDatabaseTypeName(i)
		}
	}
	dest := make([]driver.Value, len(cols))
	return dataset.FillResult(cols, types, types, opts, func() ([]any, bool, error) {
		if err := rows.Next(dest); err == io.EOF {
			return nil, false, nil
		} else if err != nil {
			return nil, false, engineError(err)
		}
		row := make([]any, len(dest))
		for i, v := range dest {
			row[i] = v
		}
		return row, true, nil
	})
}

// prepareError explains why a statement could not be prepared.
func prepareError(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) {
		return engineError(err)
	}
	// Without a DuckDB error the driver refused the text itself: it holds
	// several statements (Prepare never runs any of them) or none.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "multi-statement"):
		return &dataset.RefusedError{Reason: "only a single SELECT statement is allowed (got more than one statement)"}
	case strings.Contains(msg, "empty query"):
		return &dataset.RefusedError{Reason: "empty query: give one SELECT statement"}
	}
	return fmt.Errorf("prepare query: %w", err)
}

// engineError keeps DuckDB's message (it names the bad column or table) and
// says what is allowed when the sandbox itself said no.
func engineError(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypePermission {
		msg, _, _ := strings.Cut(de.Msg, "\n")
		return &dataset.RefusedError{Reason: "only the dataset's tables can be read: file, network and extension access is disabled (" + msg + ")"}
	}
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeCatalog {
		// FROM 'path' is a file read DuckDB only tries when external access
		// is on; with it off the path is reported as a missing table.
		if name, ok := missingTable(de.Msg); ok && strings.ContainsAny(name, `/\:`) {
			return &dataset.RefusedError{Reason: fmt.Sprintf("only the dataset's tables can be read: %q is a file or URL, and file, network and extension access is disabled", name)}
		}
	}
	return fmt.Errorf("query failed: %w", err)
}

// missingTable is the name in DuckDB's "Table with name X does not exist!".
func missingTable(msg string) (string, bool) {
	_, rest, ok := strings.Cut(msg, "Table with name ")
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, " does not exist")
	return name, ok
}

var stmtTypeNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_SELECT: "SELECT", duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE",
	duckdb.STATEMENT_TYPE_EXPLAIN: "EXPLAIN", duckdb.STATEMENT_TYPE_DELETE: "DELETE", duckdb.STATEMENT_TYPE_PREPARE: "PREPARE",
	duckdb.STATEMENT_TYPE_CREATE: "CREATE", duckdb.STATEMENT_TYPE_EXECUTE: "EXECUTE", duckdb.STATEMENT_TYPE_ALTER: "ALTER",
	duckdb.STATEMENT_TYPE_TRANSACTION: "TRANSACTION", duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_ANALYZE: "ANALYZE",
	duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET", duckdb.STATEMENT_TYPE_CREATE_FUNC: "CREATE FUNCTION", duckdb.STATEMENT_TYPE_DROP: "DROP",
	duckdb.STATEMENT_TYPE_EXPORT: "EXPORT", duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA", duckdb.STATEMENT_TYPE_VACUUM: "VACUUM",
	duckdb.STATEMENT_TYPE_CALL: "CALL", duckdb.STATEMENT_TYPE_SET: "SET", duckdb.STATEMENT_TYPE_LOAD: "LOAD/INSTALL",
	duckdb.STATEMENT_TYPE_RELATION: "RELATION", duckdb.STATEMENT_TYPE_EXTENSION: "EXTENSION", duckdb.STATEMENT_TYPE_LOGICAL_PLAN: "LOGICAL PLAN",
	duckdb.STATEMENT_TYPE_ATTACH: "ATTACH", duckdb.STATEMENT_TYPE_DETACH: "DETACH", duckdb.STATEMENT_TYPE_MULTI: "MULTI",
}

func stmtTypeName(t duckdb.StmtType) string {
	if n, ok := stmtTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("statement type %d", t)
}

// tableFunctions are the table functions a query may call: generators and
// catalog views. The rest read files, change the instance (checkpoint,
// enable_logging), run SQL given as text (query, json_execute_serialized_sql)
// or take raw pointers (arrow_scan).
var tableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "repeat": true, "repeat_row": true,
	"json_each": true, "json_tree": true, "summary": true, "histogram": true, "histogram_values": true,
	"duckdb_columns": true, "duckdb_constraints": true, "duckdb_databases": true, "duckdb_dependencies": true,
	"duckdb_functions": true, "duckdb_indexes": true, "duckdb_keywords": true, "duckdb_schemas": true,
	"duckdb_sequences": true, "duckdb_settings": true, "duckdb_tables": true, "duckdb_types": true,
	"duckdb_views": true, "duckdb_variables": true, "duckdb_optimizers": true, "duckdb_memory": true,
	"pragma_table_info": true, "table_info": true, "pragma_show": true, "show": true, "show_tables": true,
	"show_tables_expanded": true, "show_databases": true, "pragma_storage_info": true, "storage_info": true,
	"pragma_database_size": true, "database_size": true, "pragma_version": true, "version": true,
	"pragma_platform": true, "platform": true, "pragma_collations": true, "collations": true,
	"pg_timezone_names": true, "icu_calendar_names": true,
}

// checkTableFunctions refuses a statement DuckDB could not serialize (so
// could not be inspected) or one calling a table function not listed above.
func checkTableFunctions(ast map[string]any) error {
	if ast == nil {
		return &dataset.RefusedError{Reason: "only a single plain SELECT statement is allowed (PRAGMA shorthands too: use SHOW TABLES, DESCRIBE t or SELECT * FROM pragma_table_info('t'))"}
	}
	var bad string
	dataset.WalkJSON(ast, func(m map[string]any) {
		if m["type"] != "TABLE_FUNCTION" || bad != "" {
			return
		}
		fn, _ := m["function"].(map[string]any)
		name, _ := fn["function_name"].(string)
		if !tableFunctions[strings.ToLower(name)] {
			bad = name
		}
	})
	if bad != "" {
		return &dataset.RefusedError{Reason: fmt.Sprintf("table function %s is not allowed: a query reads the dataset's tables and may use range, generate_series, unnest, json_each and the duckdb_* catalog functions", bad)}
	}
	return nil
}
