package duckfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newDatabase writes a database of one table of n integers and returns its path.
func newDatabase(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "codefresh.duckdb")
	db, err := Open(context.Background(), path, false, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE big AS SELECT range AS x, md5(range::VARCHAR) AS s FROM range(?)`, n); err != nil {
		t.Fatal(err)
	}
	return path
}

// overwrite writes junk over n bytes of path at off.
func overwrite(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(strings.Repeat("\xa5", n)), off); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSaysTheFileIsDamaged(t *testing.T) {
	cases := map[string]struct {
		damage func(t *testing.T, path string)
		detail string
	}{
		"overwritten header":  {func(t *testing.T, path string) { overwrite(t, path, 0, 64) }, "not a valid DuckDB database file"},
		"cut short":           {func(t *testing.T, path string) { os.Truncate(path, 5000) }, "Could not read enough bytes from file"},
		"bad database header": {func(t *testing.T, path string) { overwrite(t, path, 4096+16, 64) }, "Corrupt database file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := newDatabase(t, 1000)
			c.damage(t, path)
			for _, readOnly := range []bool{true, false} {
				_, err := Open(context.Background(), path, readOnly, time.Second)
				var dmg *DamagedError
				if !errors.As(err, &dmg) || dmg.Path != path || !strings.Contains(dmg.Detail, c.detail) {
					t.Fatalf("read-only %v: err = %v, want a DamagedError of %s saying %q", readOnly, err, path, c.detail)
				}
				if want := "database file " + path + " is damaged: IO Error: "; !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("message %q, want it to start %q", err, want)
				}
			}
		})
	}
}

// A damaged data block shows only when a query reads it.
func TestDamagedBlockFoundByQuery(t *testing.T) {
	path := newDatabase(t, 2_000_000)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	overwrite(t, path, st.Size()/2, 4096)
	db, err := Open(context.Background(), path, true, time.Second)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	var n int64
	err = Damaged(path, db.QueryRow("SELECT count(DISTINCT s) FROM big").Scan(&n))
	var dmg *DamagedError
	if !errors.As(err, &dmg) || !strings.Contains(dmg.Detail, "Corrupt database file") {
		t.Fatalf("err = %v, want a DamagedError", err)
	}
}

// Only DuckDB's IO errors count: a query cannot make its own.
func TestDamagedIgnoresOtherErrors(t *testing.T) {
	path := newDatabase(t, 10)
	db, err := Open(context.Background(), path, true, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, qerr := db.Exec("SELECT error('IO Error: Corrupt database file: made up')")
	if qerr == nil {
		t.Fatal("error() did not fail")
	}
	if err := Damaged(path, qerr); err != qerr {
		t.Fatalf("Damaged(%v) = %v, want it unchanged", qerr, err)
	}
	plain := errors.New("IO Error: Corrupt database file")
	if err := Damaged(path, plain); err != plain {
		t.Fatalf("a non-DuckDB error became %v", err)
	}
}
