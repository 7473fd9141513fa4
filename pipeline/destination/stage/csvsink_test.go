package stage

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// tee writes each row to the appender path and the file path alike.
type tee struct {
	a *Stage
	b *CSVSink
}

func (t tee) Write(tbl *normalize.Table, row []any) error {
	if err := t.a.Write(tbl, row); err != nil {
		return err
	}
	return t.b.Write(tbl, row)
}

// bothWays opens two stages: rows go into the first by its appender, into
// the second by a CSVSink that rolls its files at rollSize bytes.
func bothWays(t *testing.T, rollSize int, deferred bool) (*Stage, *Stage, *CSVSink) {
	t.Helper()
	a, b := openStage(t), openStage(t)
	return a, b, newCSVSink(b, rollSize, deferred)
}

// cells reads every staging table of s in row order as Go values.
func cells(t *testing.T, s *Stage) map[string][][]any {
	t.Helper()
	db, err := s.OpenReadOnly(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][][]any{}
	for _, name := range s.Tables() {
		// JSON as its text, so that the comparison is of the stored text
		// rather than of what the driver decodes it to.
		var sel []string
		for _, c := range s.Columns(name) {
			e := QuoteIdent(c.Name)
			if c.DataType == normalize.JSON {
				e += "::VARCHAR"
			}
			sel = append(sel, e)
		}
		out[name] = readRows(t, db, fmt.Sprintf("SELECT %s FROM main.%s ORDER BY rowid", strings.Join(sel, ", "), QuoteIdent(name)))
	}
	return out
}

func readRows(t *testing.T, db *sql.DB, q string) [][]any {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameCell is exact equality: floats by their bits (NaN, -0), times by instant.
func sameCell(x, y any) bool {
	switch xv := x.(type) {
	case float64:
		yv, ok := y.(float64)
		return ok && math.Float64bits(xv) == math.Float64bits(yv)
	case time.Time:
		yv, ok := y.(time.Time)
		return ok && xv.Equal(yv)
	case []byte:
		yv, ok := y.([]byte)
		return ok && string(xv) == string(yv)
	}
	return fmt.Sprintf("%T %#v", x, x) == fmt.Sprintf("%T %#v", y, y)
}

func compareCells(t *testing.T, want, got map[string][][]any) int {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("tables: appender %d, files %d", len(want), len(got))
	}
	n := 0
	for name, wrows := range want {
		grows := got[name]
		if len(wrows) != len(grows) {
			t.Fatalf("table %s: appender %d rows, files %d", name, len(wrows), len(grows))
		}
		for r := range wrows {
			if len(wrows[r]) != len(grows[r]) {
				t.Fatalf("table %s row %d: %d vs %d columns", name, r, len(wrows[r]), len(grows[r]))
			}
			for c := range wrows[r] {
				if !sameCell(wrows[r][c], grows[r][c]) {
					t.Errorf("table %s row %d column %d: appender %T %#v, files %T %#v", name, r, c, wrows[r][c], wrows[r][c], grows[r][c], grows[r][c])
				}
				n++
			}
		}
	}
	return n
}

// TestCSVSinkExactEveryType loads awkward values of every normalized type
// both ways, with files rolled every few rows and columns added on the way,
// and compares the two stages cell by cell and against the values written.
func TestCSVSinkExactEveryType(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		// The "=" in the subtest name reaches the stage's temp path, where
		// read_csv would take it for a hive partition unless told not to.
		t.Run(fmt.Sprintf("deferred=%v", deferred), func(t *testing.T) { exactEveryType(t, deferred) })
	}
}

