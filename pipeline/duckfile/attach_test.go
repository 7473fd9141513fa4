package duckfile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
