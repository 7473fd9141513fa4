package stage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// CSVSink is a file path into a Stage, measured against the appender path
// (Async) by the BenchmarkStagePath benchmarks and kept in a test file: the
// load writes through Async. The normalizer's rows are written
// by Go as typed CSV files, one open file per table rolled by size, and each
// finished file goes into the stage with one INSERT ... SELECT FROM read_csv
// on a goroutine of its own, while the next file is written. No value
// crosses cgo one at a time.
//
// The CSV is exact for every normalized type: text and JSON are always
// quoted (a quote doubled), so an unquoted empty field is NULL and "" is the
// empty string; numbers, booleans and timestamps are written in forms
// DuckDB parses back to the same value. Text holding a NUL byte cannot go
// through CSV: such a row makes Write fail.
//
// It implements normalize.Sink and the extractor's row sink (Write, Wait,
// Close) for one caller.
type CSVSink struct {
	s        *Stage
	dir      string
	rollSize int
	tables   map[*normalize.Table]*csvTable
	seq      int
	queue    chan *csvFile
	done     chan struct{}
	deferred bool       // files wait until Wait or Close, then go in per table
	pending  []*csvFile // deferred files, in the order they were finished

	mu  sync.Mutex
	err error
}

// csvTable is the file a table's rows are being written to.
type csvTable struct {
	snap  *normalize.Table // the columns the open file has
	file  *os.File
	w     *bufio.Writer
	size  int
	rows  int64
	types []normalize.DataType
}

// csvFile is a finished file on its way into the stage (or, with barrier
// set, a marker that every earlier file is in).
type csvFile struct {
	t       *normalize.Table
	path    string
	rows    int64
	barrier chan struct{}
}

// defaultRollSize is the size at which a table's file is finished and
// handed to the inserter; csvQueue is how many finished files may wait.
const (
	defaultRollSize = 16 << 20
	csvQueue        = 2
)

var _ normalize.Sink = (*CSVSink)(nil)

// NewCSVSink starts the inserter; Close stops it. Files are written in the
// stage's private directory.
func NewCSVSink(s *Stage) *CSVSink {
	return newCSVSink(s, defaultRollSize, false)
}

func newCSVSink(s *Stage, rollSize int, deferred bool) *CSVSink {
	c := &CSVSink{s: s, dir: s.dir, rollSize: rollSize, deferred: deferred, tables: map[*normalize.Table]*csvTable{},
		queue: make(chan *csvFile, csvQueue), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *CSVSink) loop() {
	defer close(c.done)
	defer c.insertPending()
	for f := range c.queue {
		if f.barrier != nil {
			c.insertPending()
			close(f.barrier)
			continue
		}
		if c.deferred {
			c.pending = append(c.pending, f)
			continue
		}
		c.insert([]*csvFile{f})
	}
}

// insert puts files of one table and one column list into the stage.
func (c *CSVSink) insert(files []*csvFile) {
	if c.failed() == nil {
		paths := make([]string, len(files))
		var rows int64
		for i, f := range files {
			paths[i], rows = f.path, rows+f.rows
		}
		if err := c.s.InsertCSV(context.Background(), files[0].t, paths, rows); err != nil {
			c.fail(err)
		}
	}
	for _, f := range files {
		os.Remove(f.path)
	}
}

// insertPending inserts the deferred files, one statement per run of a
// table's files with the same columns.
func (c *CSVSink) insertPending() {
	byTable := map[string][]*csvFile{}
	var names []string
	for _, f := range c.pending {
		if byTable[f.t.Name] == nil {
			names = append(names, f.t.Name)
		}
		byTable[f.t.Name] = append(byTable[f.t.Name], f)
	}
	c.pending = nil
	for _, name := range names {
		files := byTable[name]
		for len(files) > 0 {
			n := 1
			for n < len(files) && len(files[n].t.Columns) == len(files[0].t.Columns) {
				n++
			}
			c.insert(files[:n])
			files = files[n:]
		}
	}
}

func (c *CSVSink) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *CSVSink) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// Write encodes row into t's open file, starting a new file when t has
// gained columns since the open one began.
func (c *CSVSink) Write(t *normalize.Table, row []any) error {
	if err := c.failed(); err != nil {
		return err
	}
	if len(row) > len(t.Columns) {
		return fmt.Errorf("stage: table %s: row has %d values for %d columns", t.Name, len(row), len(t.Columns))
	}
	ct := c.tables[t]
	if ct != nil && len(ct.snap.Columns) != len(t.Columns) {
		if err := c.finish(ct); err != nil {
			return err
		}
		ct = nil
	}
	if ct == nil {
		var err error
		if ct, err = c.start(t); err != nil {
			return err
		}
		c.tables[t] = ct
	}
	n, err := appendCSVRow(ct.w, ct.types, row)
	if err != nil {
		return fmt.Errorf("stage: table %s: %w", t.Name, err)
	}
	ct.size += n
	ct.rows++
	if ct.size >= c.rollSize {
		if err := c.finish(ct); err != nil {
			return err
		}
		delete(c.tables, t)
	}
	return nil
}

