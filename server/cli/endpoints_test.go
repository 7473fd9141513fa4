package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

func runEndpoints(t *testing.T, args ...string) string {
	t.Helper()
	root := newRootCmd(&app{stdout: os.Stdout, stderr: os.Stderr})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append([]string{"endpoints"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestEndpointsJSON(t *testing.T) {
	var got []map[string]any
	if err := json.Unmarshal([]byte(runEndpoints(t, "--json")), &got); err != nil {
		t.Fatal(err)
	}
	cat := codefresh.Catalog()
	if len(got) != len(cat) {
		t.Fatalf("%d entries, catalog has %d", len(got), len(cat))
	}
	keys := []string{"name", "method", "path", "data_selector", "paginator", "primary_key",
		"incremental_cursor", "parent", "scope", "description"}
	for i, e := range got {
		for _, k := range keys {
			if _, ok := e[k]; !ok {
				t.Errorf("%v lacks %q", e["name"], k)
			}
		}
		if e["name"] != cat[i].Name || e["path"] != cat[i].Path || e["method"] != "GET" {
			t.Errorf("entry %d = %v %v, want %s %s", i, e["name"], e["path"], cat[i].Name, cat[i].Path)
		}
	}
	if got[4]["name"] != "builds" || got[4]["path"] != "/workflow" || got[4]["incremental_cursor"] != "created" ||
		got[4]["data_selector"] != "workflows.docs" || got[4]["scope"] != "build:read" {
		t.Errorf("builds entry: %v", got[4])
	}
}

func TestEndpointsTable(t *testing.T) {
	out := runEndpoints(t)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(codefresh.Catalog())+1 {
		t.Fatalf("%d lines for %d resources:\n%s", len(lines), len(codefresh.Catalog()), out)
	}
	for _, col := range []string{"NAME", "METHOD", "PATH", "DATA_SELECTOR", "PAGINATOR", "PRIMARY_KEY", "INCREMENTAL_CURSOR", "PARENT", "SCOPE", "DEFAULT"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header lacks %s: %s", col, lines[0])
		}
	}
	var builds string
	for _, l := range lines {
		if strings.HasPrefix(l, "builds ") {
			builds = l
		}
	}
	for _, f := range []string{"/workflow", "workflows.docs", "page_cursor", "created", "build:read", "yes"} {
		if !strings.Contains(builds, f) {
			t.Errorf("builds row lacks %s: %q", f, builds)
		}
	}
}
