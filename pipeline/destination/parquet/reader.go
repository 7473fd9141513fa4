package parquet

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	ddb "github.com/cfmcp/codefresh-mcp/pipeline/destination/duckdb"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// ReaderOptions tune a Parquet reader; zero fields take defaults.
type ReaderOptions struct {
	// MemoryLimit is DuckDB's memory_limit for each call ("1GB" when empty).
	MemoryLimit string
}

// Reader reads a Parquet dataset folder with the DuckDB reader's
// sandbox: every call opens an in-memory DuckDB holding one view per
// table over its committed files, then shuts file access to all but those
// files and locks the configuration before any query runs.
type Reader struct {
	*ddb.Reader
	root        string
	dir         string
	dataset     string
	memoryLimit string
}

var _ dataset.Isolatable = (*Reader)(nil)

// OpenReader returns a reader of the dataset folder root/dataset written
// by the Parquet destination. Nothing is held between calls, so a load may
// commit in between; each call reads the files committed when it starts.
func OpenReader(ctx context.Context, root, ds string, opts ReaderOptions) (*Reader, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("duckdb path %s: %w", root, err)
	}
	r := &Reader{root: abs, dir: filepath.Join(abs, ds), dataset: ds, memoryLimit: cmp.Or(opts.MemoryLimit, ddb.DefaultMemoryLimit)}
	// The DuckDB reader names r.dir in its errors and reads the views
	// r.session makes instead of a file.
	if r.Reader, err = ddb.OpenReader(ctx, r.dir, ds, ddb.ReaderOptions{MemoryLimit: opts.MemoryLimit, Open: r.session}); err != nil {
		return nil, err
	}
	return r, nil
}

// Target implements dataset.Isolatable.
func (r *Reader) Target() dataset.Target {
	return dataset.Target{Kind: "parquet", Path: r.root, Dataset: r.dataset}
}

// DatasetIdentity implements dataset.Identified (the DuckDB reader's
// would name the folder as a DuckDB file).
func (r *Reader) DatasetIdentity() (where, ds string) { return "parquet:" + r.root, r.dataset }

// session builds the in-memory database of views and locks it down.
func (r *Reader) session(ctx context.Context) (*sql.Conn, func() error, error) {
	l, err := Scan(r.root, r.dataset)
	if err != nil {
		return nil, nil, err
	}
	if len(l.Tables) == 0 {
		return nil, nil, fmt.Errorf("%w: %s holds no loaded tables; load data first with `codefresh-mcp load`", dataset.ErrNoData, r.dir)
	}
	db, err := duckfile.Open(ctx, "", false, 0,
		"autoinstall_known_extensions=false",
		"autoload_known_extensions=false",
		"allow_community_extensions=false",
		"memory_limit="+r.memoryLimit,
	)
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("parquet %s: connection: %w", r.dir, err)
	}
	// The dataset name is a checked identifier; table names are folder
	// names the destination checked, quoted all the same.
	stmts := []string{"CREATE SCHEMA " + dataset.QuoteIdent(r.dataset)}
	var all []string
	for _, name := range l.TableNames() {
		files := make([]string, len(l.Tables[name]))
		for i, f := range l.Tables[name] {
			files[i] = quoteLiteral(f)
		}
		all = append(all, files...)
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s.%s AS SELECT * FROM read_parquet([%s], union_by_name = true)",
			dataset.QuoteIdent(r.dataset), dataset.QuoteIdent(name), strings.Join(files, ", ")))
	}
	// Only the committed files can be opened: not the folder's others
	// (a crashed load's, superseded ones), not anything beside it.
	lock := []string{
		"SET allowed_paths = [" + strings.Join(all, ", ") + "]",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	}
	fail := func(err error) (*sql.Conn, func() error, error) {
		conn.Close()
		db.Close()
		return nil, nil, fmt.Errorf("parquet %s: %w", r.dir, err)
	}
	if err := execAll(ctx, conn, stmts); err != nil {
		return fail(err)
	}
	// The CI views, as a load defines them in a database, over the
	// columns the files have.
	views, err := ciViews(ctx, conn, r.dataset)
	if err != nil {
		return fail(err)
	}
	if err := execAll(ctx, conn, append(views, lock...)); err != nil {
		return fail(err)
	}
	return conn, db.Close, nil
}

func execAll(ctx context.Context, conn *sql.Conn, stmts []string) error {
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// ciViews are the statements defining the CI views over the dataset's views.
func ciViews(ctx context.Context, conn *sql.Conn, ds string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ?`, ds)
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	cols := map[string]map[string]string{}
	for rows.Next() {
		var table, column, typ string
		if err := rows.Scan(&table, &column, &typ); err != nil {
			return nil, fmt.Errorf("read columns: %w", err)
		}
		if cols[table] == nil {
			cols[table] = map[string]string{}
		}
		cols[table][column] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	return civiews.Statements(ds, cols), nil
}

// Query runs one statement as the DuckDB reader does. A file that a load
// removed between listing and reading (replace, merge) fails the read:
// it is read again once from the new files.
func (r *Reader) Query(ctx context.Context, query string, opts dataset.QueryOptions) (*dataset.Result, error) {
	res, err := r.Reader.Query(ctx, query, opts)
	var de *duckdb.Error
	if err != nil && errors.As(err, &de) && de.Type == duckdb.ErrorTypeIO && strings.Contains(de.Msg, r.dir) {
		return r.Reader.Query(ctx, query, opts)
	}
	return res, err
}

// Info is the DuckDB reader's summary, naming the folder.
func (r *Reader) Info(ctx context.Context) (*dataset.Info, error) {
	info, err := r.Reader.Info(ctx)
	if err != nil {
		return nil, err
	}
	info.Destination, info.Location = "parquet", r.dir
	return info, nil
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