// start opens a new file for t's current columns.
func (c *CSVSink) start(t *normalize.Table) (*csvTable, error) {
	c.seq++
	path := filepath.Join(c.dir, fmt.Sprintf("rows-%06d.csv", c.seq))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("stage: table %s: %w", t.Name, err)
	}
	snap := &normalize.Table{Name: t.Name, Columns: copyColumns(t.Columns)}
	types := make([]normalize.DataType, len(snap.Columns))
	for i, col := range snap.Columns {
		types[i] = col.DataType
	}
	return &csvTable{snap: snap, file: f, w: bufio.NewWriterSize(f, 256<<10), types: types}, nil
}

// finish closes ct's file and queues it for the inserter.
func (c *CSVSink) finish(ct *csvTable) error {
	err := ct.w.Flush()
	if cerr := ct.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(ct.file.Name())
		return fmt.Errorf("stage: table %s: write rows file: %w", ct.snap.Name, err)
	}
	c.queue <- &csvFile{t: ct.snap, path: ct.file.Name(), rows: ct.rows}
	return nil
}

// finishAll queues every open file.
func (c *CSVSink) finishAll() error {
	var errs []error
	for t, ct := range c.tables {
		errs = append(errs, c.finish(ct))
		delete(c.tables, t)
	}
	return errors.Join(errs...)
}

