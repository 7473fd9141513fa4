package cli

import (
	"errors"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

func TestSummaryLine(t *testing.T) {
	tables := map[string]destination.TableStats{
		"builds":         {Inserted: 1200, Deleted: 7},
		"builds__steps":  {Inserted: 34},
		"pipelines":      {Inserted: 0, Deleted: 12},
		"build_logs":     {Inserted: 1000000},
		"build_steps":    {},
		"projects":       {Inserted: 1},
		"builds__labels": {Inserted: 999},
	}
	locked := &duckfile.LockedError{Path: "/p/codefresh.duckdb", Holder: "codefresh-mcp (PID 7)", Waited: 2 * time.Second}
	for _, c := range []struct {
		name    string
		info    *pipeline.LoadInfo
		err     error
		elapsed time.Duration
		want    string
	}{
		{"succeeded", &pipeline.LoadInfo{LoadID: "1715000000.000001", Status: trace.LoadSucceeded, Tables: tables, Duration: 3249 * time.Millisecond}, nil, 0,
			"codefresh-mcp load 1715000000.000001: succeeded, 7 tables, 1,002,234 rows, 3.2 s"},
		{"one table", &pipeline.LoadInfo{LoadID: "1", Status: trace.LoadSucceeded, Tables: map[string]destination.TableStats{"projects": {Inserted: 3}}, Duration: 50 * time.Millisecond}, nil, 0,
			"codefresh-mcp load 1: succeeded, 1 table, 3 rows, 0.1 s"},
		{"completed with errors", &pipeline.LoadInfo{LoadID: "2", Status: trace.LoadCompletedWithErrors, Tables: map[string]destination.TableStats{"builds": {Inserted: 412}},
			Resources: []pipeline.ResourceInfo{{Name: "builds", Status: trace.StatusLoaded}, {Name: "build_logs", Status: trace.StatusFailed, Cause: trace.CauseLogStorage}},
			Duration:  61 * time.Second}, nil, 0,
			"codefresh-mcp load 2: completed with errors (build_logs (log_storage) failed), 1 table, 412 rows, 61.0 s"},
		{"dry run", &pipeline.LoadInfo{LoadID: "3", DryRun: true, Pages: 1500, Duration: 900 * time.Millisecond}, nil, 0,
			"codefresh-mcp load 3: dry run, nothing committed, 1,500 pages, 0.9 s"},
		{"failed on the lock", &pipeline.LoadInfo{LoadID: "4", Status: trace.LoadFailed}, locked, 2100 * time.Millisecond,
			"codefresh-mcp load 4: failed (lock), nothing committed, 2.1 s"},
		{"failed before a load id", nil, &pipeline.ConfigError{Key: "dataset_name", Msg: "bad", Err: errors.New("bad")}, 10 * time.Millisecond,
			"codefresh-mcp load: failed (config), nothing committed, 0.0 s"},
	} {
		if got := summaryLine(c.info, c.err, c.elapsed); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 20931: "20,931", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
