package civiews

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeOutcomeTable: the README's table of outcomes is the mapping
// the views use, row for row.
func TestReadmeOutcomeTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, r := range StepOutcomes {
		name := r.Outcome
		if name == Skipped {
			name += " (steps only)"
		}
		row := "| " + name + " | " + strings.Join(r.Statuses, ", ") + " |"
		if !strings.Contains(readme, row) {
			t.Errorf("README lacks the row %q", row)
		}
	}
}

// TestStatementsWithoutSourceTables: no builds or build_steps table, no views.
func TestStatementsWithoutSourceTables(t *testing.T) {
	if s := Statements("d", map[string]map[string]string{"pipelines": {"id": "text"}}); s != nil {
		t.Fatalf("statements = %q", s)
	}
	s := Statements("d", map[string]map[string]string{"builds": {"id": "text", "finished": "bool"}})
	if len(s) != 3 || !strings.Contains(s[1], `CAST(NULL AS TIMESTAMPTZ) AS finished`) || strings.Contains(s[1], `"finished" AS`) {
		t.Fatalf("a boolean finished column must read as NULL: %q", s)
	}
}
