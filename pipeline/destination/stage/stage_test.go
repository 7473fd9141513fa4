package stage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

func col(name string, t normalize.DataType) *normalize.Column {
	return &normalize.Column{Name: name, DataType: t, Nullable: true}
}

func openStage(t *testing.T) *Stage {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestWriteAllTypes(t *testing.T) {
	s := openStage(t)
	tbl := &normalize.Table{Name: "order", Columns: []*normalize.Column{
		col("group", normalize.Bigint), col("d", normalize.Double), col("b", normalize.Bool),
		col("ts", normalize.Timestamp), col("s", normalize.Text), col("j", normalize.JSON),
	}}
	ts := time.Date(2025, 6, 11, 18, 39, 47, 541000000, time.UTC)
	rows := [][]any{
		{int64(1), 1.5, true, ts, "a", `{"x":[1,2]}`},
		{nil, nil, nil, nil, nil, nil},
		{int64(3), -2.25, false, ts.Add(time.Hour), `it's "quoted"`, `[]`},
	}
	for _, r := range rows {
		if err := s.Write(tbl, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Counts()["order"]; got != 3 {
		t.Fatalf("count = %d, want 3", got)
	}
	db, err := s.OpenReadOnly(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var types []string
	r, err := db.Query(`SELECT data_type FROM duckdb_columns() WHERE table_name = 'order' ORDER BY column_index`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var typ string
		r.Scan(&typ)
		types = append(types, typ)
	}
	if got, want := strings.Join(types, ","), "BIGINT,DOUBLE,BOOLEAN,TIMESTAMP WITH TIME ZONE,VARCHAR,JSON"; got != want {
		t.Fatalf("types = %s, want %s", got, want)
	}
	var (
		n      int64
		sum    float64
		gotTS  time.Time
		quoted string
		jlen   int64
	)
	err = db.QueryRow(`SELECT count(*), sum(d), max(ts), max(s) FILTER (WHERE "group" = 3),
		max(json_array_length(j -> 'x')) FROM main."order"`).Scan(&n, &sum, &gotTS, &quoted, &jlen)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || sum != -0.75 || !gotTS.Equal(ts.Add(time.Hour)) || quoted != `it's "quoted"` || jlen != 2 {
		t.Fatalf("got n=%d sum=%v ts=%v s=%q jlen=%d", n, sum, gotTS, quoted, jlen)
	}
}

func TestSchemaEvolutionAndPadding(t *testing.T) {
	s := openStage(t)
	tbl := &normalize.Table{Name: "builds", Columns: []*normalize.Column{col("id", normalize.Text)}}
	if err := s.Write(tbl, []any{"a"}); err != nil {
		t.Fatal(err)
	}
	tbl.Columns = append(tbl.Columns, col("n", normalize.Bigint), col("ok", normalize.Bool))
	if err := s.Write(tbl, []any{"b", int64(2), true}); err != nil {
		t.Fatal(err)
	}
	// A row built before the table grew is shorter: padded with NULL.
	if err := s.Write(tbl, []any{"c"}); err != nil {
		t.Fatal(err)
	}
	got := query(t, s, `SELECT id, n, ok FROM builds ORDER BY rowid`)
	if want := "a,<nil>,<nil>;b,2,true;c,<nil>,<nil>"; got != want {
		t.Fatalf("rows = %s, want %s", got, want)
	}
	cols := s.Columns("builds")
	if len(cols) != 3 || cols[2].Name != "ok" || cols[2].DataType != normalize.Bool {
		t.Fatalf("columns = %+v", cols)
	}
	// Writing after a flush reopens the appender.
	if err := s.Write(tbl, []any{"d", int64(4), false}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, s, `SELECT count(*) FROM builds`); got != "4" {
		t.Fatalf("count = %s", got)
	}
	if c := s.Counts()["builds"]; c != 4 {
		t.Fatalf("Counts = %d", c)
	}
}

func TestWriteErrors(t *testing.T) {
	s := openStage(t)
	tbl := &normalize.Table{Name: "t", Columns: []*normalize.Column{col("a", normalize.Text)}}
	if err := s.Write(tbl, []any{"x", "y"}); err == nil || !strings.Contains(err.Error(), "2 values for 1 columns") {
		t.Fatalf("long row: err = %v", err)
	}
	if err := s.Write(tbl, []any{"x"}); err != nil {
		t.Fatal(err)
	}
	renamed := &normalize.Table{Name: "t", Columns: []*normalize.Column{col("b", normalize.Text), col("c", normalize.Text)}}
	if err := s.Write(renamed, []any{"x", "y"}); err == nil || !strings.Contains(err.Error(), `column 0 is "b", was "a"`) {
		t.Fatalf("reordered columns: err = %v", err)
	}
	j := &normalize.Table{Name: "j", Columns: []*normalize.Column{col("doc", normalize.JSON)}}
	if err := s.Write(j, []any{`{"unterminated`}); err == nil {
		t.Fatal("invalid JSON text accepted")
	}
	bad := &normalize.Table{Name: "u", Columns: []*normalize.Column{col("a", "decimal")}}
	if err := s.Write(bad, []any{"1"}); err == nil || !strings.Contains(err.Error(), `unknown data type "decimal"`) {
		t.Fatalf("bad type: err = %v", err)
	}
}

func TestTablesOrderAndClose(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pipelines", "pipelines__tags", "builds"} {
		tbl := &normalize.Table{Name: name, Columns: []*normalize.Column{col("v", normalize.Text)}}
		if err := s.Write(tbl, []any{name}); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(s.Tables(), ","); got != "pipelines,pipelines__tags,builds" {
		t.Fatalf("Tables = %s", got)
	}
	if !strings.HasPrefix(s.Path(), dir) {
		t.Fatalf("Path %s not under %s", s.Path(), dir)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(s.Path())); !os.IsNotExist(err) {
		t.Fatalf("stage dir still there: %v", err)
	}
	if err := s.Write(&normalize.Table{Name: "x", Columns: []*normalize.Column{col("v", normalize.Text)}}, []any{"v"}); err == nil {
		t.Fatal("write after close succeeded")
	}
}

// Another DuckDB database (as a destination does) sees every flushed row.
func TestAttachFromOtherDatabase(t *testing.T) {
	s := openStage(t)
	tbl := &normalize.Table{Name: "group", Columns: []*normalize.Column{col("id", normalize.Bigint)}}
	for i := range 5000 {
		if err := s.Write(tbl, []any{int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	other, err := duckfile.Open(context.Background(), filepath.Join(t.TempDir(), "dest.duckdb"), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), fmt.Sprintf("ATTACH '%s' AS stg (READ_ONLY)", s.Path())); err != nil {
		t.Fatal(err)
	}
	var n, sum int64
	if err := conn.QueryRowContext(context.Background(), `SELECT count(*), sum(id) FROM stg.main."group"`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 5000 || sum != 4999*5000/2 {
		t.Fatalf("n=%d sum=%d", n, sum)
	}
	if _, err := conn.ExecContext(context.Background(), "DETACH stg"); err != nil {
		t.Fatal(err)
	}
}

func TestQuoteIdent(t *testing.T) {
	if got := QuoteIdent(`a"b`); got != `"a""b"` {
		t.Fatalf("got %s", got)
	}
}

// query runs q on the flushed stage and returns its rows as "a,b;c,d".
func query(t *testing.T, s *Stage, q string) string {
	t.Helper()
	return queryCells(t, s, destinationtest.Sprint, q)
}

// queryCells is query with each value written by cell.
func queryCells(t *testing.T, s *Stage, cell destinationtest.Cell, q string) string {
	t.Helper()
	db, err := s.OpenReadOnly(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return destinationtest.Query(t, db, cell, q)
}

// BenchmarkWrite30Columns measures appending a 30-column row (10 text,
// 10 bigint, 5 double, 3 timestamp, 2 bool).
func BenchmarkWrite30Columns(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tbl := &normalize.Table{Name: "bench"}
	ts := time.Date(2025, 6, 11, 0, 0, 0, 0, time.UTC)
	var row []any
	add := func(n int, typ normalize.DataType, v any) {
		for i := range n {
			tbl.Columns = append(tbl.Columns, col(fmt.Sprintf("%s_%d", typ, i), typ))
			row = append(row, v)
		}
	}
	add(10, normalize.Text, "6849f1f2c1b2a3d4e5f60718")
	add(10, normalize.Bigint, int64(1749667187))
	add(5, normalize.Double, 3.14159)
	add(3, normalize.Timestamp, ts)
	add(2, normalize.Bool, true)
	b.ResetTimer()
	for b.Loop() {
		if err := s.Write(tbl, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
