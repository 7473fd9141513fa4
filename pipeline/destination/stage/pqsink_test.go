package stage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// pqSink is the stage path of option (c): rows written by parquet-go as
// uncompressed Parquet files, one open file per table rolled by size, each
// finished file inserted by read_parquet on a goroutine of its own. It lives
// in a test file: it is measured against the appender and the CSV path.
type pqSink struct {
	s        *Stage
	dir      string
	rollSize int
	seq      int
	tables   map[*normalize.Table]*pqTable
	queue    chan *csvFile
	done     chan struct{}

	mu  sync.Mutex
	err error
}

type pqTable struct {
	snap  *normalize.Table
	f     *os.File
	w     *parquet.Writer
	rows  int64
	size  int
	batch []parquet.Row
	vals  []parquet.Value
}

const pqBatch = 512

func newPQSink(s *Stage, rollSize int) *pqSink {
	p := &pqSink{s: s, dir: s.dir, rollSize: rollSize, tables: map[*normalize.Table]*pqTable{},
		queue: make(chan *csvFile, csvQueue), done: make(chan struct{})}
	go p.loop()
	return p
}

func (p *pqSink) loop() {
	defer close(p.done)
	for f := range p.queue {
		if f.barrier != nil {
			close(f.barrier)
			continue
		}
		p.mu.Lock()
		failed := p.err != nil
		p.mu.Unlock()
		if !failed {
			if err := p.s.insertParquet(context.Background(), f.t, f.path, f.rows); err != nil {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
			}
		}
		os.Remove(f.path)
	}
}

func pqNode(dt normalize.DataType) (parquet.Node, error) {
	switch dt {
	case normalize.Bigint:
		return parquet.Leaf(parquet.Int64Type), nil
	case normalize.Double:
		return parquet.Leaf(parquet.DoubleType), nil
	case normalize.Bool:
		return parquet.Leaf(parquet.BooleanType), nil
	case normalize.Timestamp:
		return parquet.Timestamp(parquet.Microsecond), nil
	case normalize.Text, normalize.JSON:
		return parquet.String(), nil
	}
	return nil, fmt.Errorf("unknown data type %q", dt)
}

func (p *pqSink) start(t *normalize.Table) (*pqTable, error) {
	group := parquet.Group{}
	for i, c := range t.Columns {
		n, err := pqNode(c.DataType)
		if err != nil {
			return nil, err
		}
		group[fmt.Sprintf("c%04d", i)] = parquet.Optional(n) // names sort in column order
	}
	p.seq++
	f, err := os.Create(filepath.Join(p.dir, fmt.Sprintf("rows-%06d.parquet", p.seq)))
	if err != nil {
		return nil, err
	}
	w := parquet.NewWriter(f, parquet.NewSchema(t.Name, group), parquet.Compression(&parquet.Uncompressed), parquet.PageBufferSize(64<<10))
	return &pqTable{snap: &normalize.Table{Name: t.Name, Columns: copyColumns(t.Columns)}, f: f, w: w}, nil
}

func (p *pqSink) Write(t *normalize.Table, row []any) error {
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil {
		return err
	}
	pt := p.tables[t]
	if pt != nil && len(pt.snap.Columns) != len(t.Columns) {
		if err := p.finish(pt); err != nil {
			return err
		}
		pt = nil
	}
	if pt == nil {
		if pt, err = p.start(t); err != nil {
			return err
		}
		p.tables[t] = pt
	}
	start := len(pt.vals)
	for i := range pt.snap.Columns {
		var v parquet.Value
		if i < len(row) && row[i] != nil {
			switch x := row[i].(type) {
			case string:
				v = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(x), len(x)))
				pt.size += len(x)
			case int64:
				v = parquet.Int64Value(x)
			case float64:
				v = parquet.DoubleValue(x)
			case bool:
				v = parquet.BooleanValue(x)
			case time.Time:
				v = parquet.Int64Value(x.UnixMicro())
			default:
				return fmt.Errorf("column %d: unsupported %T", i, x)
			}
			v = v.Level(0, 1, i)
		} else {
			v = parquet.NullValue().Level(0, 0, i)
		}
		pt.size += 8
		pt.vals = append(pt.vals, v)
	}
	_ = start
	pt.rows++
	if pt.rows%pqBatch == 0 {
		if err := pt.flushBatch(); err != nil {
			return err
		}
	}
	if pt.size >= p.rollSize {
		if err := p.finish(pt); err != nil {
			return err
		}
		delete(p.tables, t)
	}
	return nil
}

