package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// ReaderOptions say how to reach the server; the password is resolved
// as for loads (env, keyring, .dlt/secrets.toml) and never shown.
type ReaderOptions struct {
	Credentials secrets.PostgresOptions
}

// Reader reads a dataset (schema) of a PostgreSQL database. Every call
// opens a connection and one READ ONLY transaction with statement_timeout,
// run as pg_read_all_data when the login may become it, and rolls back.
type Reader struct {
	dest     *Destination
	dataset  string
	location string // the server and database, without the password
}

// OpenReader returns a reader of dataset in the PostgreSQL database the
// options name. Nothing is connected until a call needs it.
func OpenReader(_ context.Context, ds string, opts ReaderOptions) (*Reader, error) {
	if err := dataset.CheckName(ds); err != nil {
		return nil, err
	}
	s, err := secrets.ResolvePostgresSettings(opts.Credentials)
	if err != nil {
		return nil, err
	}
	return &Reader{dest: New(Options{Dataset: ds, Credentials: opts.Credentials}), dataset: ds, location: s.Location()}, nil
}

func (r *Reader) Close() error { return nil }

// DatasetIdentity implements dataset.Identified.
func (r *Reader) DatasetIdentity() (where, ds string) { return "postgres:" + r.location, r.dataset }

var _ dataset.Identified = (*Reader)(nil)

// maxRowBytes bounds one message from the server, a result row above all;
// the byte caps of results are far below it.
const maxRowBytes = 32 << 20

// pgSession is one connection and its read-only transaction.
type pgSession struct {
	conn    *pgx.Conn
	tx      pgx.Tx
	dataset string
	role    string // the login's role (current_user)
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
func (r *Reader) open(ctx context.Context, timeout time.Duration) (*pgSession, error) {
	conn, err := r.dest.Connect(ctx)
	if err != nil {
		return nil, err
	}
	// A row is read whole before any cap applies: bound its size so that
	// one huge value cannot exhaust this process's memory.
	conn.PgConn().Frontend().SetMaxBodyLen(maxRowBytes)
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
	err := s.tx.QueryRow(ctx, `SELECT current_user, r.rolsuper,
			EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pg_read_all_data')
			AND pg_catalog.pg_has_role(current_user, 'pg_read_all_data', 'MEMBER')
		FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`).Scan(&s.role, &super, &canRead)
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
			dataset.ErrNoData, s.dataset, s.dataset, strings.Join(schemas, ", "))
	}
	if err := s.checkSchemaUsage(ctx); err != nil {
		return err
	}
	if _, err := s.tx.Exec(ctx, "SET LOCAL search_path = "+dataset.QuoteIdent(s.dataset)); err != nil {
		return fmt.Errorf("postgres: set search_path: %w", err)
	}
	return nil
}

// Tables lists the dataset's tables and views and their columns, in
// column order, names in byte order as the DuckDB reader lists them.
func (s *pgSession) Tables(ctx context.Context) (names []string, cols map[string][]dataset.ColumnInfo, err error) {
	return s.Relations(ctx, s.dataset)
}

// Relations lists the tables and views of schema and their columns.
func (s *pgSession) Relations(ctx context.Context, schema string) (names []string, cols map[string][]dataset.ColumnInfo, err error) {
	rows, err := s.tx.Query(ctx, `SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
		FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY c.relname COLLATE "C", a.attnum`, schema)
	if err != nil {
		return nil, nil, fmt.Errorf("list tables of %s: %w", schema, err)
	}
	defer rows.Close()
	return dataset.ScanCatalog(rows, schema)
}

func (s *pgSession) RowCount(ctx context.Context, table string) (int64, error) {
	return s.Count(ctx, s.dataset, table)
}

// Count counts the rows of schema.table.
func (s *pgSession) Count(ctx context.Context, schema, table string) (int64, error) {
	var n int64
	if err := s.tx.QueryRow(ctx, "SELECT count(*) FROM "+dataset.QuoteIdent(schema)+"."+dataset.QuoteIdent(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return n, nil
}

func (r *Reader) Info(ctx context.Context) (*dataset.Info, error) {
	s, err := r.open(ctx, dataset.DefaultTimeout)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	info, err := dataset.ReadInfo(ctx, s, &dataset.Info{Destination: "postgres", Location: r.dest.Location(), Dataset: r.dataset})
	if isSQLState(err, "42501") {
		return nil, r.readRightsError(ctx, err)
	}
	return info, err
}

func (s *pgSession) Loads(ctx context.Context) ([]dataset.Load, error) {
	rows, err := s.tx.Query(ctx, fmt.Sprintf(`SELECT load_id, schema_name, status, inserted_at, schema_version_hash
		FROM %s._dlt_loads ORDER BY inserted_at DESC, load_id DESC LIMIT %d`, dataset.QuoteIdent(s.dataset), dataset.RecentLoads))
	if err != nil {
		return nil, fmt.Errorf("read _dlt_loads: %w", err)
	}
	defer rows.Close()
	return dataset.ScanLoads(rows)
}

func (s *pgSession) PipelineStates(ctx context.Context) ([]dataset.PipelineState, error) {
	rows, err := s.tx.Query(ctx, `SELECT DISTINCT ON (pipeline_name) pipeline_name, version, engine_version, created_at, _dlt_load_id, state
		FROM `+dataset.QuoteIdent(s.dataset)+`._dlt_pipeline_state
		ORDER BY pipeline_name, version DESC, created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("read _dlt_pipeline_state: %w", err)
	}
	defer rows.Close()
	return dataset.ScanPipelineStates(rows)
}

func (s *pgSession) SchemaVersions(ctx context.Context) ([]dataset.SchemaVersion, []string, error) {
	rows, err := s.tx.Query(ctx, `SELECT DISTINCT ON (schema_name) schema_name, version, engine_version, version_hash, inserted_at, "schema"
		FROM `+dataset.QuoteIdent(s.dataset)+`._dlt_version
		ORDER BY schema_name, version DESC, inserted_at DESC`)
	if err != nil {
		return nil, nil, fmt.Errorf("read _dlt_version: %w", err)
	}
	defer rows.Close()
	return dataset.ScanSchemaVersions(rows)
}

func (r *Reader) Describe(ctx context.Context, table string) (*dataset.TableInfo, error) {
	s, err := r.open(ctx, dataset.DefaultTimeout)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ti, err := dataset.Describe(ctx, s, r.dataset, table)
	if isSQLState(err, "42501") {
		return nil, r.readRightsError(ctx, err)
	}
	return ti, err
}
