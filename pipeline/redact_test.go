package pipeline_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// spelled tells whether s holds the canary in any spelling JSON allows.
func spelled(s string) bool {
	return secrets.NewRedactor(canary).Redact(s) != s
}

// Issue 19 item 8: a key the API echoes back, plainly or JSON-escaped, is
// redacted before anything is stored: tables, state, trace, debug record.
func TestEchoedKeyStoredNowhere(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 4, Builds: 10, Deviations: cfsim.Deviations{EchoKey: "/pipelines"}}, nil)
	rec := filepath.Join(f.proj.Dir, "load.jsonl")
	info := f.run(pipeline.Options{Resources: []string{"pipelines", "builds"}, Record: rec})

	// Every echo field arrived and was redacted, not dropped.
	got := f.rows(`SELECT echo_plain, echo_escaped, echo_mixed, echo_nested FROM codefresh_data.pipelines LIMIT 1`)
	want := []string{secrets.Redacted, secrets.Redacted, secrets.Redacted, `{"token":"` + secrets.Redacted + `"}`}
	if strings.Join(got[0], "|") != strings.Join(want, "|") {
		t.Fatalf("echo fields = %q, want %q", got[0], want)
	}
	for _, r := range f.rows(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'codefresh_data'`) {
		for _, row := range f.rows(`SELECT * FROM codefresh_data."` + r[0] + `"`) {
			if spelled(strings.Join(row, "\x00")) {
				t.Fatalf("table %s holds the key: %q", r[0], row)
			}
		}
	}
	var files int
	err := filepath.WalkDir(f.proj.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".duckdb") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if spelled(string(b)) {
			t.Errorf("%s holds the key", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 { // the trace and the record at least
		t.Fatalf("checked %d files", files)
	}
	if b, err := os.ReadFile(rec); err != nil || !strings.Contains(string(b), `\"echo_escaped\":\"`+secrets.Redacted+`\"`) {
		t.Fatalf("the record lacks the redacted echo (%v): %.2000s", err, b)
	}
	if tr, err := f.proj.Trace(info.LoadID); err != nil || tr.Status != trace.LoadSucceeded {
		t.Fatalf("trace = %+v, %v", tr, err)
	}
}
