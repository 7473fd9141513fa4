package stage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// lanes is how many connections append to the stage at once. DuckDB
// compresses a table's row groups on the thread that appends to it, and a
// connection runs one statement at a time: tables on different connections
// are written, and compressed, in parallel. Each connection is a transaction
// of its own until the release commits them all. Two: a resource's root
// table (its widest, one row per record) on one, its child tables on the
// other; more lanes cost DuckDB memory (each thread compressing at once) for
// little time on two cores.
const lanes = 2

// lane is one connection the stage appends through, for the tables Lane
// assigns to it.
type lane struct {
	mu   sync.Mutex
	conn *sql.Conn // nil until its first write after an open
}

// Lane is the lane t's rows are appended through: root tables (no parent)
// on the first, child tables on the second. It depends on t's parent only,
// so a table keeps its lane.
func Lane(t *normalize.Table) int {
	if t.Parent == "" {
		return 0
	}
	return 1
}

// Write appends one row to t's staging table, creating the table on first
// use and adding columns when t has gained some since the last row. row is
// aligned with t.Columns; a shorter row is padded with NULL.
func (s *Stage) Write(t *normalize.Table, row []any) error {
	return s.write(t, row, rowBytes(row))
}

// write is Write of a row of size bytes (rowBytes), measured by the caller.
func (s *Stage) write(t *normalize.Table, row []any, size int) error {
	if len(row) > len(t.Columns) {
		return fmt.Errorf("stage: table %s: row has %d values for %d columns", t.Name, len(row), len(t.Columns))
	}
	if err := s.lockOpen(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	ln, st, err := s.laneTable(t)
	if err != nil {
		return err
	}
	defer ln.mu.Unlock()
	if err := s.fitMemory(ln.conn, size); err != nil {
		return fmt.Errorf("stage: table %s: %w", t.Name, err)
	}
	if st.appender == nil {
		a, err := s.newAppender(ln.conn, t.Name)
		if err != nil {
			return err
		}
		st.appender = a
	}
	if err := st.append(t.Name, row, size); err != nil {
		return s.memoryError(err, size)
	}
	return nil
}

// laneTable locks the lane of t's table and returns it with the table,
// the table created or grown to t's columns first. The caller holds s.mu
// shared and unlocks the lane.
func (s *Stage) laneTable(t *normalize.Table) (*lane, *table, error) {
	i := Lane(t)
	s.catalog.Lock()
	st := s.tables[t.Name]
	s.catalog.Unlock()
	ln := &s.lanes[i]
	ln.mu.Lock()
	err := func() error {
		if ln.conn == nil {
			if err := s.begin(ln); err != nil {
				return err
			}
		}
		if st == nil {
			var err error
			st, err = s.create(ln.conn, t, i)
			return err
		}
		if len(t.Columns) > len(st.columns) {
			return s.addColumns(ln.conn, t, st)
		}
		return nil
	}()
	if err != nil {
		ln.mu.Unlock()
		return nil, nil, err
	}
	return ln, st, nil
}

// lockOpen takes s.mu shared with the file open for writing, opening it
// again after a release.
func (s *Stage) lockOpen() error {
	for {
		s.mu.RLock()
		var err error
		switch {
		case s.closed:
			err = errors.New("stage: write after close")
		case s.moved:
			err = errors.New("stage: write after its file became a destination")
		case s.broken != nil:
			err = s.broken
		case s.db != nil:
			return nil
		}
		s.mu.RUnlock()
		if err != nil {
			return err
		}
		s.mu.Lock()
		if s.db == nil && !s.closed && !s.moved && s.broken == nil {
			err = s.open(context.Background())
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// begin gives ln a connection of its own in a transaction that lasts until
// the release: appended rows then reach the file once, compressed (full row
// groups as they fill, the rest at commit), instead of through the WAL and a
// checkpoint that rewrites the growing row groups every few megabytes
// (BenchmarkStageBuilds).
func (s *Stage) begin(ln *lane) error {
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("stage: connect: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		return fmt.Errorf("stage: begin: %w", err)
	}
	ln.conn = conn
	return nil
}

// memoryMB is the stage's memory limit: what its largest rows need.
func (s *Stage) memoryMB() int { return memoryFor(int(s.largest.Load())) }

// fitMemory raises the stage's memory limit to what rows of size bytes
// need (memoryFor), through conn: the setting is the database's.
func (s *Stage) fitMemory(conn *sql.Conn, size int) error {
	need := memoryFor(size)
	if need <= s.memoryMB() {
		return nil
	}
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if need <= s.memoryMB() {
		return nil
	}
	if _, err := conn.ExecContext(context.Background(), fmt.Sprintf("SET memory_limit = '%dMB'", need)); err != nil {
		return fmt.Errorf("raise the memory limit to %d MB for rows of %d KB: %w", need, size>>10, err)
	}
	s.largest.Store(int64(size))
	return nil
}

// LargestRow is the size of the largest row the stage needed more memory
// for than usual rows (large text), 0 when none did or the stage is nil:
// copying such rows out needs more memory too.
func (s *Stage) LargestRow() int {
	if s == nil {
		return 0
	}
	return int(s.largest.Load())
}

// memoryError explains an append DuckDB refused for want of memory, with
// the stage's limit and the size of the row.
func (s *Stage) memoryError(err error, size int) error {
	if !strings.Contains(err.Error(), "failed to pin block") && !strings.Contains(err.Error(), "Out of Memory") {
		return err
	}
	return fmt.Errorf("the stage's %d MB of memory was not enough to append a row of %d KB: %w", s.memoryMB(), size>>10, err)
}

// append hands one row of about size bytes to st's appender; the lane's mu
// is held.
func (st *table) append(name string, row []any, size int) error {
	// Rows never hold more values than the staging table has columns:
	// the table was grown to t.Columns before.
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
		return fmt.Errorf("stage: table %s: append: %w", name, err)
	}
	st.rows++
	// DuckDB's appender keeps up to ~200k rows in memory before it writes
	// them to the table: flush by size instead (flushBytes).
	st.pending += size
	if st.pending >= flushBytes {
		if err := st.appender.Flush(); err != nil {
			return fmt.Errorf("stage: table %s: flush: %w", name, err)
		}
		st.pending = 0
	}
	return nil
}

// rowBytes estimates a row's size: strings by length, the rest a word each.
func rowBytes(row []any) int {
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

// create makes the staging table for t with t's current columns through
// conn, and records it as a table of lane.
func (s *Stage) create(conn *sql.Conn, t *normalize.Table, lane int) (*table, error) {
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
	if _, err := conn.ExecContext(context.Background(), q); err != nil {
		return nil, fmt.Errorf("stage: create table %s: %w", t.Name, err)
	}
	st := &table{lane: lane}
	st.setColumns(copyColumns(t.Columns))
	s.catalog.Lock()
	s.tables[t.Name] = st
	s.order = append(s.order, t.Name)
	s.catalog.Unlock()
	return st, nil
}

// addColumns grows st to t's columns through conn. The appender is closed
// first: an appender is bound to the table layout it was created with.
func (s *Stage) addColumns(conn *sql.Conn, t *normalize.Table, st *table) error {
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
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
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

func (s *Stage) newAppender(conn *sql.Conn, name string) (*duckdb.Appender, error) {
	var a *duckdb.Appender
	err := conn.Raw(func(dc any) error {
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