// flushBatch hands the buffered rows to the writer (rows index into vals,
// which only grows within a batch).
func (pt *pqTable) flushBatch() error {
	n := len(pt.snap.Columns)
	pt.batch = pt.batch[:0]
	for off := 0; off < len(pt.vals); off += n {
		pt.batch = append(pt.batch, pt.vals[off:off+n])
	}
	if _, err := pt.w.WriteRows(pt.batch); err != nil {
		return err
	}
	pt.vals = pt.vals[:0]
	return nil
}

func (p *pqSink) finish(pt *pqTable) error {
	err := pt.flushBatch()
	err = errors.Join(err, pt.w.Close(), pt.f.Close())
	if err != nil {
		return err
	}
	p.queue <- &csvFile{t: pt.snap, path: pt.f.Name(), rows: pt.rows}
	return nil
}

func (p *pqSink) Close() error {
	var errs []error
	for t, pt := range p.tables {
		errs = append(errs, p.finish(pt))
		delete(p.tables, t)
	}
	close(p.queue)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(append(errs, p.err)...)
}

// insertParquet is InsertCSV for a pqSink file.
func (s *Stage) insertParquet(ctx context.Context, t *normalize.Table, path string, rows int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		if err := s.open(ctx); err != nil {
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
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = QuoteIdent(c.Name)
	}
	q := fmt.Sprintf("INSERT INTO %s.%s (%s) SELECT * FROM read_parquet(%s, hive_partitioning = false)",
		QuoteIdent(s.schema), QuoteIdent(t.Name), strings.Join(names, ", "), sqlString(path))
	res, err := s.conn.ExecContext(ctx, q)
	if err != nil {
		return fmt.Errorf("stage: table %s: insert %s: %w", t.Name, filepath.Base(path), err)
	}
	if n, _ := res.RowsAffected(); n != rows {
		return fmt.Errorf("stage: table %s: %d rows inserted, %d written", t.Name, n, rows)
	}
	st.rows += rows
	return nil
}

// TestPQSinkBuildsSameAsAppender: the Parquet path stages simulated builds
// exactly as the appender does.
func TestPQSinkBuildsSameAsAppender(t *testing.T) {
	recs := simBuilds(t, 1500)
	a, b := openStage(t), openStage(t)
	sink := newPQSink(b, 256<<10)
	schema := normalize.NewSchema("codefresh")
	schema.EnsureRoot("builds", "builds", "merge", []string{"id"})
	norm := normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"})
	for _, rec := range recs {
		if err := norm.Normalize("builds", rec, pqTee{a, sink}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if ca, cb := a.Counts(), b.Counts(); fmt.Sprint(ca) != fmt.Sprint(cb) || ca["builds"] != 1500 {
		t.Fatalf("counts: appender %v, parquet %v", ca, cb)
	}
	if n := compareCells(t, cells(t, a), cells(t, b)); n == 0 {
		t.Fatal("no cells compared")
	}
}

type pqTee struct {
	a *Stage
	b *pqSink
}

func (t pqTee) Write(tbl *normalize.Table, row []any) error {
	if err := t.a.Write(tbl, row); err != nil {
		return err
	}
	return t.b.Write(tbl, row)
}

func BenchmarkStagePathParquet(b *testing.B) {
	roll := defaultRollSize
	if v := os.Getenv("CFMCP_STAGE_BENCH_ROLL_MB"); v != "" {
		mb, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		roll = mb << 20
	}
	benchStagePath(b, func(s *Stage) rowSink { return newPQSink(s, roll) })
}
