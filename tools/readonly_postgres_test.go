package tools_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/cimetrics"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// pgPassword is the database roles' password in these tests: like the API
// key, it must appear in no result and no log line ("CANARY" is scanned).
const pgPassword = "pg-CANARY-3b9e1f7a"

// A team's shared PostgreSQL dataset: a loader role loads it; a server
// whose login has only the README's read grants answers every read tool
// from it, refuses writes through query, and start_load says the role
// cannot write before starting anything.
func TestReadOnlyPostgresRoleServesEveryReadTool(t *testing.T) {
	admin := pgtest.DSN(t)
	ds := pgtest.Dataset(t, admin)
	db := pgtest.Settings(t, admin).Database
	loader, loaderDSN := pgtest.Role(t, admin, "cfmcp_loader_", pgPassword, `GRANT CREATE ON DATABASE "`+db+`" TO {role}`)
	reader, readerDSN := pgtest.Role(t, admin, "cfmcp_reader_", pgPassword,
		`ALTER DEFAULT PRIVILEGES FOR ROLE "`+loader+`" GRANT USAGE ON SCHEMAS TO {role}`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE "`+loader+`" GRANT SELECT ON TABLES TO {role}`)
	e := newEnv(t, envOpts{vars: map[string]string{secrets.EnvPostgresCredentials: readerDSN}})
	file := fmt.Sprintf("dataset_name = %q\n\n[destination]\ntype = \"postgres\"\n", ds)
	if err := os.WriteFile(filepath.Join(e.dir, pipeline.ConfigFile), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	// The scheduled loader, elsewhere: same pipeline file, the loader's login.
	p, err := pipeline.OpenProject(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Env, p.Credentials = pgtest.Env(loaderDSN), secrets.Static(canary, e.base, "test")
	if err := p.CheckWritable(context.Background(), pipeline.Options{}); err != nil {
		t.Fatalf("the loader may write: %v", err)
	}
	if _, err := p.Run(context.Background(), pipeline.Options{Resources: []string{"builds", "build_steps"}}); err != nil {
		t.Fatalf("load as the loader: %v", err)
	}
	// What the reader's answers must equal, read as the server's admin.
	var builds, failures int64
	var failed, failedStep string
	one(t, admin, fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]q.builds), (SELECT count(*) FROM %[1]q.builds WHERE status = 'error')`, ds), &builds, &failures)
	one(t, admin, fmt.Sprintf(`SELECT b.id, s.name FROM %[1]q.builds b JOIN %[1]q.build_steps s ON s.build_id = b.id
		WHERE b.status = 'error' AND s.result = 'failure' ORDER BY b.created DESC, b.id LIMIT 1`, ds), &failed, &failedStep)

	var info tools.PipelineInfoOut
	e.ok("pipeline_info", nil, &info)
	if info.Destination != "postgres" || info.Dataset != ds || len(info.Loads) != 1 || len(info.Views) == 0 || !strings.Contains(info.Location, "@") {
		t.Fatalf("pipeline_info as the reader: %+v", info)
	}
	if strings.Contains(info.Location, reader) == false {
		t.Errorf("pipeline_info location %q does not name the reader's login", info.Location)
	}
	var d tools.DescribeTableOut
	e.ok("describe_table", map[string]any{"table": "builds"}, &d)
	if d.Rows != builds {
		t.Errorf("describe_table builds: %d rows, want %d", d.Rows, builds)
	}
	var q struct {
		Rows [][]any `json:"rows"`
	}
	e.ok("query", map[string]any{"sql": fmt.Sprintf("SELECT count(*), current_user FROM %s_ci.builds WHERE outcome = 'failure'", ds)}, &q)
	if fmt.Sprint(q.Rows) != fmt.Sprintf("[[%d %s]]", failures, reader) {
		t.Errorf("query as the reader: %v, want %d failures read by %s", q.Rows, failures, reader)
	}
	var m cimetrics.Answer
	e.ok("ci_metrics", map[string]any{"metrics": []string{"failure_count", "build_count"}}, &m)
	if m.RowCount != 1 || fmt.Sprint(m.Rows[0]) != fmt.Sprintf("[%d %d]", failures, builds) {
		t.Errorf("ci_metrics as the reader: %+v, want %d of %d", m.Rows, failures, builds)
	}
	var x tools.ExplainBuildOut
	e.ok("explain_build", map[string]any{"build_id": failed}, &x)
	if x.FailingStep == nil || x.FailingStep.Name != failedStep {
		t.Errorf("explain_build as the reader: failing step %+v, want %s", x.FailingStep, failedStep)
	}
	refused := e.fail("query", map[string]any{"sql": "DELETE FROM builds"})
	if !strings.Contains(refused, "only a single SELECT statement is allowed (got DELETE") {
		t.Errorf("a write through query: %s", refused)
	}
	slow := e.fail("query", map[string]any{"sql": "SELECT pg_sleep(60)", "timeout_seconds": 1})
	if !strings.HasPrefix(slow, "query interrupted after the 1s timeout: filter with WHERE, aggregate, or add LIMIT") {
		t.Errorf("a slow query as the reader: %s", slow)
	}
	denied := e.fail("start_load", nil)
	want := fmt.Sprintf("the PostgreSQL role %s cannot write to schema %s: loads need CREATE on database %s, CREATE on schema %s, ownership of %s._dlt_loads (owner %s)",
		reader, ds, db, ds, ds, loader)
	if !strings.HasPrefix(denied, want) || !strings.Contains(denied, "\nNext: this server reads a shared dataset with a login that cannot write it") {
		t.Errorf("start_load as the reader:\n%s\nwant it to start with\n%s", denied, want)
	}
	var status struct {
		Rows [][]any `json:"rows"`
	}
	e.ok("query", map[string]any{"sql": "SELECT count(*) FROM _dlt_loads"}, &status)
	if fmt.Sprint(status.Rows) != "[[1]]" {
		t.Errorf("loads after the refused start_load and query: %v", status.Rows)
	}
	e.assertNoCanary()
}

// one scans the single row q answers on the server of dsn.
func one(t *testing.T, dsn, q string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, q, nil...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
