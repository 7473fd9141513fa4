package dataset

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
)

// TestMain doubles as a query worker that never answers.
func TestMain(m *testing.M) {
	if os.Getenv("DATASET_TEST_WORKER") == "hang" { // reads requests, never answers
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testIsolation runs workers as this test binary in the given mode.
func testIsolation(t *testing.T, mode string) *Isolation {
	t.Helper()
	iso := &Isolation{Command: datasettest.WorkerCommand(mode)}
	t.Cleanup(iso.Close)
	return iso
}

// A worker that does not answer is killed once its timeout and the grace
// have passed, and the query ends with the timeout error.
func TestIsolatedQueryKillsAWorkerPastItsTimeout(t *testing.T) {
	iso := testIsolation(t, "hang")
	_, err := iso.Query(context.Background(), Target{Kind: "duckdb", Path: "x", Dataset: "d"}, `SELECT 1`, QueryOptions{Timeout: 100 * time.Millisecond})
	var te *TimeoutError
	if !errors.As(err, &te) || err.Error() != "query interrupted after the 100ms timeout: filter with WHERE, aggregate, or add LIMIT" {
		t.Fatalf("err = %v", err)
	}
	iso.mu.Lock()
	defer iso.mu.Unlock()
	if len(iso.idle) != 0 {
		t.Errorf("the killed worker went back to the pool")
	}
}
