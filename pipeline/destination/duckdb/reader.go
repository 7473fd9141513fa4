package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// ReaderOptions tune a DuckDB reader; zero fields take defaults.
type ReaderOptions struct {
	// LockWait bounds the retry while a load holds the file (duckfile.DefaultWait when 0).
	LockWait time.Duration
	// MemoryLimit is DuckDB's memory_limit for each call ("1GB" when empty):
	// results are materialised, so this bounds what one query can take.
	MemoryLimit string
	// Handles, when set, keeps the file open between calls (a server).
	Handles *dataset.Handles
	// Open, when set, gives the database to read instead of the file at
	// path: the Parquet reader's in-memory database of views, its
	// configuration locked. The reader checks the sandbox all the same.
	Open func(ctx context.Context) (conn *sql.Conn, release func() error, err error)
}

// DefaultMemoryLimit is a reader's memory_limit when its options name none.
const DefaultMemoryLimit = "1GB"

var memoryRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*[A-Za-z]*$`)

// Reader reads a dataset (a schema) of a DuckDB database.
type Reader struct {
	path    string
	dataset string
	opts    ReaderOptions
}

var _ dataset.Isolatable = (*Reader)(nil)

// OpenReader returns a reader of dataset (a schema) in the DuckDB file at
// path. The file is not held: every call opens it read-only, hardened, and
// closes it again, so a load in another process can take the write lock
// between calls. ctx is unused today; readers of servers will need it.
func OpenReader(_ context.Context, path, ds string, opts ReaderOptions) (*Reader, error) {
	if err := dataset.CheckName(ds); err != nil {
		return nil, err
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if !memoryRe.MatchString(opts.MemoryLimit) {
		return nil, fmt.Errorf("memory limit %q: give a size such as 1GB", opts.MemoryLimit)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("duckdb path %s: %w", path, err)
	}
	return &Reader{path: abs, dataset: ds, opts: opts}, nil
}

func (r *Reader) Close() error { return nil }

// Target implements dataset.Isolatable.
func (r *Reader) Target() dataset.Target {
	return dataset.Target{Kind: "duckdb", Path: r.path, Dataset: r.dataset}
}

// DatasetIdentity implements dataset.Identified.
func (r *Reader) DatasetIdentity() (where, ds string) { return "duckdb:" + r.path, r.dataset }

var _ dataset.Identified = (*Reader)(nil)

// connection is a connection of the sandboxed database to read, and what
// closes it: the server's shared database (Handles; while a load of the
// server commits, a connection reading the snapshot before the COMMIT) or
// the file opened read-only for this call. wait bounds the wait for
// another process's lock (r.opts.LockWait when 0).
func (r *Reader) connection(ctx context.Context, wait time.Duration) (*sql.Conn, func() error, error) {
	if wait <= 0 {
		wait = r.opts.LockWait
	}
	if h := r.opts.Handles; h != nil {
		conn, done, err := h.AcquireConn(ctx, readKey(r.path, r.opts.MemoryLimit), r.path, wait, func(ctx context.Context) (*sql.DB, error) {
			return openSandboxed(ctx, r.path, wait, r.opts.MemoryLimit)
		})
		if err != nil {
			return nil, nil, err
		}
		return conn, func() error { done(); return nil }, nil
	}
	db, err := openSandboxed(ctx, r.path, wait, r.opts.MemoryLimit)
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("duckdb %s: connection: %w", r.path, err)
	}
	return conn, func() error { return errors.Join(conn.Close(), db.Close()) }, nil
}

// readKey names a reader's read-only database among a server's Handles.
func readKey(path, memory string) string { return path + "?memory_limit=" + memory }

// openSandboxed opens the file read-only with file, network and extension
// access off and the configuration locked from the start (nothing a query
// says can loosen it).
func openSandboxed(ctx context.Context, path string, wait time.Duration, memory string) (*sql.DB, error) {
	return duckfile.Open(ctx, path, true, wait,
		"enable_external_access=false",
		"autoinstall_known_extensions=false",
		"autoload_known_extensions=false",
		"allow_community_extensions=false",
		"memory_limit="+memory,
		"lock_configuration=true",
	)
}

// session is one brief read-only open of the file.
type session struct {
	conn    *sql.Conn
	release func() error // closes or gives back the connection and its database
	dataset string
}

func (s *session) Close() error {
	return s.release()
}

// open opens the file read-only with file, network and extension access
// off and the configuration locked from the start (nothing a query says can
// loosen it), checks the dataset exists and points search_path at it.
// Within one process DuckDB shares one instance per file among handles of
// the same configuration, so concurrent calls are fine.
func (r *Reader) open(ctx context.Context, wait time.Duration) (*session, error) {
	if r.opts.Open != nil {
		conn, release, err := r.opts.Open(ctx)
		if err != nil {
			return nil, err
		}
		s := &session{conn: conn, release: func() error { return errors.Join(conn.Close(), release()) }, dataset: r.dataset}
		if err := s.prepare(ctx, r.path); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	if _, err := os.Stat(r.path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist; load data first with `codefresh-mcp load`", dataset.ErrNoData, r.path)
	}
	conn, release, err := r.connection(ctx, wait)
	if err != nil {
		return nil, err
	}
	s := &session{conn: conn, release: release, dataset: r.dataset}
	if err := s.prepare(ctx, r.path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *session) prepare(ctx context.Context, path string) error {
	// Check the sandbox holds rather than trust it: the instance may be shared.
	var external, locked bool
	err := s.conn.QueryRowContext(ctx,
		`SELECT current_setting('enable_external_access'), current_setting('lock_configuration')`).Scan(&external, &locked)
	if err != nil {
		return fmt.Errorf("duckdb %s: read settings: %w", path, err)
	}
	if external || !locked {
		return fmt.Errorf("duckdb %s: refusing to query: the database is open in this process without the read-only sandbox", path)
	}
	schemas, err := queryStrings(ctx, s.conn,
		`SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND NOT internal ORDER BY schema_name`)
	if err != nil {
		return fmt.Errorf("duckdb %s: list schemas: %w", path, err)
	}
	found := false
	for _, name := range schemas {
		found = found || name == s.dataset
	}
	if !found {
		return fmt.Errorf("%w into dataset %s: %s has no schema %s (schemas: %s); run `codefresh-mcp load` or check the dataset name",
			dataset.ErrNoData, s.dataset, path, s.dataset, strings.Join(schemas, ", "))
	}
	// search_path is per connection and stays settable under the lock; the
	// dataset name is a checked identifier, so quoting it is enough.
	if _, err := s.conn.ExecContext(ctx, `SET search_path = '`+s.dataset+`'`); err != nil {
		return fmt.Errorf("duckdb %s: set search_path: %w", path, err)
	}
	return nil
}

// relations are the dataset's tables and views (the Parquet reader's tables
// are views over the files), as database_name, schema_name, table_name.
const relations = `(SELECT database_name, schema_name, table_name FROM duckdb_tables()
	UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal)`

// Tables lists the dataset's tables and their columns, in column order.
func (s *session) Tables(ctx context.Context) (names []string, cols map[string][]dataset.ColumnInfo, err error) {
	return s.Relations(ctx, s.dataset)
}

// Relations lists the tables and views of schema and their columns.
func (s *session) Relations(ctx context.Context, schema string) (names []string, cols map[string][]dataset.ColumnInfo, err error) {
	rows, err := s.conn.QueryContext(ctx, `
		SELECT c.table_name, c.column_name, c.data_type, c.is_nullable
		FROM duckdb_columns() c JOIN `+relations+` t
		  ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name
		WHERE c.database_name = current_database() AND c.schema_name = ?
		ORDER BY c.table_name, c.column_index`, schema)
	if err != nil {
		return nil, nil, fmt.Errorf("list tables of %s: %w", schema, err)
	}
	defer rows.Close()
	return dataset.ScanCatalog(rows, schema)
}

func (s *session) RowCount(ctx context.Context, table string) (int64, error) {
	return s.Count(ctx, s.dataset, table)
}

// Count counts the rows of schema.table.
func (s *session) Count(ctx context.Context, schema, table string) (int64, error) {
	var n int64
	err := s.conn.QueryRowContext(ctx, `SELECT count(*) FROM `+dataset.QuoteIdent(schema)+`.`+dataset.QuoteIdent(table)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return n, nil
}

func (r *Reader) Info(ctx context.Context) (*dataset.Info, error) {
	s, err := r.open(ctx, 0)
	if err != nil {
		return nil, r.damaged(err)
	}
	defer s.Close()
	info, err := dataset.ReadInfo(ctx, s, &dataset.Info{Destination: "duckdb", Location: r.path, Dataset: r.dataset})
	return info, r.damaged(err)
}

// damaged names a file that DuckDB finds damaged only once a query reads a
// bad block (the Parquet reader's in-memory database has no file).
func (r *Reader) damaged(err error) error {
	if r.opts.Open != nil {
		return err
	}
	return duckfile.Damaged(r.path, err)
}

func (s *session) Loads(ctx context.Context) ([]dataset.Load, error) {
	rows, err := s.conn.QueryContext(ctx, fmt.Sprintf(`
		SELECT load_id, schema_name, status, inserted_at, schema_version_hash
		FROM %s._dlt_loads ORDER BY inserted_at DESC, load_id DESC LIMIT %d`, dataset.QuoteIdent(s.dataset), dataset.RecentLoads))
	if err != nil {
		return nil, fmt.Errorf("read _dlt_loads: %w", err)
	}
	defer rows.Close()
	return dataset.ScanLoads(rows)
}

// PipelineStates returns the newest state row of each pipeline.
func (s *session) PipelineStates(ctx context.Context) ([]dataset.PipelineState, error) {
	rows, err := s.conn.QueryContext(ctx, `
		SELECT pipeline_name, version, engine_version, created_at, _dlt_load_id, state
		FROM `+dataset.QuoteIdent(s.dataset)+`._dlt_pipeline_state
		QUALIFY row_number() OVER (PARTITION BY pipeline_name ORDER BY version DESC, created_at DESC) = 1
		ORDER BY pipeline_name`)
	if err != nil {
		return nil, fmt.Errorf("read _dlt_pipeline_state: %w", err)
	}
	defer rows.Close()
	return dataset.ScanPipelineStates(rows)
}

// SchemaVersions returns the newest _dlt_version row of each schema, and its body.
func (s *session) SchemaVersions(ctx context.Context) ([]dataset.SchemaVersion, []string, error) {
	rows, err := s.conn.QueryContext(ctx, `
		SELECT schema_name, version, engine_version, version_hash, inserted_at, schema
		FROM `+dataset.QuoteIdent(s.dataset)+`._dlt_version
		QUALIFY row_number() OVER (PARTITION BY schema_name ORDER BY version DESC, inserted_at DESC) = 1
		ORDER BY schema_name`)
	if err != nil {
		return nil, nil, fmt.Errorf("read _dlt_version: %w", err)
	}
	defer rows.Close()
	return dataset.ScanSchemaVersions(rows)
}

func (r *Reader) Describe(ctx context.Context, table string) (*dataset.TableInfo, error) {
	s, err := r.open(ctx, 0)
	if err != nil {
		return nil, r.damaged(err)
	}
	defer s.Close()
	info, err := dataset.Describe(ctx, s, r.dataset, table)
	return info, r.damaged(err)
}

func queryStrings(ctx context.Context, conn *sql.Conn, query string, args ...any) ([]string, error) {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
