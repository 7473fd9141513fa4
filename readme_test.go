package main

import (
	"os"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// TestReadmeListsTheCatalog fails when the README's endpoint table drifts from the catalog.
func TestReadmeListsTheCatalog(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, r := range codefresh.Catalog() {
		row := "| `" + r.Name + "` | `GET " + r.Path + "` |"
		if !strings.Contains(readme, row) {
			t.Errorf("README lacks the catalog row %q", row)
		}
	}
	if !strings.HasPrefix(readme, "# codefresh-mcp\n\n```sh\ngo run . load --demo && go run . query") {
		t.Error("README's first lines no longer give the demo command")
	}
}
