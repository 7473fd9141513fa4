package duckdb

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
)

// openTarget opens a worker's DuckDB reader.
func openTarget(ctx context.Context, t dataset.Target, h *dataset.Handles) (dataset.Reader, error) {
	return OpenReader(ctx, t.Path, t.Dataset, ReaderOptions{Handles: h})
}

// testIsolation runs workers as this test binary in the given mode.
func testIsolation(t *testing.T, mode string) *dataset.Isolation {
	t.Helper()
	iso := &dataset.Isolation{Command: datasettest.WorkerCommand(mode)}
	t.Cleanup(iso.Close)
	return iso
}

// A statement building one huge value fails with the memory-limit error
// inside its worker, which then serves the next query; the answers match
// the in-process reader's.
func TestIsolatedQueryBoundsHugeValues(t *testing.T) {
	path := datasettest.NewFile(t)
	iso := testIsolation(t, "serve")
	target := dataset.Target{Kind: "duckdb", Path: path, Dataset: datasettest.Dataset}
	opts := dataset.QueryOptions{Timeout: 5 * time.Second}
	for _, sql := range []string{
		`SELECT repeat('x', 2000000000) AS v`,
		`SELECT len(list_value(range(100000000))) AS n`,
	} {
		_, err := iso.Query(context.Background(), target, sql, opts)
		if !errors.Is(err, dataset.ErrMemoryLimit) || !strings.Contains(err.Error(), "Out of Memory Error") {
			t.Errorf("%s: err = %v, want dataset.ErrMemoryLimit from DuckDB", sql, err)
		}
	}
	const sql = `SELECT name, id FROM pipelines ORDER BY id`
	got, err := iso.Query(context.Background(), target, sql, opts)
	if err != nil {
		t.Fatalf("after the failures: %v", err)
	}
	want := mustQuery(t, openReader(t, path), sql, opts)
	got.ElapsedMS, want.ElapsedMS = 0, 0
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("isolated result\n%s\nwant\n%s", g, w)
	}
	// Error kinds survive the process boundary.
	_, err = iso.Query(context.Background(), target, `DROP TABLE pipelines`, opts)
	var refused *dataset.RefusedError
	if !errors.As(err, &refused) || refused.Reason != "only a single SELECT statement is allowed (got DROP)" {
		t.Errorf("refused: %v", err)
	}
	_, err = iso.Query(context.Background(), target, `SELECT count(*) FROM range(100000000000)`, dataset.QueryOptions{Timeout: 500 * time.Millisecond})
	var te *dataset.TimeoutError
	if !errors.As(err, &te) || te.Timeout != 500*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
