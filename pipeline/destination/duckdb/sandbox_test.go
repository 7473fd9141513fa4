package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile/duckfiletest"
)

const canary = "cfk-CANARY-7f3a9d1e5b"

// Every hostile statement is refused with a message saying what is allowed,
// and leaves the folder exactly as it was: same file bytes, nothing created;
// on the file opened read-only, and on a server's database open read-write
// for a load's commit (shared.go).
func TestQueryRefusesHostileStatements(t *testing.T) {
	t.Run("read-only file", func(t *testing.T) { refusesHostile(t, openReader) })
	t.Run("a server's database while a load commits", func(t *testing.T) { refusesHostile(t, openWhileWriting) })
}

// openWhileWriting is a reader of a server whose load holds path open for
// its commit, with a staging folder of its own allowed.
func openWhileWriting(t *testing.T, path string) dataset.Reader {
	t.Helper()
	h := dataset.NewHandles(0)
	stageDir := t.TempDir() + string(filepath.Separator)
	_, release, err := h.AcquireWrite(context.Background(), path+"?write", path, time.Second, func(ctx context.Context) (*sql.DB, error) {
		return openShared(ctx, path, time.Second, []string{stageDir})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(); h.Close() })
	if !h.Writing(path) {
		t.Fatal("the handles do not say the file is open for writing")
	}
	r, err := OpenReader(context.Background(), path, datasettest.Dataset, ReaderOptions{Handles: h})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func refusesHostile(t *testing.T, openReader func(*testing.T, string) dataset.Reader) {
	path := datasettest.NewFile(t)
	dir := filepath.Dir(path)
	in := func(name string) string { return filepath.Join(dir, name) }
	t.Setenv("CFMCP_TEST_SECRET", canary)
	outside := t.TempDir() // a second folder a statement might try to write into
	out := func(name string) string { return filepath.Join(outside, name) }
	destinationtest.WriteFile(t, out("data.parquet"), "not parquet")
	destinationtest.WriteFile(t, out("data.json"), `{"a":1}`)
	before, beforeOut := destinationtest.FileState(t, dir), destinationtest.FileState(t, outside)
	r := openReader(t, path)

	const onlySelect = "only a single SELECT statement is allowed"
	const noFiles = "file, network and extension access is disabled"
	// engine: DuckDB itself rejects it (no such function or table), not the sandbox.
	cases := []struct {
		sql, want string
		engine    bool
	}{
		{`CREATE TABLE x(a INT)`, onlySelect + " (got CREATE)", false},
		{`CREATE TEMP TABLE x AS SELECT 1`, onlySelect + " (got CREATE)", false},
		{`CREATE MACRO m(a) AS a`, onlySelect + " (got CREATE)", false},
		{`INSERT INTO pipelines (id, _dlt_load_id, _dlt_id) VALUES ('x', 'l', 'd')`, onlySelect + " (got INSERT)", false},
		{`UPDATE pipelines SET name = 'x'`, onlySelect + " (got UPDATE)", false},
		{`DELETE FROM pipelines`, onlySelect + " (got DELETE)", false},
		{`DROP TABLE pipelines`, onlySelect + " (got DROP)", false},
		{`ALTER TABLE pipelines ADD COLUMN z INT`, onlySelect + " (got ALTER)", false},
		{`SELECT 1; DROP TABLE pipelines`, onlySelect + " (got more than one statement)", false},
		{`SELECT 1; SELECT 2`, onlySelect + " (got more than one statement)", false},
		{`EXPLAIN ANALYZE DELETE FROM pipelines`, onlySelect + " (got EXPLAIN)", false},
		{`EXPLAIN ANALYZE INSERT INTO pipelines (id, _dlt_load_id, _dlt_id) VALUES ('x', 'l', 'd')`, onlySelect + " (got EXPLAIN)", false},
		{`SELECT * FROM read_csv('/etc/passwd')`, noFiles, false},
		{`SELECT * FROM '/etc/passwd'`, `"/etc/passwd" is a file or URL, and ` + noFiles, false},
		{`SELECT * FROM 'https://example.com/x.csv'`, noFiles, false},
		{`SELECT * FROM '` + out("data.parquet") + `'`, noFiles, false},
		{`SELECT * FROM no_such_table`, "Table with name no_such_table does not exist", true},
		{`SELECT * FROM read_text('/etc/passwd')`, noFiles, false},
		{`SELECT * FROM read_blob('/etc/passwd')`, noFiles, false},
		{`SELECT * FROM read_parquet('` + out("data.parquet") + `')`, noFiles, false},
		{`SELECT * FROM read_json('` + out("data.json") + `')`, noFiles, false},
		{`SELECT * FROM glob('/*')`, noFiles, false},
		{`SELECT * FROM sniff_csv('/etc/passwd')`, "table function sniff_csv is not allowed", false},
		{`ATTACH '` + in("evil.duckdb") + `' AS evil`, onlySelect + " (got ATTACH)", false},
		{`DETACH codefresh`, onlySelect + " (got DETACH)", false},
		{`USE main`, onlySelect + " (got SET)", false},
		{`COPY pipelines TO '` + out("out.csv") + `'`, "", false},
		{`COPY (SELECT 1) TO '` + in("out.csv") + `'`, "", false},
		{`EXPORT DATABASE '` + out("export") + `'`, "", false},
		{`INSTALL httpfs`, onlySelect + " (got LOAD/INSTALL)", false},
		{`LOAD httpfs`, onlySelect + " (got LOAD/INSTALL)", false},
		{`SET enable_external_access = true`, onlySelect + " (got SET)", false},
		{`SET threads = 1`, onlySelect + " (got SET)", false},
		{`RESET lock_configuration`, onlySelect + " (got SET)", false},
		{`SET VARIABLE v = 1`, onlySelect + " (got SET)", false},
		{`PRAGMA profiling_output = '` + out("profile.json") + `'`, onlySelect + " (got SET)", false},
		{`PRAGMA force_checkpoint`, onlySelect + " (got PRAGMA)", false},
		{`CALL duckdb_tables()`, onlySelect + " (got CALL)", false},
		{`CHECKPOINT`, onlySelect + " (got CALL)", false},
		{`VACUUM`, onlySelect + " (got VACUUM)", false},
		{`BEGIN TRANSACTION`, onlySelect + " (got TRANSACTION)", false},
		{`PREPARE p AS SELECT 1`, onlySelect + " (got PREPARE)", false},
		{`SELECT * FROM query('DROP TABLE pipelines')`, "single SELECT", true},
		{`SELECT getenv('CFMCP_TEST_SECRET')`, "getenv does not exist", true},
		{`SELECT * FROM duckdb_secrets()`, "table function duckdb_secrets is not allowed", false},
		{`FROM enable_logging(storage = 'stdout')`, "table function enable_logging is not allowed", false},
		{`CALL enable_logging(storage = 'stdout')`, onlySelect + " (got CALL)", false},
		{`SELECT * FROM (FROM checkpoint())`, "table function checkpoint is not allowed", false},
		{`SUMMARIZE FROM force_checkpoint()`, "table function force_checkpoint is not allowed", false},
		{`SELECT * FROM query('FROM enable_logging(storage=''stdout'')')`, "table function query is not allowed", false},
		{`PRAGMA show_tables`, "only a single plain SELECT statement is allowed", false},
		{`SELECT ?`, "query parameters", false},
		{`  -- nothing`, "empty query", false},
		{``, "empty query", false},
	}
	for _, c := range cases {
		res, err := r.Query(context.Background(), c.sql, dataset.QueryOptions{})
		if err == nil {
			t.Errorf("%s: ran, returned %v", c.sql, res.Rows)
			continue
		}
		if c.want != "" && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got error %q\nwant it to say %q", c.sql, err, c.want)
		}
		var refused *dataset.RefusedError
		if !c.engine && !errors.As(err, &refused) {
			t.Errorf("%s: error %q is not a RefusedError", c.sql, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error shows the secret", c.sql)
		}
	}
	if after := destinationtest.FileState(t, dir); after != before {
		t.Errorf("project folder changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	if after := destinationtest.FileState(t, outside); after != beforeOut {
		t.Errorf("outside folder changed:\nbefore\n%s\nafter\n%s", beforeOut, after)
	}
	// The data is all still there.
	if res := mustQuery(t, r, `SELECT count(*) FROM pipelines`, dataset.QueryOptions{}); asJSON(t, res.Rows) != `[[2]]` {
		t.Errorf("pipelines after the attempts: %v", res.Rows)
	}
}

// Harmless read-only forms DuckDB types as SELECT still work.
func TestQueryAllowsSelectForms(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))
	for q, want := range map[string]string{
		`FROM pipelines SELECT count(*)`:            `[[2]]`,
		`VALUES (1, 'a')`:                           `[[1,"a"]]`,
		`SELECT 1;`:                                 `[[1]]`,
		`SELECT ';' AS s -- ; DROP TABLE pipelines`: `[[";"]]`,
		`SELECT count(*) FROM (DESCRIBE pipelines)`: `[[6]]`,
		`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'codefresh_data'`: `[[7]]`,
		`SELECT current_setting('enable_external_access')`:                                     `[[false]]`,
	} {
		if res := mustQuery(t, r, q, dataset.QueryOptions{}); asJSON(t, res.Rows) != want {
			t.Errorf("%s: rows %s, want %s", q, asJSON(t, res.Rows), want)
		}
	}
}

