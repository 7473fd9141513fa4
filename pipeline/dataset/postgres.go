package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// PostgresOptions say how to reach the server; the password is resolved
// as for loads (env, keyring, .dlt/secrets.toml) and never shown.
type PostgresOptions struct {
	Credentials secrets.PostgresOptions
}

// pgReader reads a dataset (schema) of a PostgreSQL database. Every call
// opens a connection and one READ ONLY transaction with statement_timeout,
// run as pg_read_all_data when the login may become it, and rolls back.
type pgReader struct {
	dest    *postgres.Destination
	dataset string
}

// OpenPostgres returns a reader of dataset in the PostgreSQL database the
// options name. Nothing is connected until a call needs it.
func OpenPostgres(_ context.Context, dataset string, opts PostgresOptions) (Reader, error) {
	if !identRe.MatchString(dataset) {
		return nil, fmt.Errorf("dataset name %q: use letters, digits and underscores", dataset)
	}
	if _, err := secrets.ResolvePostgresSettings(opts.Credentials); err != nil {
		return nil, err
	}
	return &pgReader{dest: postgres.New(postgres.Options{Dataset: dataset, Credentials: opts.Credentials}), dataset: dataset}, nil
}

func (r *pgReader) Close() error { return nil }

// pgSession is one connection and its read-only transaction.
type pgSession struct {
	conn    *pgx.Conn
	tx      pgx.Tx
	dataset string
	// superuser: the transaction could not drop a superuser's rights.
	superuser bool
}

func (s *pgSession) Close() error {
	ctx := context.Background()
	s.tx.Rollback(ctx)
	return s.conn.Close(ctx)
}

// open connects, starts the read-only transaction with the timeout, drops
// rights to pg_read_all_data where it can, and checks the dataset exists.
func (r *pgReader) open(ctx context.Context, timeout time.Duration) (*pgSession, error) {
	conn, err := r.dest.Connect(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: begin read-only transaction: %w", err)
	}
	s := &pgSession{conn: conn, tx: tx, dataset: r.dataset}
	if err := s.prepare(ctx, timeout); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *pgSession) prepare(ctx context.Context, timeout time.Duration) error {
	ms := fmt.Sprint(max(timeout.Milliseconds(), 1))
	for _, stmt := range []string{
		"SET LOCAL statement_timeout = " + ms,
		"SET LOCAL lock_timeout = " + ms,
		"SET LOCAL idle_in_transaction_session_timeout = " + fmt.Sprint(max(timeout.Milliseconds(), 1)+10000),
		// checkPostgresQuery reads string literals this way.
		"SET LOCAL standard_conforming_strings = on",
	} {
		if _, err := s.tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("postgres: %s: %w", stmt, err)
		}
	}
	var super, canRead bool
	err := s.tx.QueryRow(ctx, `SELECT r.rolsuper,
			EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pg_read_all_data')
			AND pg_catalog.pg_has_role(current_user, 'pg_read_all_data', 'MEMBER')
		FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`).Scan(&super, &canRead)
	if err != nil {
		return fmt.Errorf("postgres: read role: %w", err)
	}
	if canRead {
		// Queries then run with read rights only: no server files, no
		// signalling other sessions, no settings of a superuser.
		if _, err := s.tx.Exec(ctx, "SET LOCAL ROLE pg_read_all_data"); err != nil {
			return fmt.Errorf("postgres: drop rights to pg_read_all_data: %w", err)
		}
		super = false
	}
	s.superuser = super
	var schemas []string
	rows, err := s.tx.Query(ctx, `SELECT nspname FROM pg_catalog.pg_namespace
		WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema' ORDER BY nspname COLLATE "C"`)
	if err != nil {
		return fmt.Errorf("postgres: list schemas: %w", err)
	}
	schemas, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: list schemas: %w", err)
	}
	found := false
	for _, n := range schemas {
		found = found || n == s.dataset
	}
	if !found {
		return fmt.Errorf("%w into dataset %s: the database has no schema %s (schemas: %s); run `codefresh-mcp load` or check the dataset name",
			ErrNoData, s.dataset, s.dataset, strings.Join(schemas, ", "))
	}
	if _, err := s.tx.Exec(ctx, "SET LOCAL search_path = "+quoteIdent(s.dataset)); err != nil {
		return fmt.Errorf("postgres: set search_path: %w", err)
	}
	return nil
}

