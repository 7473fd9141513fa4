// Package stage holds a load's normalized rows in a temporary DuckDB file
// until the destination commits them, so memory stays bounded and the
// destination's write lock is held only while committing.
package stage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Stage is a temporary DuckDB database with one table per normalized table.
// Tables live in one schema ("main" unless opened with OpenIn), are named as
// the normalized table and have plain columns (no constraints) in the order
// rows were written.
// It implements normalize.Sink; its methods are safe for concurrent use.
type Stage struct {
	path   string
	dir    string // private temp directory holding the file (and its WAL)
	schema string

	mu     sync.Mutex
	db     *sql.DB   // nil while released (after Flush, before the next Write)
	conn   *sql.Conn // the connection appenders write through
	tables map[string]*table
	order  []string // table names in creation order
	closed bool
	moved  bool // the file became a destination (MoveTo): never written again
}

// table is one staging table and its open appender.
type table struct {
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

// open (re)opens the file for writing.
func (s *Stage) open(ctx context.Context) error {
	db, err := duckfile.OpenWrite(ctx, s.path, 0, nil, writeSettings()...)
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return fmt.Errorf("stage: connect: %w", err)
	}
	// One transaction until Flush: appended rows then reach the file once,
	// compressed (full row groups as they fill, the rest at commit),
	// instead of through the WAL and a checkpoint that rewrites the growing
	// row groups every few megabytes (BenchmarkStageBuilds).
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		db.Close()
		return fmt.Errorf("stage: begin: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+QuoteIdent(s.schema)); err != nil {
		conn.Close()
		db.Close()
		return fmt.Errorf("stage: create schema %s: %w", s.schema, err)
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

// Write appends one row to t's staging table, creating the table on first
// use and adding columns when t has gained some since the last row. row is
// aligned with t.Columns; a shorter row is padded with NULL.
func (s *Stage) Write(t *normalize.Table, row []any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("stage: write after close")
	}
	if s.moved {
		return errors.New("stage: write after its file became a destination")
	}
	if len(row) > len(t.Columns) {
		return fmt.Errorf("stage: table %s: row has %d values for %d columns", t.Name, len(row), len(t.Columns))
	}
	if s.db == nil {
		if err := s.open(context.Background()); err != nil {
			return err
		}
	}
	st := s.tables[t.Name]
	if st == nil {
		var err error
		if st, err = s.create(t); err != nil {
			return err
		}
	} else if len(t.Columns) > len(st.columns) {
		if err := s.addColumns(t, st); err != nil {
			return err
		}
	}
	if st.appender == nil {
		a, err := s.newAppender(t.Name)
		if err != nil {
			return err
		}
		st.appender = a
	}
	// Rows never hold more values than the staging table has columns:
	// the table was grown to t.Columns above.
	for i := range st.buf {
		if i < len(row) {
			st.buf[i] = row[i]
		} else {
			st.buf[i] = nil
		}
	}
	// The driver JSON-encodes whatever goes into a JSON column; the text is
	// already JSON, so it goes in raw.
	for _, i := range st.jsonCols {
		if v, ok := st.buf[i].(string); ok {
			st.buf[i] = json.RawMessage(v)
		}
	}
	if err := st.appender.AppendRow(st.buf...); err != nil {
		return fmt.Errorf("stage: table %s: append: %w", t.Name, err)
	}
	st.rows++
	// DuckDB's appender keeps up to ~200k rows in memory before it writes
	// them to the table: flush by size instead (flushBytes).
	st.pending += rowBytes(st.buf)
	if st.pending >= flushBytes {
		if err := st.appender.Flush(); err != nil {
			return fmt.Errorf("stage: table %s: flush: %w", t.Name, err)
		}
		st.pending = 0
	}
	return nil
}

// rowBytes estimates a row's size: strings by length, the rest a word each.
func rowBytes(row []driver.Value) int {
	n := 0
	for _, v := range row {
		switch v := v.(type) {
		case string:
			n += len(v)
		case json.RawMessage:
			n += len(v)
		default:
			n += 8
		}
	}
	return n
}

// create makes the staging table for t with t's current columns.
func (s *Stage) create(t *normalize.Table) (*table, error) {
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("stage: table %s has no columns", t.Name)
	}
	defs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		typ, err := SQLType(c.DataType)
		if err != nil {
			return nil, fmt.Errorf("stage: table %s column %s: %w", t.Name, c.Name, err)
		}
		defs[i] = QuoteIdent(c.Name) + " " + typ
	}
	q := fmt.Sprintf("CREATE TABLE %s.%s (%s)", QuoteIdent(s.schema), QuoteIdent(t.Name), strings.Join(defs, ", "))
	if _, err := s.conn.ExecContext(context.Background(), q); err != nil {
		return nil, fmt.Errorf("stage: create table %s: %w", t.Name, err)
	}
	st := &table{}
	st.setColumns(copyColumns(t.Columns))
	s.tables[t.Name] = st
	s.order = append(s.order, t.Name)
	return st, nil
}

