package duckfile_test

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

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// rowGroups counts the row groups of table t in the file at path.
func rowGroups(t *testing.T, path string) int {
	t.Helper()
	db, err := duckfile.Open(context.Background(), path, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('s.t')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A file opened with OpenWrite keeps its small row groups across later
// writes and checkpoints, is the default catalog under the name DuckDB gives
// it when opened by path, and spills next to itself.
func TestOpenWriteKeepsRowGroups(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ds.duckdb")
	db, err := duckfile.OpenWrite(ctx, path, 0, nil, "threads=1")
	if err != nil {
		t.Fatal(err)
	}
	var catalog, temp string
	if err := db.QueryRow("SELECT current_database(), current_setting('temp_directory')").Scan(&catalog, &temp); err != nil {
		t.Fatal(err)
	}
	if catalog != "ds" || temp != path+".tmp" {
		t.Errorf("catalog %q, temp_directory %q; want ds, %s.tmp", catalog, temp, path)
	}
	rows := 3 * duckfile.RowGroupSize
	if _, err := db.Exec("CREATE SCHEMA s; CREATE TABLE s.t AS SELECT range AS a, range::VARCHAR AS b FROM range(?)", rows); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".wal"); !os.IsNotExist(err) {
		t.Errorf("WAL left after close: %v", err)
	}
	if n := rowGroups(t, path); n != 3 {
		t.Fatalf("row groups after create: %d, want 3", n)
	}
	db, err = duckfile.OpenWrite(ctx, path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO s.t VALUES (-1, 'x'); CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := rowGroups(t, path); n < 3 {
		t.Errorf("row groups after a second write: %d, want them kept (>= 3)", n)
	}
}

// OpenWrite waits for a held file and reports it as Open does.
func TestOpenWriteLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ds.duckdb")
	holder, err := duckfile.Open(ctx, path, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	db, err := duckfile.OpenWrite(ctx, path, 300*time.Millisecond, nil)
	if err == nil {
		db.Close()
		t.Fatal("opened a held file")
	}
	var locked *duckfile.LockedError
	if !errors.As(err, &locked) {
		t.Errorf("error %v (%T), want a LockedError", err, err)
	}
}

// OpenWrite maps a file that is not a database as Open does.
func TestOpenWriteDamaged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ds.duckdb")
	if err := os.WriteFile(path, []byte("not a database, not at all, just some text"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, want := duckfile.Open(ctx, path, false, time.Second)
	_, got := duckfile.OpenWrite(ctx, path, time.Second, nil)
	if want == nil || got == nil || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
		t.Errorf("OpenWrite: %v (%T); Open: %v (%T)", got, got, want, want)
	}
}

// longStrings writes 3000 rows of an 8 KB string repeated among 20 values
// into s.y of the file opened as db, and returns the compressions of that
// column and the file's size after closing.
func longStrings(t *testing.T, db *sql.DB, path string) (string, int64) {
	t.Helper()
	q := `CREATE SCHEMA IF NOT EXISTS s; CREATE TABLE s.y AS SELECT i AS id, repeat('steps: build-' || (i % 20)::VARCHAR || ' image: alpine commands: [make test] ', 150) AS yaml FROM range(3000) t(i); CHECKPOINT`
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
	var comps string
	if err := db.QueryRow(`SELECT string_agg(DISTINCT compression, ',' ORDER BY compression) FROM pragma_storage_info('s.y') WHERE column_name = 'yaml'`).Scan(&comps); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return comps, fi.Size()
}

// A file OpenWrite creates has StorageVersion's format, which compresses
// long strings (a builds table's pipeline YAML) that DuckDB's default
// format stores as they are; a file made in the default format still opens
// and takes rows.
func TestOpenWriteCreatesTheStorageVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.duckdb")
	db, err := duckfile.OpenWrite(ctx, path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	comps, size := longStrings(t, db, path)
	if strings.Contains(comps, "Uncompressed") || size > 4<<20 {
		t.Errorf("new file: long strings stored %s, file %d bytes; want them compressed", comps, size)
	}

	old := filepath.Join(t.TempDir(), "old.duckdb")
	db, err = duckfile.Open(ctx, old, false, 0) // DuckDB's default format
	if err != nil {
		t.Fatal(err)
	}
	comps, size = longStrings(t, db, old)
	if !strings.Contains(comps, "Uncompressed") || size < 20<<20 {
		t.Errorf("default format: long strings stored %s, file %d bytes; want them as they are (the reason for StorageVersion)", comps, size)
	}
	db, err = duckfile.OpenWrite(ctx, old, 0, nil)
	if err != nil {
		t.Fatalf("a file of the default format: %v", err)
	}
	var n int
	if err := db.QueryRow("INSERT INTO s.y VALUES (-1, 'x'); SELECT count(*) FROM s.y").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 3001 {
		t.Fatalf("%d rows after an insert into the old file, want 3001", n)
	}
}
