package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/server/bench"
)

func readReadme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeListsTheCatalog fails when the README's endpoint table drifts
// from the catalog: the section is what `docs` generates.
func TestReadmeListsTheCatalog(t *testing.T) {
	readme := readReadme(t)
	section, err := readmeSection(readme, "endpoints")
	if err != nil {
		t.Fatal(err)
	}
	if section != endpointsMarkdown(codefresh.Catalog()) {
		t.Error("README.md endpoints section is stale: run `go run . docs --write README.md`")
	}
	for _, r := range codefresh.Catalog() {
		row := "| `" + r.Name + "` | `GET " + r.Path + "` |"
		if !strings.Contains(section, row) {
			t.Errorf("README lacks the catalog row %q", row)
		}
	}
	if !strings.HasPrefix(readme, "# codefresh-mcp\n\n```sh\ngo run . load --demo && go run . query") {
		t.Error("README's first lines no longer give the demo command")
	}
	for _, lib := range []string{"Asked for by the user:", "mark3labs/mcp-go", "invopop/jsonschema", "zalando/go-keyring", "duckdb/duckdb-go"} {
		if !strings.Contains(readme, lib) {
			t.Errorf("README no longer states the packages the user asked for (%q)", lib)
		}
	}
}

// TestReadmeBenchSection: the README has the section `bench --write-readme`
// rewrites, in the form it writes. The figures are whatever the last run gave.
func TestReadmeBenchSection(t *testing.T) {
	section, err := readmeSection(readReadme(t), "bench")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkBenchSection(section); err != nil {
		t.Errorf("README.md bench section: %v", err)
	}
	generated := benchMarkdown(&bench.Report{Figures: []bench.Figure{{Bench: "P1 | x", Goal: ">= 0.6x", Value: "0.6x"}}, Conditions: "P1 10 builds"}, time.Now())
	if err := checkBenchSection(generated); err != nil {
		t.Errorf("benchMarkdown wrote %q: %v", generated, err)
	}
}

// checkBenchSection checks a bench section's form: the table of figures,
// three cells a row, at least one row.
func checkBenchSection(s string) error {
	_, table, ok := strings.Cut(s, "\n"+benchHeader)
	if !ok {
		return fmt.Errorf("no table headed %q", benchHeader)
	}
	rows := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(rows) == 0 || rows[0] == "" {
		return fmt.Errorf("no figures")
	}
	for _, row := range rows {
		cells := strings.Split(strings.ReplaceAll(row, `\|`, ""), "|")
		if !strings.HasPrefix(row, "| ") || !strings.HasSuffix(row, " |") || len(cells) != 5 {
			return fmt.Errorf("row %q is not three cells", row)
		}
	}
	return nil
}

// TestWriteReadmeSections: a section is replaced between its markers and
// nowhere else; a README without them is refused.
func TestWriteReadmeSections(t *testing.T) {
	path := t.TempDir() + "/README.md"
	os.WriteFile(path, []byte("top\n<!-- a:start -->old a<!-- a:end -->\nmid\n<!-- b:start -->\nold b\n<!-- b:end -->\n"), 0o644)
	if err := rewriteReadme(path, map[string]string{"a": "\nnew a\n", "b": ""}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "top\n<!-- a:start -->\nnew a\n<!-- a:end -->\nmid\n<!-- b:start --><!-- b:end -->\n"; string(got) != want {
		t.Errorf("rewritten:\n%s\nwant\n%s", got, want)
	}
	if err := rewriteReadme(path, map[string]string{"c": "x"}); err == nil {
		t.Error("a section without markers was written")
	}
}
