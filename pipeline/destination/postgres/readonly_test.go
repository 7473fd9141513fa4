package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// sharedDataset is a dataset loaded by a loader role that owns it, and a
// reader role with the rights the README's recipe grants.
type sharedDataset struct {
	admin, dataset     string
	loader, reader     string // role names
	loaderDSN, readDSN string
}

// newSharedDataset makes the two roles with the README's SQL and loads the
// conformance loads with the loader.
func newSharedDataset(t *testing.T) *sharedDataset {
	t.Helper()
	admin := pgtest.DSN(t)
	s := &sharedDataset{admin: admin, dataset: pgtest.Dataset(t, admin)}
	s.loader, s.loaderDSN = pgtest.Role(t, admin, "cfmcp_loader_", canary)
	s.reader, s.readDSN = pgtest.Role(t, admin, "cfmcp_reader_", canary+"-r")
	before, after := readmeRoleSQL(t, pgtest.Settings(t, admin).Database, s)
	pgtest.Exec(t, admin, before...)
	conformance.Commit(t, s.destination(s.loaderDSN), s.dataset)
	pgtest.Exec(t, admin, after...)
	return s
}

// readmeRoleSQL is the SQL of the README's section on a shared dataset
// with this test's names, CREATE ROLE left out (pgtest.Role made them):
// the statements to run before the first load, and those granting what a
// load made.
func readmeRoleSQL(t *testing.T, db string, s *sharedDataset) (before, after []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Shared PostgreSQL dataset")
	_, block, ok2 := strings.Cut(section, "```sql\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no SQL block in its section on a shared PostgreSQL dataset")
	}
	names := strings.NewReplacer("codefresh_loader", `"`+s.loader+`"`, "codefresh_reader", `"`+s.reader+`"`,
		"codefresh_data_ci", `"`+civiews.Schema(s.dataset)+`"`, "codefresh_data", `"`+s.dataset+`"`, "analytics", `"`+db+`"`)
	var sql []string
	for _, line := range strings.Split(block, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "--") {
			sql = append(sql, line)
		}
	}
	for _, stmt := range strings.Split(strings.Join(sql, "\n"), ";") {
		stmt = strings.TrimSpace(stmt)
		switch {
		case stmt == "", strings.HasPrefix(stmt, "CREATE ROLE "):
		case strings.Contains(stmt, "codefresh_data"):
			after = append(after, names.Replace(stmt))
		default:
			before = append(before, names.Replace(stmt))
		}
	}
	if len(before) != 3 || len(after) != 2 {
		t.Fatalf("README SQL: %d statements before the load, %d after; want 3 and 2:\n%s", len(before), len(after), block)
	}
	return before, after
}

func (s *sharedDataset) destination(dsn string) *Destination {
	return New(Options{Dataset: s.dataset, Credentials: secrets.PostgresOptions{Env: pgtest.Env(dsn)}})
}