func exactEveryType(t *testing.T, deferred bool) {
	a, b, sink := bothWays(t, 64, deferred)
	tbl := &normalize.Table{Name: "order", Columns: []*normalize.Column{
		col("group", normalize.Bigint), col("d", normalize.Double), col("b", normalize.Bool),
		col("ts", normalize.Timestamp), col("s", normalize.Text), col("j", normalize.JSON),
	}}
	texts := []string{"", " ", "a", `"`, `""`, `it's "quoted"`, "line\nbreak", "cr\r\nlf", "\r", ",", `a,"b",c`,
		"NULL", "null", `\N`, `back\slash\`, "tab\tx", "ünïcødé ✓ 日本", "  padded  ", "1", "true", "2025-06-11", "\"\n\""}
	doubles := []float64{0, math.Copysign(0, -1), 0.1, -2.25, 1e300, 5e-324, math.MaxFloat64, -math.MaxFloat64,
		math.Inf(1), math.Inf(-1), 1.0 / 3, 123456789012345678, 1e21, 1e-7}
	bigints := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 53}
	times := []time.Time{
		time.Date(2025, 6, 11, 18, 39, 47, 541000000, time.UTC),
		time.Date(2025, 6, 11, 18, 39, 47, 123456000, time.FixedZone("x", 5*3600+1800)),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	jsons := []string{`{}`, `[]`, `{"x":[1,2]}`, `{"q":"say \"hi\"\n","u":"\u00e9"}`, `"str"`, `1.5`, `null`, `[{"a,b":""}]`}
	var written [][]any
	for i := range 40 {
		if i == 25 {
			tbl.Columns = append(tbl.Columns, col("late", normalize.Text))
		}
		row := []any{bigints[i%len(bigints)], doubles[i%len(doubles)], i%3 == 0, times[i%len(times)],
			texts[i%len(texts)], jsons[i%len(jsons)]}
		switch i % 7 {
		case 3:
			row = []any{nil, nil, nil, nil, nil, nil}
		case 5:
			row = row[:2] // the rest NULL
		}
		if len(tbl.Columns) == 7 && len(row) == 6 {
			row = append(row, texts[(i+5)%len(texts)])
		}
		if err := (tee{a, sink}).Write(tbl, row); err != nil {
			t.Fatal(err)
		}
		written = append(written, row)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if got := b.Counts()["order"]; got != 40 {
		t.Fatalf("files path counts %d rows, want 40", got)
	}
	want, got := cells(t, a), cells(t, b)
	if n := compareCells(t, want, got); n != 40*7 {
		t.Fatalf("compared %d cells, want %d", n, 40*7)
	}
	// And against what was written, so that both paths agreeing on a wrong
	// value is caught too.
	for r, row := range written {
		for c := range 7 {
			var w any
			if c < len(row) {
				w = row[c]
			}
			g := got["order"][r][c]
			switch wv := w.(type) {
			case nil:
				if g != nil {
					t.Errorf("row %d col %d: got %#v, want NULL", r, c, g)
				}
			case time.Time:
				if !sameCell(wv.UTC(), g) {
					t.Errorf("row %d col %d: got %v, want %v", r, c, g, wv)
				}
			case string:
				gs := fmt.Sprint(g)
				if gb, ok := g.([]byte); ok {
					gs = string(gb)
				}
				if gs != wv {
					t.Errorf("row %d col %d: got %q, want %q", r, c, gs, wv)
				}
			default:
				if !sameCell(w, g) {
					t.Errorf("row %d col %d: got %T %#v, want %T %#v", r, c, g, g, w, w)
				}
			}
		}
	}
}

// TestCSVSinkRejectsNUL: CSV cannot carry a NUL byte; the row is refused
// with a reason instead of loaded altered.
func TestCSVSinkRejectsNUL(t *testing.T) {
	_, b, sink := bothWays(t, 1<<20, false)
	tbl := &normalize.Table{Name: "t", Columns: []*normalize.Column{col("s", normalize.Text)}}
	err := sink.Write(tbl, []any{"a\x00b"})
	if err == nil || !strings.Contains(err.Error(), "table t: text holds a NUL byte") {
		t.Fatalf("err = %v", err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if got := b.Counts()["t"]; got != 0 {
		t.Fatalf("%d rows staged", got)
	}
}

// TestCSVSinkBuildsSameAsAppender normalizes simulated builds (every table
// and column the load makes of them) into both paths and compares every cell.
func TestCSVSinkBuildsSameAsAppender(t *testing.T) {
	recs := simBuilds(t, 1500)
	a, b, sink := bothWays(t, 256<<10, true)
	schema := normalize.NewSchema("codefresh")
	schema.EnsureRoot("builds", "builds", "merge", []string{"id"})
	norm := normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"})
	for _, rec := range recs {
		if err := norm.Normalize("builds", rec, tee{a, sink}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	ca, cb := a.Counts(), b.Counts()
	if fmt.Sprint(ca) != fmt.Sprint(cb) || ca["builds"] != 1500 {
		t.Fatalf("counts: appender %v, files %v", ca, cb)
	}
	if n := compareCells(t, cells(t, a), cells(t, b)); n == 0 {
		t.Fatal("no cells compared")
	}
}

func simBuilds(t testing.TB, n int) []map[string]any {
	t.Helper()
	sim := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 20, Builds: n, APIKey: "bench"})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := codefresh.New(codefresh.Options{BaseURL: srv.URL + "/api", APIKey: "bench", RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	builds, _ := codefresh.Lookup("builds")
	var recs []map[string]any
	if err := c.Pages(context.Background(), builds, codefresh.PageOptions{}, func(p *codefresh.Page) error {
		recs = append(recs, p.Records...)
		return nil
	}); err != nil || len(recs) != n {
		t.Fatalf("%v, %d records", err, len(recs))
	}
	return recs
}
