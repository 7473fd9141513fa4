package stage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Root and child tables, more than lanes, written through Async with their rows
// interleaved and columns added on the way, across a flush: every table
// holds exactly its rows, in write order (Dedup relies on rowid order).
func TestAsyncLanesKeepEveryTableWholeAndInOrder(t *testing.T) {
	s := openStage(t)
	ctx := context.Background()
	const ntables, perTable = 2*lanes + 3, 3000
	tbls := make([]*normalize.Table, ntables)
	seen := map[int]bool{}
	for i := range tbls {
		tbls[i] = &normalize.Table{Name: fmt.Sprintf("t%02d", i), Columns: []*normalize.Column{col("seq", normalize.Bigint)}}
		if i%3 != 0 {
			tbls[i].Parent = "t00"
		}
		l := Lane(tbls[i])
		if (l == 0) != (tbls[i].Parent == "") {
			t.Fatalf("%s (parent %q) is on lane %d: roots go on lane 0, children on the others", tbls[i].Name, tbls[i].Parent, l)
		}
		seen[l] = true
	}
	if len(seen) != lanes {
		t.Fatalf("%d tables use %d lanes, want %d", ntables, len(seen), lanes)
	}
	for round := range 2 {
		a := NewAsync(s)
		for n := range perTable {
			seq := int64(round*perTable + n)
			for i, tbl := range tbls {
				if n == perTable/2 && round == 0 && i%2 == 0 {
					tbl.Columns = append(tbl.Columns, col("tag", normalize.Text))
				}
				row := []any{seq}
				if len(tbl.Columns) > 1 {
					row = append(row, fmt.Sprintf("%s-%d", tbl.Name, seq))
				}
				if err := a.Write(tbl, row); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := a.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const total = 2 * perTable
	for i, tbl := range tbls {
		if got := s.Counts()[tbl.Name]; got != total {
			t.Fatalf("%s: Counts = %d, want %d", tbl.Name, got, total)
		}
		// seq equals the row's position: written in order, nothing lost or doubled.
		q := fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE seq = rn - 1), count(tag)
			FROM (SELECT seq, %s AS tag, row_number() OVER (ORDER BY rowid) AS rn FROM %s)`,
			map[bool]string{true: "tag", false: "NULL"}[i%2 == 0], tbl.Name)
		wantTags := 0
		if i%2 == 0 {
			wantTags = total - perTable/2
		}
		if got, want := query(t, s, q), fmt.Sprintf("%d,%d,%d", total, total, wantTags); got != want {
			t.Fatalf("%s: count, in order, tagged = %s, want %s", tbl.Name, got, want)
		}
	}
	if cols := s.Columns("t03"); len(cols) != 1 || cols[0].Name != "seq" {
		t.Fatalf("t03 columns = %+v, want seq only", cols)
	}
}

// A release that cannot commit every lane leaves the file possibly holding
// part of the rows: the stage then refuses to be written, flushed, deduped
// or moved into place.
func TestFailedReleaseBreaksTheStage(t *testing.T) {
	s := openStage(t)
	for i := range 3 {
		tbl := &normalize.Table{Name: fmt.Sprintf("t%d", i), Columns: []*normalize.Column{col("v", normalize.Bigint)}}
		if err := s.Write(tbl, []any{int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Flush(ctx)
	if err == nil {
		t.Fatal("flush with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("flush: err = %v, want context.Canceled", err)
	}
	want := "an earlier release failed"
	tbl := &normalize.Table{Name: "t0", Columns: []*normalize.Column{col("v", normalize.Bigint)}}
	if err := s.Write(tbl, []any{int64(9)}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("write after a failed release: err = %v", err)
	}
	if err := s.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("flush after a failed release: err = %v", err)
	}
	if _, err := s.Dedup(context.Background(), "t0", []string{"v"}, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("dedup after a failed release: err = %v", err)
	}
	dst := filepath.Join(t.TempDir(), "dest.duckdb")
	if err := s.MoveTo(context.Background(), dst); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("move after a failed release: err = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close after a failed release: %v", err)
	}
}

// A batch goes to its lane's writer at batchRows rows or at batchBytes of
// text, whichever comes first: rows of builds with a large pipeline YAML do
// not wait batchRows at a time (queueBatches of them per lane).
func TestAsyncBatchesAreBoundedByText(t *testing.T) {
	s := openStage(t)
	a := NewAsync(s)
	tbl := &normalize.Table{Name: "builds", Columns: []*normalize.Column{col("id", normalize.Text), col("yaml", normalize.Text)}}
	w := a.lanes[Lane(tbl)]
	small := strings.Repeat("y", 100)
	for i := range batchRows - 1 {
		if err := a.Write(tbl, []any{fmt.Sprint(i), small}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(w.cur.ops); got != batchRows-1 {
		t.Fatalf("%d small rows wait in the batch, want %d", got, batchRows-1)
	}
	if err := a.Write(tbl, []any{"big", strings.Repeat("y", batchBytes)}); err != nil {
		t.Fatal(err)
	}
	if got := len(w.cur.ops); got != 0 {
		t.Fatalf("%d rows still wait after %d bytes of text, want the batch sent", got, batchBytes)
	}
	for i := range 3 {
		if err := a.Write(tbl, []any{fmt.Sprint("big", i), strings.Repeat("y", batchBytes/2+1)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(w.cur.ops); got != 1 {
		t.Fatalf("%d rows of over half the bound wait, want 1 (sent in twos)", got)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.Counts()["builds"]; got != batchRows+3 {
		t.Fatalf("%d rows staged, want %d", got, batchRows+3)
	}
}
