package stage

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// TestStageTakesRowsOfLargeText: builds whose pipeline YAML is tens of
// kilobytes. DuckDB pins about 1024 rows of a table while it appends, so at
// the stage's base memory limit rows of 80 KB failed ("failed to pin block")
// after 16,384 of them; the limit now grows with the largest row.
func TestStageTakesRowsOfLargeText(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1.3 GB of text")
	}
	const rows, size = 16_500, 40_000
	ctx := context.Background()
	s := openStage(t)
	tbl := &normalize.Table{Name: "builds", Columns: []*normalize.Column{
		col("id", normalize.Text), col("user_yaml_descriptor", normalize.Text), col("final_workflow_yaml", normalize.Text)}}
	yaml := strings.Repeat("steps:\n  build:\n    image: alpine\n    commands: [echo hi]\n", size/50+1)[:size]
	for i := range rows {
		id := strconv.Itoa(i)
		if err := s.Write(tbl, []any{id, yaml + id, yaml + id + "x"}); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Counts()["builds"]; got != rows {
		t.Fatalf("%d rows staged, want %d", got, rows)
	}
	db, err := s.OpenReadOnly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, long int
	q := `SELECT count(*), count(*) FILTER (WHERE length(final_workflow_yaml) = ` + strconv.Itoa(size) + ` + length(id) + 1) FROM main.builds`
	if err := db.QueryRowContext(ctx, q).Scan(&n, &long); err != nil {
		t.Fatal(err)
	}
	if n != rows || long != rows {
		t.Fatalf("%d rows, %d with their whole text; want %d", n, long, rows)
	}
	if want := memoryFor(2*size + 12); s.memoryMB() < want || want <= baseMemoryMB {
		t.Fatalf("memory limit %d MB, want %d MB (above the base %d MB)", s.memoryMB(), want, baseMemoryMB)
	}
}

// TestMemoryForUsualRowsIsTheBase: rows of usual builds (a few KB) keep the
// stage at its base limit, which the memory benchmark (P4) measures.
func TestMemoryForUsualRowsIsTheBase(t *testing.T) {
	for _, size := range []int{0, 100, 5_500, 15_000} {
		if got := memoryFor(size); got != baseMemoryMB {
			t.Errorf("memoryFor(%d) = %d MB, want the base %d MB", size, got, baseMemoryMB)
		}
	}
	if got := memoryFor(1 << 30); got != maxMemoryMB {
		t.Errorf("memoryFor(1 GiB) = %d MB, want the cap %d MB", got, maxMemoryMB)
	}
}