// Concurrent calls in one process share DuckDB's instance of the file; all
// must work, sandboxed.
func TestConcurrentQueries(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			res, err := r.Query(context.Background(), `SELECT count(*) FROM builds, range(1000000)`, dataset.QueryOptions{})
			if err == nil && (len(res.Rows) != 1 || res.Rows[0][0] != int64(3000000)) {
				err = fmt.Errorf("rows %v", res.Rows)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if _, err := r.Query(context.Background(), `SELECT * FROM read_text('/etc/passwd')`, dataset.QueryOptions{}); err == nil {
		t.Error("file read allowed after concurrent use")
	}
}

// TestMain doubles as the helper process that holds a DuckDB file open
// for writing, as a load in another process does (duckfiletest), and as a
// query worker.
func TestMain(m *testing.M) {
	if code, holder := duckfiletest.Serve(); holder {
		os.Exit(code)
	}
	switch os.Getenv("DATASET_TEST_WORKER") {
	case "serve":
		if err := dataset.ServeWorker(context.Background(), os.Stdin, os.Stdout, openTarget); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestQueryWaitsForABriefLoad(t *testing.T) {
	path := datasettest.NewFile(t)
	r, err := OpenReader(context.Background(), path, "codefresh_data", ReaderOptions{LockWait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	duckfiletest.Start(t, path, 700) // releases by itself, like a commit
	res, err := r.Query(context.Background(), `SELECT count(*) FROM builds`, dataset.QueryOptions{})
	if err != nil {
		t.Fatalf("query during a brief load: %v", err)
	}
	if asJSON(t, res.Rows) != `[[3]]` {
		t.Errorf("rows %v", res.Rows)
	}
}

func TestQueryNamesTheProcessHoldingTheFile(t *testing.T) {
	path := datasettest.NewFile(t)
	r, err := OpenReader(context.Background(), path, "codefresh_data", ReaderOptions{LockWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pid, release := duckfiletest.Start(t, path, 0)
	_, err = r.Query(context.Background(), `SELECT 1`, dataset.QueryOptions{})
	var locked *duckfile.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("err = %v, want a LockedError", err)
	}
	if want := fmt.Sprintf("PID %d", pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	release()
	if _, err := r.Info(context.Background()); err != nil {
		t.Errorf("after the holder left: %v", err)
	}
}