// addColumns grows st to t's columns. The appender is closed first: an
// appender is bound to the table layout it was created with.
func (s *Stage) addColumns(t *normalize.Table, st *table) error {
	for i, c := range st.columns {
		if t.Columns[i].Name != c.Name {
			return fmt.Errorf("stage: table %s: column %d is %q, was %q (columns may only be appended)", t.Name, i, t.Columns[i].Name, c.Name)
		}
	}
	if err := st.closeAppender(context.Background()); err != nil {
		return fmt.Errorf("stage: table %s: %w", t.Name, err)
	}
	for _, c := range t.Columns[len(st.columns):] {
		typ, err := SQLType(c.DataType)
		if err != nil {
			return fmt.Errorf("stage: table %s column %s: %w", t.Name, c.Name, err)
		}
		q := fmt.Sprintf("ALTER TABLE %s.%s ADD COLUMN %s %s", QuoteIdent(s.schema), QuoteIdent(t.Name), QuoteIdent(c.Name), typ)
		if _, err := s.conn.ExecContext(context.Background(), q); err != nil {
			return fmt.Errorf("stage: table %s: add column %s: %w", t.Name, c.Name, err)
		}
		cc := *c
		st.setColumns(append(st.columns, &cc))
	}
	return nil
}

func (st *table) setColumns(cols []*normalize.Column) {
	st.columns = cols
	st.buf = make([]driver.Value, len(cols))
	st.jsonCols = st.jsonCols[:0]
	for i, c := range cols {
		if c.DataType == normalize.JSON {
			st.jsonCols = append(st.jsonCols, i)
		}
	}
}

func (s *Stage) newAppender(name string) (*duckdb.Appender, error) {
	var a *duckdb.Appender
	err := s.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		var err error
		a, err = duckdb.NewAppenderFromConn(c, s.schema, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stage: table %s: open appender: %w", name, err)
	}
	return a, nil
}

func (st *table) closeAppender(ctx context.Context) error {
	if st.appender == nil {
		return nil
	}
	a := st.appender
	st.appender = nil
	if err := a.CloseWithCancel(ctx); err != nil {
		return fmt.Errorf("close appender: %w", err)
	}
	return nil
}

// Flush closes the appenders and releases the file, so every row written so
// far is in it and another DuckDB database may ATTACH or open it (DuckDB
// refuses a file that is open elsewhere in the same process). Writing may
// continue afterwards: the next Write reopens the file.
func (s *Stage) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("stage: flush after close")
	}
	return s.release(ctx)
}

// release closes the appenders, commits, then closes the database.
func (s *Stage) release(ctx context.Context) error {
	if s.db == nil {
		return nil
	}
	var errs []error
	for _, name := range s.order {
		if err := s.tables[name].closeAppender(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stage: table %s: %w", name, err))
		}
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		errs = append(errs, fmt.Errorf("stage: commit: %w", err))
	}
	if err := s.conn.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stage: close connection: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stage: close database: %w", err))
	}
	s.db, s.conn = nil, nil
	return errors.Join(errs...)
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
