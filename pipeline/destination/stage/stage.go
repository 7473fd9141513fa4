// Package stage holds a load's normalized rows in a temporary DuckDB file
// until the destination commits them, so memory stays bounded and the
// destination's write lock is held only while committing.
package stage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Stage is a temporary DuckDB database with one table per normalized table.
// Tables live in one schema ("main" unless opened with OpenIn), are named as
// the normalized table and have plain columns (no constraints) in the order
// rows were written.
// It implements normalize.Sink; its methods are safe for concurrent use, and
// writes to tables of different lanes (Lane) run in parallel.
type Stage struct {
	path   string
	dir    string // private temp directory holding the file (and its WAL)
	schema string

	// mu is held shared by Write and exclusively by everything that opens,
	// releases or reads the file as a whole.
	mu     sync.RWMutex
	db     *sql.DB   // nil while released (after Flush, before the next Write)
	conn   *sql.Conn // statements outside the lanes (dedup), in a transaction of its own
	lanes  [lanes]lane
	closed bool
	moved  bool  // the file became a destination (MoveTo): never written again
	broken error // a release committed some lanes and not others: the file is not whole

	memMu   sync.Mutex   // serializes raising the memory limit (fitMemory)
	largest atomic.Int64 // bytes of the largest row the memory limit was raised for; 0: usual rows

	catalog sync.Mutex        // guards tables and order
	tables  map[string]*table // a table's fields are guarded by its lane's mu
	order   []string          // table names in creation order
}

// table is one staging table and its open appender.
type table struct {
	lane     int
	columns  []*normalize.Column
	appender *duckdb.Appender // nil until the next write after a flush
	rows     int64
	pending  int // approximate bytes appended since the appender last flushed
	buf      []driver.Value
	jsonCols []int // positions of JSON columns: their text goes in as json.RawMessage
}

var _ normalize.Sink = (*Stage)(nil)

// Open creates an empty staging database in a fresh directory under dir
// (os.TempDir when dir is ""), its tables in schema "main".
func Open(ctx context.Context, dir string) (*Stage, error) {
	return OpenIn(ctx, dir, "main")
}

// OpenIn is Open with the tables in schema: a stage opened in the dataset's
// schema is already laid out as a DuckDB destination, which a first load can
// then take over whole (MoveTo) instead of copying its rows.
func OpenIn(ctx context.Context, dir, schema string) (*Stage, error) {
	if schema == "" {
		schema = "main"
	}
	removeLeftovers(dir)
	tmp, err := os.MkdirTemp(dir, "cfmcp-stage-")
	if err != nil {
		return nil, fmt.Errorf("stage: create temp dir: %w", err)
	}
	if err := claim(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("stage: %w", err)
	}
	s := &Stage{path: filepath.Join(tmp, "stage.duckdb"), dir: tmp, schema: schema, tables: map[string]*table{}}
	if err := s.open(ctx); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return s, nil
}

// open (re)opens the file for writing; s.mu is held exclusively.
func (s *Stage) open(ctx context.Context) error {
	db, err := duckfile.OpenWrite(ctx, s.path, 0, nil, writeSettings(s.memoryMB())...)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return fmt.Errorf("stage: connect: %w", err)
	}
	// The schema is committed before any lane's transaction begins: two
	// transactions creating it would conflict.
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+QuoteIdent(s.schema)); err != nil {
		conn.Close()
		db.Close()
		return fmt.Errorf("stage: create schema %s: %w", s.schema, err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		db.Close()
		return fmt.Errorf("stage: begin: %w", err)
	}
	s.db, s.conn = db, conn
	return nil
}

// Schema is the schema the staging tables are in.
func (s *Stage) Schema() string { return s.schema }

// Path is the staging database file; destinations ATTACH or open it
// read-only after Flush.
func (s *Stage) Path() string { return s.path }

// DiskSize is how many bytes the staged rows take on disk now (file and
// write-ahead log): about what committing them writes again.
func (s *Stage) DiskSize() int64 {
	var n int64
	for _, p := range []string{s.path, s.path + ".wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// OpenReadOnly flushes and opens the staging file read-only, for
// destinations that read staging tables through database/sql. Close the
// returned database before writing to the stage again.
func (s *Stage) OpenReadOnly(ctx context.Context) (*sql.DB, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	db, err := duckfile.Open(ctx, s.path, true, 0, "threads="+threads)
	if err != nil {
		return nil, fmt.Errorf("stage: %w", err)
	}
	return db, nil
}

// Counts are the rows written per table.
func (s *Stage) Counts() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int64, len(s.tables))
	for name, st := range s.tables {
		m[name] = st.rows
	}
	return m
}

// Tables are the staging tables in creation order.
func (s *Stage) Tables() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Columns are the columns of a staging table in table order (nil when the
// table was never written).
func (s *Stage) Columns(name string) []*normalize.Column {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.tables[name]
	if st == nil {
		return nil
	}
	return copyColumns(st.columns)
}

// Close discards the staged rows and removes the file.
func (s *Stage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.release(context.Background())
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("stage: remove %s: %w", s.dir, rmErr))
	}
	return err
}

// sqlTypes are the DuckDB column types of the normalized data types.
var sqlTypes = map[normalize.DataType]string{
	normalize.Bigint:    "BIGINT",
	normalize.Double:    "DOUBLE",
	normalize.Bool:      "BOOLEAN",
	normalize.Timestamp: "TIMESTAMPTZ",
	normalize.Text:      "VARCHAR",
	normalize.JSON:      "JSON",
}

// SQLType is the DuckDB column type for a normalized data type.
func SQLType(t normalize.DataType) (string, error) { return TypeIn(sqlTypes, t) }

// TypeIn is t's name among a database's column types, or why it has none.
func TypeIn(types map[normalize.DataType]string, t normalize.DataType) (string, error) {
	if s, ok := types[t]; ok {
		return s, nil
	}
	return "", fmt.Errorf("unknown data type %q", t)
}

// QuoteIdent quotes a SQL identifier (DuckDB and PostgreSQL rules), so
// reserved words and odd names are safe.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func copyColumns(cols []*normalize.Column) []*normalize.Column {
	out := make([]*normalize.Column, len(cols))
	for i, c := range cols {
		cc := *c
		out[i] = &cc
	}
	return out
}
