package dataset

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/parquet"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// ParquetOptions tune a Parquet reader; zero fields take defaults.
type ParquetOptions struct {
	// MemoryLimit is DuckDB's memory_limit for each call ("1GB" when empty).
	MemoryLimit string
}

// parquetReader reads a Parquet dataset folder with the DuckDB reader's
// sandbox: every call opens an in-memory DuckDB holding one view per
// table over its committed files, then shuts file access to all but those
// files and locks the configuration before any query runs.
type parquetReader struct {
	*duckReader
	root string
	dir  string
}

// OpenParquet returns a reader of the dataset folder root/dataset written
// by the Parquet destination. Nothing is held between calls, so a load may
// commit in between; each call reads the files committed when it starts.
func OpenParquet(ctx context.Context, root, dataset string, opts ParquetOptions) (Reader, error) {
	inner, err := OpenDuckDB(ctx, root, dataset, DuckDBOptions{MemoryLimit: opts.MemoryLimit})
	if err != nil {
		return nil, err
	}
	d := inner.(*duckReader)
	r := &parquetReader{duckReader: d, root: d.path, dir: filepath.Join(d.path, dataset)}
	d.openSession = r.session
	return r, nil
}

// session builds the in-memory database of views and locks it down.
func (r *parquetReader) session(ctx context.Context) (*session, error) {
	l, err := parquet.Scan(r.root, r.dataset)
	if err != nil {
		return nil, err
	}
	if len(l.Tables) == 0 {
		return nil, fmt.Errorf("%w: %s holds no loaded tables; load data first with `codefresh-mcp load`", ErrNoData, r.dir)
	}
	db, err := duckfile.Open(ctx, "", false, 0,
		"autoinstall_known_extensions=false",
		"autoload_known_extensions=false",
		"allow_community_extensions=false",
		"memory_limit="+r.opts.MemoryLimit,
	)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("parquet %s: connection: %w", r.dir, err)
	}
	s := &session{conn: conn, release: db.Close, dataset: r.dataset}
	// The dataset name is a checked identifier; table names are folder
	// names the destination checked, quoted all the same.
	stmts := []string{"CREATE SCHEMA " + quoteIdent(r.dataset)}
	var all []string
	for _, name := range l.TableNames() {
		files := make([]string, len(l.Tables[name]))
		for i, f := range l.Tables[name] {
			files[i] = quoteLiteral(f)
		}
		all = append(all, files...)
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s.%s AS SELECT * FROM read_parquet([%s], union_by_name = true)",
			quoteIdent(r.dataset), quoteIdent(name), strings.Join(files, ", ")))
	}
	// Only the committed files can be opened: not the folder's others
	// (a crashed load's, superseded ones), not anything beside it.
	stmts = append(stmts,
		"SET allowed_paths = ["+strings.Join(all, ", ")+"]",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	)
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			s.Close()
			return nil, fmt.Errorf("parquet %s: %w", r.dir, err)
		}
	}
	if err := s.prepare(ctx, r.dir); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Query runs one statement as the DuckDB reader does. A file that a load
// removed between listing and reading (replace, merge) fails the read:
// it is read again once from the new files.
func (r *parquetReader) Query(ctx context.Context, query string, opts QueryOptions) (*Result, error) {
	res, err := r.duckReader.Query(ctx, query, opts)
	var de *duckdb.Error
	if err != nil && errors.As(err, &de) && de.Type == duckdb.ErrorTypeIO && strings.Contains(de.Msg, r.dir) {
		return r.duckReader.Query(ctx, query, opts)
	}
	return res, err
}

// Info is the DuckDB reader's summary, naming the folder.
func (r *parquetReader) Info(ctx context.Context) (*Info, error) {
	info, err := r.duckReader.Info(ctx)
	if err != nil {
		return nil, err
	}
	info.Destination, info.Location = "parquet", r.dir
	return info, nil
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
