package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// The built binary on a shared PostgreSQL dataset: the loader's login
// loads; with a read-only login, info, query, metrics and explain answer,
// a write through query is refused, and load exits 1 before extracting,
// naming the rights the role lacks. No password is printed.
func TestReadOnlyPostgresLoginCLI(t *testing.T) {
	const password = "pg-CANARY-e2e-51c0"
	admin := pgtest.DSN(t)
	ds := pgtest.Dataset(t, admin)
	db := pgtest.Settings(t, admin).Database
	loader, loaderDSN := pgtest.Role(t, admin, "cfmcp_loader_", password, `GRANT CREATE ON DATABASE "`+db+`" TO {role}`)
	reader, readerDSN := pgtest.Role(t, admin, "cfmcp_reader_", password,
		`ALTER DEFAULT PRIVILEGES FOR ROLE "`+loader+`" GRANT USAGE ON SCHEMAS TO {role}`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE "`+loader+`" GRANT SELECT ON TABLES TO {role}`)
	dir := t.TempDir()
	file := fmt.Sprintf("dataset_name = %q\n\n[destination]\ntype = \"postgres\"\n", ds)
	if err := os.WriteFile(filepath.Join(dir, pipeline.ConfigFile), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	load := []string{"load", "--demo", "--demo-builds", "80", "--demo-now", e2eNow, "--resources", "builds,build_steps"}
	loaderRun := newE2E(t, secrets.EnvPostgresCredentials+"="+loaderDSN)
	loaderRun.must(dir, load...)
	e := newE2E(t, secrets.EnvPostgresCredentials+"="+readerDSN)

	info := e.must(dir, "info")
	if !strings.Contains(info.stdout, "postgres") || !strings.Contains(info.stdout, reader+"@") {
		t.Errorf("info as the reader:\n%s", info.stdout)
	}
	var q struct{ Rows [][]any }
	out := e.must(dir, "query", "SELECT id, current_user FROM builds WHERE status = 'error' ORDER BY created DESC, id LIMIT 1", "--json")
	if err := json.Unmarshal([]byte(out.stdout), &q); err != nil || len(q.Rows) != 1 || q.Rows[0][1] != reader {
		t.Fatalf("query as the reader: %v\n%s", err, out)
	}
	failed := fmt.Sprint(q.Rows[0][0])
	out = e.must(dir, "query", "SELECT count(*) FROM builds", "--json")
	if err := json.Unmarshal([]byte(out.stdout), &q); err != nil {
		t.Fatal(err)
	}
	builds := fmt.Sprint(q.Rows[0][0])
	out = e.must(dir, "metrics", "--metric", "build_count", "--json")
	var m struct{ Rows [][]any }
	if err := json.Unmarshal([]byte(out.stdout), &m); err != nil || len(m.Rows) != 1 || fmt.Sprint(m.Rows[0][0]) != builds {
		t.Errorf("metrics as the reader: %v, want %s builds\n%s", err, builds, out)
	}
	out = e.must(dir, "explain", failed, "--json")
	if !strings.Contains(out.stdout, `{"build":{"id":"`+failed+`"`) || !strings.Contains(out.stdout, `"failing_step":{"name":`) {
		t.Errorf("explain as the reader:\n%s", out)
	}
	if r := e.run(dir, "query", "DELETE FROM builds"); r.code == 0 || !strings.Contains(r.stderr, "only a single SELECT statement is allowed (got DELETE") {
		t.Errorf("a write through query: %s", r)
	}
	r := e.run(dir, load...)
	want := fmt.Sprintf("error: the PostgreSQL role %s cannot write to schema %s: loads need CREATE on database %s, CREATE on schema %s, ownership of %s._dlt_loads (owner %s)",
		reader, ds, db, ds, ds, loader)
	if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "next step: run the load with the loader's role") ||
		strings.Contains(r.stderr, "extract") {
		t.Errorf("load as the reader: %s\nwant %s", r, want)
	}
	out = e.must(dir, "query", "SELECT count(*) FROM _dlt_loads", "--json")
	if err := json.Unmarshal([]byte(out.stdout), &q); err != nil || fmt.Sprint(q.Rows) != "[[1]]" {
		t.Errorf("loads after the refused load: %v %s", err, out.stdout)
	}
	for _, s := range append(e.allOutputs(), loaderRun.allOutputs()...) {
		if strings.Contains(s, password) || strings.Contains(s, "CANARY") {
			t.Fatalf("password printed: %.400s", s)
		}
	}
}
