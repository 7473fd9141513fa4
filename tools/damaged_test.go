package tools_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A damaged DuckDB file: every reading tool says so and what the user does
// about it, never "fix the SQL".
func TestDamagedDatabaseFile(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.load("pipelines")
	path := filepath.Join(e.dir, "codefresh.duckdb")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(strings.Repeat("\xa5", 64)), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := "database file " + path + ` is damaged: IO Error: The file "` + path + `" exists, but it is not a valid DuckDB database file!` +
		"\nNext: the DuckDB file is damaged, so nothing can be read from it: ask the user to move " + path +
		" aside (e.g. rename it to codefresh.duckdb.damaged); start_load then rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)"
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"query", map[string]any{"sql": "SELECT 1"}},
		{"pipeline_info", nil},
		{"describe_table", map[string]any{"table": "pipelines"}},
	} {
		if got := e.fail(call.tool, call.args); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", call.tool, got, want)
		}
	}
}