// Query runs one untrusted statement. The server enforces the limits: the
// text is parsed as one prepared statement (several are refused), it runs
// as the query of a cursor (only SELECT, TABLE, VALUES and WITH ... SELECT
// can be), inside a READ ONLY transaction with statement_timeout, and rows
// are fetched only up to the cap.
func (r *pgReader) Query(ctx context.Context, query string, opts QueryOptions) (*Result, error) {
	opts = opts.withDefaults()
	if strings.TrimSpace(query) == "" {
		return nil, &RefusedError{Reason: "empty query: give one SELECT statement"}
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
		return nil, &RefusedError{Reason: "the PostgreSQL login is a superuser that cannot drop to pg_read_all_data (PostgreSQL 14+): query with a login that has only read rights"}
	}
	qctx, cancel := context.WithTimeout(ctx, opts.Timeout+2*time.Second)
	defer cancel()
	start := time.Now()
	plan, err := s.explain(qctx, query)
	if err == nil {
		err = s.checkRelations(plan)
	}
	var res *Result
	if err == nil {
		res, err = s.run(qctx, query, opts)
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("query canceled: %w", ctx.Err())
		case errors.Is(qctx.Err(), context.DeadlineExceeded) || isSQLState(err, "57014"):
			return nil, fmt.Errorf("query interrupted after the %s timeout: filter with WHERE, aggregate, or add LIMIT", opts.Timeout)
		}
		return nil, err
	}
	res.ElapsedMS = time.Since(start).Milliseconds()
	res.Provenance, _ = s.provenance(qctx, plan)
	return res, nil
}

// explain is PostgreSQL's plan of the query (EXPLAIN runs nothing), as
// decoded JSON. The text goes as one prepared statement, so a second
// statement is refused here already.
func (s *pgSession) explain(ctx context.Context, query string) (any, error) {
	var raw []byte
	if err := s.tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON, VERBOSE) "+query).Scan(&raw); err != nil {
		return nil, pgQueryError(err, query)
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
	walk(plan, func(m map[string]any) {
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
			bad = &RefusedError{Reason: fmt.Sprintf("only the dataset's tables (schema %s) and the system catalogs can be read; the query reads %s.%s", s.dataset, schema, name)}
		}
	})
	return bad
}

