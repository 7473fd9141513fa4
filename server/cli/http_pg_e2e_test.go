package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// The team setup of issue 23 end to end: a loader loads the simulator's
// builds into a shared PostgreSQL dataset; `serve --http` runs with a
// reader login holding only the README's read grants. Through it, the MCP
// Inspector with a bearer token lists the read-only tools and query
// answers the loader's count; with --allow-writes, start_load says which
// rights the reader lacks; without a token, 401. Neither the API key nor
// the reader's password is printed.
func TestE2EServeHTTPPostgresReader(t *testing.T) {
	t.Parallel()
	needInspector(t)
	const password = "pg-CANARY-http-2c7d"
	admin := pgtest.DSN(t)
	ds := pgtest.Dataset(t, admin)
	pg := pgtest.Settings(t, admin)

	// The loader's job: the test server's own login, as a whole DSN, whose
	// fields win over the shared pipeline file's user.
	loaderRun := newE2E(t, "CF_API_KEY="+e2eCanary, secrets.EnvPostgresCredentials+"="+admin)
	base := loaderRun.simulator(e2eCanary, "--builds", "300")
	reader, _ := pgtest.Role(t, admin, "cfmcp_reader_", password)
	dir := t.TempDir()
	file := fmt.Sprintf("dataset_name = %q\n\n[destination]\ntype = \"postgres\"\nhost = %q\nport = %d\ndatabase = %q\nuser = %q\nsslmode = %q\n",
		ds, pg.Host, pg.Port, pg.Database, reader, pg.SSLMode)
	if err := os.WriteFile(filepath.Join(dir, pipeline.ConfigFile), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	loaderRun.must(dir, "--base-url", base, "load")
	// The README's grants for a dataset loaded before the reader's: they
	// name the schemas the load created.
	pgtest.Exec(t, admin, `GRANT USAGE ON SCHEMA "`+ds+`", "`+ds+`_ci" TO "`+reader+`"`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA "`+ds+`", "`+ds+`_ci" TO "`+reader+`"`)
	count := func(sql string) int64 {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int64
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	builds := count(`SELECT count(*) FROM "` + ds + `".builds`)
	if builds == 0 {
		t.Fatal("the load wrote no builds")
	}

	// The agents' server: the reader's login, its password in dlt's env.
	e := newE2E(t, "CF_API_KEY="+e2eCanary, secrets.EnvPostgresPassword+"="+password)
	token, _ := e.newToken("inspector")
	srv := e.serveHTTP(dir, "--base-url", base)
	if !strings.Contains(srv.stderr.String(), "(read-only, 1 token") {
		t.Fatalf("serve --http's first lines:\n%s", srv.stderr.String())
	}
	bearer := "Authorization: Bearer " + token

	// (a) The Inspector: the read-only tools, and query's count as the reader.
	out, errOut, err := e.inspector(srv.url, "--method", "tools/list", "--header", bearer)
	if err != nil {
		t.Fatalf("inspector tools/list: %v\n%s\n%s", err, errOut, out)
	}
	if got, want := inspectorTools(t, out), readOnlyToolNames(t); !slices.Equal(got, want) || !slices.Contains(got, "query") {
		t.Fatalf("inspector lists %v, want %v", got, want)
	}
	out, errOut, err = e.inspector(srv.url, "--method", "tools/call", "--tool-name", "query",
		"--tool-arg", "sql=SELECT count(*) AS n, current_user AS login FROM builds", "--header", bearer)
	var q struct {
		IsError           bool `json:"isError"`
		StructuredContent struct {
			Rows [][]any `json:"rows"`
		} `json:"structuredContent"`
	}
	if err != nil || json.Unmarshal([]byte(out), &q) != nil || q.IsError ||
		fmt.Sprint(q.StructuredContent.Rows) != fmt.Sprintf("[[%d %s]]", builds, reader) {
		t.Fatalf("inspector query: %v, want [[%d %s]]\n%s\n%s", err, builds, reader, errOut, out)
	}

	// (c) No token: 401, for a raw request and for the Inspector.
	status, body := rawPost(t, srv.url, nil)
	if status != 401 {
		t.Errorf("no token: status %d (%.200s)", status, body)
	}
	if out, errOut, err := e.inspector(srv.url, "--method", "tools/list", "--stored-auth-only"); err == nil || strings.Contains(out, `"tools"`) {
		t.Errorf("inspector without a token: %v\n%s\n%s", err, errOut, out)
	}
	if !strings.Contains(srv.stderr.String(), `status=401 reason="a bearer token is required"`) {
		t.Errorf("server log lacks the refused requests:\n%s", srv.stderr.String())
	}

	// (b) Writes allowed, but the login cannot write: start_load is refused
	// before anything starts, naming the rights the role lacks.
	writer := e.serveHTTP(dir, "--base-url", base, "--allow-writes")
	c := httpClient(t, writer.url, token, false)
	if got := toolNames(t, c); !slices.Contains(got, "start_load") {
		t.Fatalf("tools with --allow-writes: %v", got)
	}
	res, denied := callText(t, c, "start_load", map[string]any{})
	want := fmt.Sprintf("the PostgreSQL role %s cannot write to schema %s: loads need CREATE on database %s, CREATE on schema %s, ownership of %s._dlt_loads (owner %s)",
		reader, ds, pg.Database, ds, ds, pg.User)
	if !res.IsError || !strings.HasPrefix(denied, want) || !strings.Contains(denied, "\nNext: this server reads a shared dataset with a login that cannot write it") {
		t.Errorf("start_load as the reader:\n%s\nwant it to start with\n%s", denied, want)
	}
	if loads := count(`SELECT count(*) FROM "` + ds + `"._dlt_loads`); loads != 1 {
		t.Errorf("loads after the refused start_load: %d, want 1", loads)
	}

	// (d) Neither the key nor the reader's password in any output or answer.
	for _, o := range append(append(e.allOutputs(), loaderRun.allOutputs()...), denied) {
		if leaked(o) || strings.Contains(o, password) {
			t.Errorf("the canary key or the reader's password in an output: %.300s", o)
		}
	}
	for _, log := range []string{srv.stderr.String(), writer.stderr.String()} {
		if strings.Contains(log, strings.TrimPrefix(token, "cfmcp_")) {
			t.Errorf("the token is in a server log:\n%s", log)
		}
	}
}
