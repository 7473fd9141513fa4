//go:build unix

package duckdb

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// modeOf is a file's permission bits; 0 when it does not exist.
func modeOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// The database file and its WAL are 0600 from the first byte of data on,
// whatever the umask: a first load moved into place, a first load copied,
// and a load into a file something else made readable.
func TestDatabaseFileAndWALArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // DuckDB would make 0644 files
	defer syscall.Umask(old)
	s := orderSchema("merge")
	for _, stageSchema := range []string{testDataset, "main"} {
		t.Run("first load staged in "+stageSchema, func(t *testing.T) {
			d := newDest(t)
			var seen []fs.FileMode
			d.afterStep = func(step string) {
				if m := modeOf(t, d.path+".wal"); m != 0 {
					seen = append(seen, m)
				}
			}
			commit(t, d, pkgFor(s, stageOrdersIn(t, stageSchema, s, load1, order{1, "a", []string{"x"}}), load1, ""))
			if m := modeOf(t, d.path); m != 0o600 {
				t.Fatalf("database file mode %v, want 0600", m)
			}
			for _, m := range seen {
				if m != 0o600 {
					t.Fatalf("WAL mode during the commit %v, want 0600", m)
				}
			}
			if err := os.Chmod(d.path, 0o644); err != nil {
				t.Fatal(err)
			}
			seen = nil
			commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "b", []string{"y"}}), load2, ""))
			if m := modeOf(t, d.path); m != 0o600 {
				t.Fatalf("database file mode after the next load %v, want 0600", m)
			}
			if len(seen) == 0 {
				t.Fatal("the copying commit ran without a WAL: nothing was checked")
			}
			for _, m := range seen {
				if m != 0o600 {
					t.Fatalf("WAL mode during the commit %v, want 0600", m)
				}
			}
			if got := query(t, d, `SELECT count(*) FROM codefresh_data."order"`); got != "2" {
				t.Fatalf("rows = %s", got)
			}
		})
	}
}
