package stage

import (
	"context"
	"fmt"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// dedupTables are a root keyed by id and a child of list items.
func dedupTables() (root, child *normalize.Table) {
	root = &normalize.Table{Name: "pipelines", Columns: []*normalize.Column{
		col("id", normalize.Text), col("name", normalize.Text), col("_dlt_id", normalize.Text)}}
	child = &normalize.Table{Name: "pipelines__tags", Parent: "pipelines", Columns: []*normalize.Column{
		col("value", normalize.Text), col("_dlt_root_id", normalize.Text), col("_dlt_id", normalize.Text)}}
	return root, child
}

// rowsOf is query with NULL written as NULL.
func rowsOf(t *testing.T, s *Stage, q string) string {
	t.Helper()
	return queryCells(t, s, nullAsNULL, q)
}

// nullAsNULL writes a NULL as NULL.
func nullAsNULL(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(v)
}

func TestDedupKeepsLastRowOfEachKeyWithItsChildren(t *testing.T) {
	s := openStage(t)
	root, child := dedupTables()
	write := func(id any, name, rowID string, tags ...string) {
		t.Helper()
		if err := s.Write(root, []any{id, name, rowID}); err != nil {
			t.Fatal(err)
		}
		for _, tag := range tags {
			if err := s.Write(child, []any{tag, rowID, rowID + "-" + tag}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("a", "a1", "r1", "x", "y")
	write("b", "b1", "r2", "z")
	write("a", "a2", "r3", "w")
	write(nil, "n1", "r4", "n")
	write(nil, "n2", "r5")
	// A flush between the copies, as between two pages.
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	write("a", "a3", "r6", "v")
	write("c", "c1", "r7")

	n, err := s.Dedup(context.Background(), "pipelines", []string{"id"}, []string{"pipelines__tags"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("deleted %d root rows, want 2", n)
	}
	if got, want := rowsOf(t, s, `SELECT id, name FROM main.pipelines ORDER BY rowid`), "b,b1;NULL,n1;NULL,n2;a,a3;c,c1"; got != want {
		t.Fatalf("roots = %s, want %s", got, want)
	}
	if got, want := rowsOf(t, s, `SELECT _dlt_root_id, value FROM main.pipelines__tags ORDER BY rowid`), "r2,z;r4,n;r6,v"; got != want {
		t.Fatalf("children = %s, want %s", got, want)
	}
	if c := s.Counts(); c["pipelines"] != 5 || c["pipelines__tags"] != 3 {
		t.Fatalf("counts = %v, want 5 roots and 3 children", c)
	}
	// Writing goes on after a dedup; a second dedup finds nothing more.
	write("d", "d1", "r8")
	if n, err := s.Dedup(context.Background(), "pipelines", []string{"id"}, []string{"pipelines__tags"}); err != nil || n != 0 {
		t.Fatalf("second dedup = %d, %v; want 0, nil", n, err)
	}
	if got := s.Counts()["pipelines"]; got != 6 {
		t.Fatalf("count after another write = %d, want 6", got)
	}
}

func TestDedupCompositeKeyAndChildWithSourceID(t *testing.T) {
	s := openStage(t)
	root := &normalize.Table{Name: "triggers", Columns: []*normalize.Column{
		col("event", normalize.Text), col("pipeline", normalize.Text), col("_dlt_id", normalize.Text)}}
	child := &normalize.Table{Name: "triggers__x", Parent: "triggers", Columns: []*normalize.Column{
		col("value", normalize.Text), col("_dlt_root_id", normalize.Text), col("_dlt_id", normalize.Text)}}
	for _, r := range [][]any{{"push", "p1", "same"}, {"push", "p2", "r2"}, {"push", "p1", "same"}} {
		if err := s.Write(root, r); err != nil {
			t.Fatal(err)
		}
	}
	// Both copies carry the source's _dlt_id "same": the kept one keeps its child.
	if err := s.Write(child, []any{"kept", "same", "c1"}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Dedup(context.Background(), "triggers", []string{"event", "pipeline"}, []string{"triggers__x"})
	if err != nil || n != 1 {
		t.Fatalf("dedup = %d, %v; want 1, nil", n, err)
	}
	if got, want := rowsOf(t, s, `SELECT pipeline, _dlt_id FROM main.triggers ORDER BY rowid`), "p2,r2;p1,same"; got != want {
		t.Fatalf("roots = %s, want %s", got, want)
	}
	if got := rowsOf(t, s, `SELECT value, _dlt_root_id FROM main.triggers__x`); got != "kept,same" {
		t.Fatalf("children = %s, want the kept row's child", got)
	}
}

func TestDedupWithoutKeysRefused(t *testing.T) {
	s := openStage(t)
	if _, err := s.Dedup(context.Background(), "pipelines", nil, nil); err == nil || err.Error() != "stage: dedup needs the primary key columns" {
		t.Fatalf("err = %v", err)
	}
}