// run declares the cursor (parsing refuses a second statement and
// anything but a query) and fetches one row more than the cap.
func (s *pgSession) run(ctx context.Context, query string, opts QueryOptions) (*Result, error) {
	// The extended protocol sends the text as one Parse message, which
	// PostgreSQL refuses to hold more than one statement. (pgx's Exec
	// without arguments would use the simple protocol, which runs many.)
	pc := s.conn.PgConn()
	if _, err := pc.Prepare(ctx, "", "DECLARE cfmcp_query NO SCROLL CURSOR FOR "+query, nil); err != nil {
		return nil, pgQueryError(err, query)
	}
	if _, err := pc.ExecPrepared(ctx, "", nil, nil, nil).Close(); err != nil {
		return nil, pgQueryError(err, query)
	}
	rows, err := s.tx.Query(ctx, fmt.Sprintf("FETCH FORWARD %d FROM cfmcp_query", opts.MaxRows+1))
	if err != nil {
		return nil, pgQueryError(err, query)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	cols, types, convTypes := make([]string, len(fields)), make([]string, len(fields)), make([]string, len(fields))
	for i, f := range fields {
		cols[i] = f.Name
		types[i] = pgTypeName(s.conn.TypeMap(), f.DataTypeOID)
		convTypes[i] = duckTypeOf(types[i])
	}
	res, err := fillResult(cols, types, convTypes, opts, func() ([]any, bool, error) {
		if !rows.Next() {
			return nil, false, nil
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, false, pgQueryError(err, query)
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
		return nil, pgQueryError(err, query)
	}
	return res, nil
}

// pgQueryError keeps PostgreSQL's message (it names the bad column or
// table) and says what is allowed when the server refused the kind of
// statement. query is the user's text.
func pgQueryError(err error, query string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("query failed: %w", err)
	}
	got := ""
	if w := firstKeyword(query); w != "" && w != "SELECT" && w != "WITH" && w != "VALUES" && w != "TABLE" {
		got = "got " + w + ": "
	}
	switch pe.Code {
	case "42601": // syntax error: to EXPLAIN and DECLARE, a statement that is no query is one
		if strings.Contains(pe.Message, "multiple commands") {
			return &RefusedError{Reason: "only a single SELECT statement is allowed (got more than one statement)"}
		}
		if got != "" {
			return &RefusedError{Reason: "only a single SELECT statement is allowed (" + got + pe.Message + ")"}
		}
	case "25006", "0A000": // read-only transaction; e.g. a cursor over a data-modifying WITH
		return &RefusedError{Reason: "only a single SELECT statement is allowed (" + got + pe.Message + ")"}
	case "42501": // insufficient_privilege: queries run with read rights only
		return &RefusedError{Reason: "only a single SELECT statement over the dataset's tables is allowed (" + got + pe.Message + ")"}
	}
	return fmt.Errorf("query failed: %s", pe.Message)
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

// pgTypeName is a column type as PostgreSQL's format_type writes the
// common ones.
func pgTypeName(m *pgtype.Map, oid uint32) string {
	switch oid {
	case pgtype.Int8OID:
		return "bigint"
	case pgtype.Int4OID:
		return "integer"
	case pgtype.Int2OID:
		return "smallint"
	case pgtype.Float8OID:
		return "double precision"
	case pgtype.Float4OID:
		return "real"
	case pgtype.BoolOID:
		return "boolean"
	case pgtype.TimestamptzOID:
		return "timestamp with time zone"
	case pgtype.TimestampOID:
		return "timestamp without time zone"
	case pgtype.VarcharOID:
		return "character varying"
	}
	if t, ok := m.TypeForOID(oid); ok {
		return t.Name
	}
	return fmt.Sprintf("oid %d", oid)
}

// duckTypeOf names the PostgreSQL types the converter formats specially.
func duckTypeOf(pg string) string {
	switch pg {
	case "date":
		return "DATE"
	case "time":
		return "TIME"
	case "uuid":
		return "UUID"
	}
	return ""
}

// pgValue turns pgx's own value types into plain Go values.
func pgValue(v any) any {
	switch x := v.(type) {
	case pgtype.Numeric:
		// As the DuckDB reader gives decimals: exact, as a string.
		b, err := x.MarshalJSON()
		if err != nil || !x.Valid {
			return nil
		}
		return string(b)
	case [16]byte:
		return x[:]
	case pgtype.Interval:
		if !x.Valid {
			return nil
		}
		return map[string]any{"months": x.Months, "days": x.Days, "micros": x.Microseconds}
	case pgtype.Time:
		if !x.Valid {
			return nil
		}
		return time.UnixMicro(x.Microseconds).UTC().Format("15:04:05.999999")
	}
	return v
}

// provenance names the latest loads present in each dataset table the
// query reads, found in the plan PostgreSQL made of it; a table without
// _dlt_load_id contributes nothing.
func (s *pgSession) provenance(ctx context.Context, plan any) ([]LoadRef, error) {
	refs := map[string]bool{}
	walk(plan, func(m map[string]any) {
		name, _ := m["Relation Name"].(string)
		schema, _ := m["Schema"].(string)
		if name != "" && schema == s.dataset {
			refs[name] = true
		}
	})
	if len(refs) == 0 {
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
	var out []LoadRef
	n := 0
	for _, table := range loaded {
		if !refs[table] {
			continue
		}
		if n++; n > provenanceTables {
			break
		}
		ds := quoteIdent(s.dataset)
		rows, err := s.tx.Query(ctx, fmt.Sprintf(`SELECT l.load_id, l.inserted_at FROM %s._dlt_loads l
			WHERE l.load_id IN (SELECT DISTINCT _dlt_load_id FROM %s.%s)
			ORDER BY l.inserted_at DESC, l.load_id DESC LIMIT %d`, ds, ds, quoteIdent(table), provenanceLoads))
		if err != nil {
			return out, err
		}
		for rows.Next() {
			ref := LoadRef{Table: table}
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

// catalog lists the dataset's tables and views and their columns, in
// column order, names in byte order as the DuckDB reader lists them.
func (s *pgSession) catalog(ctx context.Context) (names []string, cols map[string][]ColumnInfo, err error) {
	rows, err := s.tx.Query(ctx, `SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
		FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY c.relname COLLATE "C", a.attnum`, s.dataset)
	if err != nil {
		return nil, nil, fmt.Errorf("list tables of %s: %w", s.dataset, err)
	}
	defer rows.Close()
	return scanCatalog(rows, s.dataset)
}

func (s *pgSession) rowCount(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := s.tx.QueryRow(ctx, "SELECT count(*) FROM "+quoteIdent(s.dataset)+"."+quoteIdent(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return n, nil
}

func (r *pgReader) Info(ctx context.Context) (*Info, error) {
	s, err := r.open(ctx, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return readInfo(ctx, s, &Info{Destination: "postgres", Location: r.dest.Location(), Dataset: r.dataset})
}

func (s *pgSession) loads(ctx context.Context) ([]Load, error) {
	rows, err := s.tx.Query(ctx, fmt.Sprintf(`SELECT load_id, schema_name, status, inserted_at, schema_version_hash
		FROM %s._dlt_loads ORDER BY inserted_at DESC, load_id DESC LIMIT %d`, quoteIdent(s.dataset), recentLoads))
	if err != nil {
		return nil, fmt.Errorf("read _dlt_loads: %w", err)
	}
	defer rows.Close()
	return scanLoads(rows)
}

func (s *pgSession) pipelineStates(ctx context.Context) ([]PipelineState, error) {
	rows, err := s.tx.Query(ctx, `SELECT DISTINCT ON (pipeline_name) pipeline_name, version, engine_version, created_at, _dlt_load_id, state
		FROM `+quoteIdent(s.dataset)+`._dlt_pipeline_state
		ORDER BY pipeline_name, version DESC, created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("read _dlt_pipeline_state: %w", err)
	}
	defer rows.Close()
	return scanPipelineStates(rows)
}

func (s *pgSession) schemaVersions(ctx context.Context) ([]SchemaVersion, []dltSchema, error) {
	rows, err := s.tx.Query(ctx, `SELECT DISTINCT ON (schema_name) schema_name, version, engine_version, version_hash, inserted_at, "schema"
		FROM `+quoteIdent(s.dataset)+`._dlt_version
		ORDER BY schema_name, version DESC, inserted_at DESC`)
	if err != nil {
		return nil, nil, fmt.Errorf("read _dlt_version: %w", err)
	}
	defer rows.Close()
	return scanSchemaVersions(rows)
}

func (r *pgReader) Describe(ctx context.Context, table string) (*TableInfo, error) {
	s, err := r.open(ctx, DefaultTimeout)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return describe(ctx, s, r.dataset, table)
}

// deniedFunctions are functions a query may not name even where the
// login's rights would allow them: they change the session's role or
// settings (set_config), run SQL given as text, read or write server
// files, or act on other sessions and the server. The read-only
// transaction and pg_read_all_data are the sandbox; this list covers what
// a superuser login could still reach through them.
var deniedFunctions = map[string]bool{
	"set_config": true, "query_to_xml": true, "query_to_xmlschema": true, "query_to_xml_and_xmlschema": true,
	"cursor_to_xml": true, "cursor_to_xmlschema": true,
	"pg_read_file": true, "pg_read_binary_file": true, "pg_stat_file": true, "pg_file_write": true,
	"pg_file_rename": true, "pg_file_unlink": true, "pg_file_sync": true,
	"lo_import": true, "lo_export": true, "lo_from_bytea": true, "lo_put": true, "lo_create": true,
	"lo_creat": true, "lo_unlink": true, "lo_truncate": true,
	"pg_terminate_backend": true, "pg_cancel_backend": true, "pg_reload_conf": true, "pg_rotate_logfile": true,
	"pg_promote": true, "pg_switch_wal": true, "pg_create_restore_point": true, "pg_logical_emit_message": true,
	"pg_notify": true, "pg_log_backend_memory_contexts": true, "pg_import_system_collations": true,
}

// deniedPrefixes name families of such functions.
var deniedPrefixes = []string{"dblink", "pg_ls_", "pg_advisory", "pg_stat_reset", "pg_replication_", "pg_create_logical_", "pg_create_physical_", "pg_drop_replication"}

// checkPostgresQuery reads the query's tokens as PostgreSQL does (strings,
// dollar quotes, quoted names, nested comments) and refuses one that names
// a denied function.
func checkPostgresQuery(q string) error {
	deny := func(word string) error {
		w := strings.ToLower(word)
		bad := deniedFunctions[w]
		for _, p := range deniedPrefixes {
			bad = bad || strings.HasPrefix(w, p)
		}
		if bad {
			return &RefusedError{Reason: fmt.Sprintf("%s is not allowed: a query reads the dataset's tables; server files, settings, other sessions and SQL given as text are out of reach", word)}
		}
		return nil
	}
	isWord := func(c byte) bool {
		return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				return nil
			}
			i += end + 1
		case strings.HasPrefix(q[i:], "/*"):
			depth := 0
			for i < len(q) {
				if strings.HasPrefix(q[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(q[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			// E'...' strings take backslash escapes; standard strings do not.
			escapes := i > 0 && (q[i-1] == 'e' || q[i-1] == 'E') && (i == 1 || !isWord(q[i-2]))
			for i++; i < len(q); i++ {
				if escapes && q[i] == '\\' {
					i++
					continue
				}
				if q[i] == '\'' {
					if i+1 < len(q) && q[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
			i++
		case c == '"':
			start := i + 1
			var name strings.Builder
			for i++; i < len(q); i++ {
				if q[i] == '"' {
					if i+1 < len(q) && q[i+1] == '"' {
						name.WriteString(q[start : i+1])
						i++
						start = i + 1
						continue
					}
					break
				}
			}
			name.WriteString(q[start:min(i, len(q))])
			i++
			if err := deny(name.String()); err != nil {
				return err
			}
		case c == '$' && (i == 0 || !isWord(q[i-1])):
			// $tag$ ... $tag$ (a $1 parameter has no closing $).
			j := i + 1
			for j < len(q) && isWord(q[j]) && q[j] != '$' {
				j++
			}
			if j < len(q) && q[j] == '$' && (j == i+1 || !(q[i+1] >= '0' && q[i+1] <= '9')) {
				tag := q[i : j+1]
				end := strings.Index(q[j+1:], tag)
				if end < 0 {
					return nil
				}
				i = j + 1 + end + len(tag)
				continue
			}
			i++
		case isWord(c):
			start := i
			for i < len(q) && isWord(q[i]) {
				i++
			}
			word := q[start:i]
			if (word == "U" || word == "u") && i+1 < len(q) && q[i] == '&' && (q[i+1] == '"' || q[i+1] == '\'') {
				return &RefusedError{Reason: "Unicode-escaped names and strings (U&) are not supported: write the characters"}
			}
			if err := deny(word); err != nil {
				return err
			}
		default:
			i++
		}
	}
	return nil
}
