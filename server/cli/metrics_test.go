package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/cimetrics"
)

// TestMetricsCmd: after a demo load the table and --json give the same
// rows, whose build counts are the builds table's; a bad grouping is refused.
func TestMetricsCmd(t *testing.T) {
	dir := t.TempDir()
	if _, err := runIn(t, dir, "load", "--demo", "--demo-builds", "60", "--resources", "builds"); err != nil {
		t.Fatal(err)
	}
	raw, err := runIn(t, dir, "metrics", "--metric", "build_count,success_rate", "--by", "project", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ans cimetrics.Answer
	if err := json.Unmarshal([]byte(raw), &ans); err != nil {
		t.Fatal(err)
	}
	q, err := runIn(t, dir, "query", "SELECT project, count(*) FROM builds GROUP BY 1 ORDER BY 2 DESC, 1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Rows [][]any }
	json.Unmarshal([]byte(q), &res)
	var got, want []string
	for _, r := range ans.Rows {
		got = append(got, fmt.Sprint(r[0], "=", r[1]))
	}
	for _, r := range res.Rows {
		want = append(want, fmt.Sprint(r[0], "=", r[1]))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || ans.Definitions["success_rate"] == "" {
		t.Fatalf("metrics %v, SQL %v", got, want)
	}
	table, err := runIn(t, dir, "metrics", "--metric", "build_count,success_rate", "--by", "project")
	if err != nil || !strings.HasPrefix(table, "project") || !strings.Contains(table, "success_rate: successes / finished builds") {
		t.Fatalf("table: %v\n%s", err, table)
	}
	if _, err := runIn(t, dir, "metrics", "--by", "month"); err == nil || !strings.Contains(err.Error(), "valid: pipeline, project, branch, trigger, day, week") {
		t.Fatalf("bad grouping: %v", err)
	}
}