func (s *sharedDataset) reading(t *testing.T) *Reader {
	t.Helper()
	r, err := OpenReader(context.Background(), s.dataset, ReaderOptions{Credentials: secrets.PostgresOptions{Env: pgtest.Env(s.readDSN)}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A role with read rights only reads the dataset and its CI views; writes
// through a query are refused; the write check names what it lacks.
func TestReadOnlyRoleReadsSharedDataset(t *testing.T) {
	s := newSharedDataset(t)
	ctx := context.Background()
	r := s.reading(t)
	var texts []string
	info, err := r.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Loads) != 3 || info.Loads[0].LoadID != conformance.Load3 || len(info.Views) == 0 {
		t.Fatalf("info as the reader: loads %+v views %+v", info.Loads, info.Views)
	}
	b, _ := json.Marshal(info)
	texts = append(texts, string(b))
	d, err := r.Describe(ctx, "builds__steps")
	if err != nil || d.Rows != 10 {
		t.Fatalf("describe as the reader: %+v, %v", d, err)
	}
	views := civiews.Schema(s.dataset)
	res, err := r.Query(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM builds), (SELECT count(*) FROM %s.builds), current_user, current_setting('transaction_read_only')`, views), dataset.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(res.Rows); string(got) != fmt.Sprintf(`[[5,5,%q,"on"]]`, s.reader) {
		t.Fatalf("query as the reader: %s", got)
	}
	for _, q := range []string{
		`INSERT INTO builds (id, _dlt_load_id, _dlt_id) VALUES ('x', 'l', 'd')`,
		`DELETE FROM builds`,
		`UPDATE ` + views + `.builds SET status = 'x'`,
		`DROP VIEW ` + views + `.builds`,
		`CREATE TABLE x (a int)`,
		`SELECT 1; DELETE FROM builds`,
		`WITH d AS (DELETE FROM builds RETURNING *) SELECT * FROM d`,
		`SET ROLE "` + s.loader + `"`,
		`SELECT set_config('role', '` + s.loader + `', true)`,
		`COPY builds TO STDOUT`,
		`BEGIN`,
		`COMMIT`,
		`PREPARE p AS SELECT 1`,
		`VACUUM builds`,
		`ANALYZE builds`,
		`CHECKPOINT`,
		`LOCK TABLE builds`,
		`LISTEN x`,
		`NOTIFY x`,
		`DISCARD ALL`,
		`RESET ALL`,
		`CALL nothing()`,
		`SELECT pg_advisory_lock(1)`,
		`SELECT pg_notify('x', 'y')`,
		`SELECT lo_import('/etc/passwd')`,
		`SELECT * FROM pg_ls_dir('.')`,
		`SELECT * FROM pg_authid`,
		`SELECT $1`,
		`-- nothing`,
	} {
		_, err := r.Query(ctx, q, dataset.QueryOptions{})
		var re *dataset.RefusedError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want a refusal", q, err)
		}
		texts = append(texts, fmt.Sprint(err))
	}
	_, err = r.Query(ctx, `SELECT repeat('x', 40 << 20) AS huge`, dataset.QueryOptions{})
	var re *dataset.RefusedError
	if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), "a row of the result holds ") || !strings.Contains(err.Error(), fmt.Sprintf(" bytes, more than the %d a row may", maxRowBytes)) {
		t.Fatalf("a 40 MiB value: %v", err)
	}
	start := time.Now()
	_, err = r.Query(ctx, `SELECT pg_sleep(30)`, dataset.QueryOptions{Timeout: 300 * time.Millisecond})
	if err == nil || err.Error() != "query interrupted after the 300ms timeout: filter with WHERE, aggregate, or add LIMIT" {
		t.Fatalf("slow query as the reader: %v", err)
	}
	t.Logf("statement_timeout 300ms stopped pg_sleep(30) after %s", time.Since(start).Round(time.Millisecond))
	// Nothing changed, and the loader still owns everything.
	res, err = s.reading(t).Query(ctx, `SELECT count(*) FROM builds`, dataset.QueryOptions{})
	if err != nil || fmt.Sprint(res.Rows) != "[[5]]" {
		t.Fatalf("after the refused writes: %v, %v", res, err)
	}

	if err := s.destination(s.loaderDSN).CheckWrite(ctx); err != nil {
		t.Fatalf("the loader may write: %v", err)
	}
	err = s.destination(s.readDSN).CheckWrite(ctx)
	var wd *destination.WriteDeniedError
	if !errors.As(err, &wd) {
		t.Fatalf("reader CheckWrite = %v, want a *WriteDeniedError", err)
	}
	db := pgtest.Settings(t, s.admin).Database
	want := fmt.Sprintf("the PostgreSQL role %[1]s cannot write to schema %[2]s: loads need CREATE on database %[3]s, CREATE on schema %[2]s, "+
		"ownership of %[2]s._dlt_loads (owner %[4]s), ownership of %[2]s._dlt_pipeline_state (owner %[4]s), ownership of %[2]s._dlt_version (owner %[4]s), "+
		"ownership of %[5]d more tables or views of %[2]s, CREATE on schema %[6]s, ownership of %[6]s.builds (owner %[4]s), "+
		"ownership of %[6]s.pipeline_daily (owner %[4]s)", s.reader, s.dataset, db, s.loader, relations(t, s, s.dataset)-3, views)
	if err.Error() != want {
		t.Fatalf("reader CheckWrite:\n got %v\nwant %s", err, want)
	}
	for _, txt := range append(texts, err.Error()) {
		if strings.Contains(txt, canary) {
			t.Fatalf("password in %q", txt)
		}
	}
}

// relations counts the tables and views of schema.
func relations(t *testing.T, s *sharedDataset, schema string) int {
	t.Helper()
	r, err := OpenReader(context.Background(), s.dataset, ReaderOptions{Credentials: secrets.PostgresOptions{Env: pgtest.Env(s.admin)}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Query(context.Background(), `SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = '`+schema+`' AND c.relkind IN ('r', 'p', 'v', 'm')`, dataset.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := res.Rows[0][0].(int64)
	return int(n)
}

// A login without the reader's grants is told which rights it lacks, by
// every read, instead of a bare "permission denied".
func TestReadWithoutGrantsNamesTheRights(t *testing.T) {
	s := newSharedDataset(t)
	ctx := context.Background()
	bare, bareDSN := pgtest.Role(t, s.admin, "cfmcp_bare_", canary+"-b")
	r, err := OpenReader(ctx, s.dataset, ReaderOptions{Credentials: secrets.PostgresOptions{Env: pgtest.Env(bareDSN)}})
	if err != nil {
		t.Fatal(err)
	}
	views := civiews.Schema(s.dataset)
	want := fmt.Sprintf("the PostgreSQL role %s may not read the dataset: it lacks USAGE on schema %s, USAGE on schema %s, SELECT on %s._dlt_loads, %d more "+
		"(a reader needs USAGE on schemas %s and %s and SELECT on their tables and views)", bare, s.dataset, views, s.dataset,
		relations(t, s, s.dataset)+relations(t, s, views)-1, s.dataset, views)
	_, qerr := r.Query(ctx, "SELECT count(*) FROM builds", dataset.QueryOptions{})
	_, ierr := r.Info(ctx)
	_, derr := r.Describe(ctx, "builds")
	for i, err := range []error{qerr, ierr, derr} {
		var re *dataset.RefusedError
		if !errors.As(err, &re) || err.Error() != want {
			t.Errorf("read %d: %v\nwant %s", i, err, want)
		}
	}
	// Given the README's grants on what exists, it reads.
	pgtest.Exec(t, s.admin,
		fmt.Sprintf(`GRANT USAGE ON SCHEMA %q, %q TO %q`, s.dataset, views, bare),
		fmt.Sprintf(`GRANT SELECT ON ALL TABLES IN SCHEMA %q, %q TO %q`, s.dataset, views, bare))
	res, err := r.Query(ctx, "SELECT count(*) FROM "+views+".builds", dataset.QueryOptions{})
	if err != nil || fmt.Sprint(res.Rows) != "[[5]]" {
		t.Fatalf("after the grants: %v, %v", res, err)
	}
}

// A login made read-only by its settings rather than its grants is named
// as such; the rights it has are not listed as missing.
func TestCheckWriteReadOnlyLogin(t *testing.T) {
	admin := pgtest.DSN(t)
	ds := pgtest.Dataset(t, admin)
	db := pgtest.Settings(t, admin).Database
	role, dsn := pgtest.Role(t, admin, "cfmcp_rodefault_", canary, `GRANT CREATE ON DATABASE "`+db+`" TO {role}`,
		`ALTER ROLE {role} SET default_transaction_read_only = on`)
	err := New(Options{Dataset: ds, Credentials: secrets.PostgresOptions{Env: pgtest.Env(dsn)}}).CheckWrite(context.Background())
	want := fmt.Sprintf("the PostgreSQL role %s cannot write to schema %s: loads need a login whose default_transaction_read_only is off (it is on for %s)", role, ds, role)
	var wd *destination.WriteDeniedError
	if !errors.As(err, &wd) || err.Error() != want {
		t.Fatalf("CheckWrite = %v\nwant %s", err, want)
	}
}