// Wait returns once every row written so far is in the stage, with the
// first error.
func (c *CSVSink) Wait(ctx context.Context) error {
	if err := c.finishAll(); err != nil {
		return err
	}
	b := &csvFile{barrier: make(chan struct{})}
	c.queue <- b
	select {
	case <-b.barrier:
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.failed()
}

// Close inserts what is written, stops the inserter and returns the first
// error. It must not be called twice.
func (c *CSVSink) Close() error {
	err := c.finishAll()
	close(c.queue)
	<-c.done
	return errors.Join(err, c.failed())
}

// InsertCSV inserts the rows of files CSVSink wrote for t's columns into
// t's staging table, creating or growing the table first; rows is how many
// the files hold.
func (s *Stage) InsertCSV(ctx context.Context, t *normalize.Table, paths []string, rows int64) error {
	if err := s.lockOpen(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	// The table's lane: its transaction holds the table's earlier rows.
	ln, st, err := s.laneTable(t)
	if err != nil {
		return err
	}
	defer ln.mu.Unlock()
	// Rows appended to this table earlier go in first.
	if err := st.closeAppender(ctx); err != nil {
		return fmt.Errorf("stage: table %s: %w", t.Name, err)
	}
	q, err := csvInsert(s.schema, t, paths)
	if err != nil {
		return err
	}
	res, err := ln.conn.ExecContext(ctx, q)
	if err != nil {
		return fmt.Errorf("stage: table %s: insert %s: %w", t.Name, filepath.Base(paths[0]), err)
	}
	if n, err := res.RowsAffected(); err == nil && n != rows {
		return fmt.Errorf("stage: table %s: %d files gave %d rows, %d were written", t.Name, len(paths), n, rows)
	}
	st.rows += rows
	return nil
}

// csvReadTypes are the types read_csv parses each normalized type as; JSON
// is read as text and cast by the insert.
var csvReadTypes = map[normalize.DataType]string{
	normalize.Bigint:    "BIGINT",
	normalize.Double:    "DOUBLE",
	normalize.Bool:      "BOOLEAN",
	normalize.Timestamp: "TIMESTAMPTZ",
	normalize.Text:      "VARCHAR",
	normalize.JSON:      "VARCHAR",
}

// csvInsert is the statement that inserts a CSVSink file for t's columns:
// explicit types and dialect, nothing sniffed.
func csvInsert(schema string, t *normalize.Table, paths []string) (string, error) {
	names := make([]string, len(t.Columns))
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		typ, err := TypeIn(csvReadTypes, c.DataType)
		if err != nil {
			return "", fmt.Errorf("stage: table %s column %s: %w", t.Name, c.Name, err)
		}
		names[i] = QuoteIdent(c.Name)
		cols[i] = sqlString(fmt.Sprintf("c%d", i)) + ": " + sqlString(typ)
	}
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = sqlString(p)
	}
	return fmt.Sprintf(`INSERT INTO %s.%s (%s) SELECT * FROM read_csv(%s, columns = {%s}, header = false,
		auto_detect = false, delim = ',', quote = '"', escape = '"', new_line = '\n', nullstr = '',
		allow_quoted_nulls = false, strict_mode = true, buffer_size = 4194304, max_line_size = 4194304,
		hive_partitioning = false, filename = false)`,
		QuoteIdent(schema), QuoteIdent(t.Name), strings.Join(names, ", "), "["+strings.Join(quoted, ", ")+"]", strings.Join(cols, ", ")), nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// appendCSVRow writes one row (NULL for columns past its end) and returns
// the bytes written.
func appendCSVRow(w *bufio.Writer, types []normalize.DataType, row []any) (int, error) {
	var scratch [64]byte
	n := 0
	for i := range types {
		if i > 0 {
			w.WriteByte(',')
			n++
		}
		if i >= len(row) || row[i] == nil {
			continue
		}
		switch v := row[i].(type) {
		case string:
			m, err := appendCSVString(w, v)
			if err != nil {
				return n, err
			}
			n += m
		case int64:
			m, _ := w.Write(strconv.AppendInt(scratch[:0], v, 10))
			n += m
		case float64:
			m, _ := w.Write(appendCSVFloat(scratch[:0], v))
			n += m
		case bool:
			m, _ := w.Write(strconv.AppendBool(scratch[:0], v))
			n += m
		case time.Time:
			m, _ := w.Write(append(v.UTC().AppendFormat(scratch[:0], "2006-01-02 15:04:05.000000"), "+00"...))
			n += m
		default:
			return n, fmt.Errorf("column %d: unsupported value type %T", i, v)
		}
	}
	w.WriteByte('\n')
	return n + 1, nil
}

// appendCSVString writes s quoted, its quotes doubled.
func appendCSVString(w *bufio.Writer, s string) (int, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return 0, errors.New("text holds a NUL byte")
	}
	n := 2 + len(s)
	w.WriteByte('"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		w.WriteString(s[:i+1])
		w.WriteByte('"')
		n++
		s = s[i+1:]
	}
	w.WriteString(s)
	w.WriteByte('"')
	return n, nil
}

// appendCSVFloat is the shortest text that parses back to f.
func appendCSVFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
