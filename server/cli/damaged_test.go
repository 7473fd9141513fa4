package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// damage writes junk over the header of the project's database file.
func damage(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "codefresh.duckdb")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(strings.Repeat("\xa5", 64)), 0); err != nil {
		t.Fatal(err)
	}
	return path
}

// A damaged codefresh.duckdb: query, info and load each say the file is
// damaged and to move it aside, never to fix the SQL; moved aside, the next
// load rebuilds it.
func TestDamagedDatabaseFile(t *testing.T) {
	dir := loadedProject(t)
	path := damage(t, dir)
	want := "error: database file " + path + ` is damaged: IO Error: The file "` + path + `" exists, but it is not a valid DuckDB database file!` +
		"\nnext step: move the damaged file aside (mv \"" + path + "\" \"" + path + ".damaged\"); the next `codefresh-mcp load` rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)"
	for _, args := range [][]string{{"query", "SELECT 1"}, {"info"}, {"load", "--demo", "--demo-builds", "10"}} {
		_, err := runIn(t, dir, args...)
		var dmg *duckfile.DamagedError
		if !errors.As(err, &dmg) {
			t.Fatalf("%v: err = %v, want a DamagedError", args, err)
		}
		if args[0] != "load" && errorText(err) != want {
			t.Fatalf("%v: shows\n%s\nwant\n%s", args, errorText(err), want)
		}
		if args[0] == "load" && !strings.HasSuffix(errorText(err), strings.SplitN(want, "\n", 2)[1]) {
			t.Fatalf("load shows\n%s\nwant the same next step", errorText(err))
		}
	}
	// The failed load left a trace: info shows the damage, its next step,
	// and the load's error with the same cause.
	out, err := runIn(t, dir, "info")
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []string{
		"no data to show: " + strings.TrimPrefix(strings.SplitN(want, "\n", 2)[0], "error: "),
		strings.SplitN(want, "\n", 2)[1],
		"  error (damaged_database): ",
	}
	for _, line := range wantLines {
		if !strings.Contains(out, line) {
			t.Fatalf("info output lacks %q:\n%s", line, out)
		}
	}
	if err := os.Rename(path, path+".damaged"); err != nil {
		t.Fatal(err)
	}
	if _, err := runIn(t, dir, "load", "--demo", "--demo-builds", "10"); err != nil {
		t.Fatalf("load after moving the file aside: %v", err)
	}
	out, err = runIn(t, dir, "query", "SELECT count(*) FROM builds")
	if err != nil || !strings.HasPrefix(out, "count_star()\n10\n") {
		t.Fatalf("query after the rebuild = %q, %v", out, err)
	}
}
