package parquet

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
)

const canary = "cfk-CANARY-7f3a9d1e5b"

// parquetFixture is a Parquet dataset folder holding the conformance loads.
func parquetFixture(t *testing.T) (dataset.Reader, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "codefresh_parquet")
	conformance.Commit(t, New(root, Options{}), "codefresh_data")
	r, err := OpenReader(context.Background(), root, "codefresh_data", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r, root
}

func TestParquetQueryRefusesFileAccess(t *testing.T) {
	r, root := parquetFixture(t)
	dir := filepath.Join(root, "codefresh_data")
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join(dir, "builds", "*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no builds files: %v", err)
	}
	outside := t.TempDir()
	destinationtest.WriteFile(t, filepath.Join(outside, "secret.csv"), "a\n"+canary+"\n")
	destinationtest.WriteFile(t, filepath.Join(root, "beside.csv"), "a\n"+canary+"\n")
	// A file in the folder that no committed load wrote.
	destinationtest.WriteFile(t, filepath.Join(dir, "builds", "1999999999.000001.parquet"), "a\n"+canary+"\n")
	before, beforeOut := destinationtest.FileState(t, root), destinationtest.FileState(t, outside)

	const onlySelect = "only a single SELECT statement is allowed"
	cases := []struct{ sql, want string }{
		{`SELECT * FROM read_parquet('` + files[0] + `')`, "table function read_parquet is not allowed"},
		{`SELECT * FROM read_csv('` + filepath.Join(outside, "secret.csv") + `')`, "access is disabled"},
		{`SELECT * FROM '` + filepath.Join(dir, "builds", "1999999999.000001.parquet") + `'`, "file system operations are disabled"},
		{`SELECT * FROM '` + filepath.Join(outside, "secret.csv") + `'`, "file system operations are disabled"},
		{`SELECT * FROM '` + filepath.Join(dir, "..", "beside.csv") + `'`, "file system operations are disabled"},
		{`COPY (SELECT 1) TO '` + filepath.Join(dir, "builds", "evil.parquet") + `'`, "access is disabled"},
		{`COPY (SELECT 1 AS x) TO '` + files[0] + `' (FORMAT parquet)`, onlySelect + " (got COPY)"},
		{`COPY builds TO '` + filepath.Join(outside, "out.csv") + `'`, "access is disabled"},
		{`CREATE VIEW x AS SELECT 1`, onlySelect + " (got CREATE)"},
		{`ATTACH '` + filepath.Join(dir, "evil.duckdb") + `' AS evil`, onlySelect + " (got ATTACH)"},
		{`SET allowed_directories = ['/']`, onlySelect + " (got SET)"},
		{`SELECT 1; DROP VIEW builds`, onlySelect + " (got more than one statement)"},
	}
	for _, tc := range cases {
		_, err := r.Query(ctx, tc.sql, dataset.QueryOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\n  err = %v\n want %q", tc.sql, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("%s: the error shows the file's content: %v", tc.sql, err)
		}
	}
	if after := destinationtest.FileState(t, root); after != before {
		t.Fatalf("the dataset folder changed:\n%s\n%s", before, after)
	}
	if after := destinationtest.FileState(t, outside); after != beforeOut {
		t.Fatalf("a folder outside changed")
	}
}

func TestParquetReaderAnswers(t *testing.T) {
	r, root := parquetFixture(t)
	ctx := context.Background()
	res, err := r.Query(ctx, `SELECT b.id, count(s._dlt_id) AS steps FROM codefresh_data.builds b
		LEFT JOIN builds__steps s ON s._dlt_root_id = b._dlt_id GROUP BY ALL ORDER BY 1`, dataset.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(res.Rows); string(got) != `[["b1",3],["b2",4],["b3",1],["b4",0],["b5",2]]` {
		t.Fatalf("rows = %s", got)
	}
	if len(res.Provenance) == 0 || res.Provenance[0].Table != "builds" || res.Provenance[0].LoadID != conformance.Load3 {
		t.Fatalf("provenance = %+v", res.Provenance)
	}
	info, err := r.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Destination != "parquet" || info.Location != filepath.Join(root, "codefresh_data") || len(info.Loads) != 3 {
		t.Fatalf("info = %+v", info)
	}
	d, err := r.Describe(ctx, "builds__steps")
	if err != nil || d.Parent == nil || d.Parent.Table != "builds" || d.Rows != 10 {
		t.Fatalf("describe = %+v, %v", d, err)
	}
}

// Files of a load that never reached its commit point are not read.
func TestParquetReaderIgnoresUncommittedFiles(t *testing.T) {
	r, root := parquetFixture(t)
	ctx := context.Background()
	count := func() string {
		res, err := r.Query(ctx, `SELECT count(*) FROM builds`, dataset.QueryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res.Rows)
		return string(b)
	}
	before := count()
	// A crashed load's file: same layout, no _dlt_loads file for its id.
	files, _ := filepath.Glob(filepath.Join(root, "codefresh_data", "builds", "*.parquet"))
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	destinationtest.WriteFile(t, filepath.Join(root, "codefresh_data", "builds", "1999999999.000001.parquet"), string(data))
	destinationtest.WriteFile(t, filepath.Join(root, "codefresh_data", "builds", "1999999999.000002.parquet.tmp"), string(data))
	if got := count(); got != before {
		t.Fatalf("count = %s, want %s", got, before)
	}
}

func TestParquetNoDataYet(t *testing.T) {
	r, err := OpenReader(context.Background(), filepath.Join(t.TempDir(), "none"), "codefresh_data", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Info(context.Background()); !errors.Is(err, dataset.ErrNoData) {
		t.Fatalf("err = %v", err)
	}
	if _, err := r.Query(context.Background(), "SELECT 1", dataset.QueryOptions{}); !errors.Is(err, dataset.ErrNoData) {
		t.Fatalf("err = %v", err)
	}
}
