package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// pgFixture is a PostgreSQL dataset holding the conformance loads, and a reader of it.
func pgFixture(t *testing.T) (dataset.Reader, string, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	ds := pgtest.Dataset(t, dsn)
	creds := secrets.PostgresOptions{Env: pgtest.Env(dsn)}
	conformance.Commit(t, New(Options{Dataset: ds, Credentials: creds}), ds)
	r, err := OpenReader(context.Background(), ds, ReaderOptions{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return r, ds, dsn
}

func TestPostgresQueryRefusesHostileStatements(t *testing.T) {
	r, ds, _ := pgFixture(t)
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "out.csv")
	const onlySelect = "only a single SELECT statement"
	cases := []struct{ sql, want string }{
		{`INSERT INTO builds (id, _dlt_load_id, _dlt_id) VALUES ('x', 'l', 'd')`, onlySelect},
		{`UPDATE builds SET status = 'x'`, onlySelect},
		{`DELETE FROM builds`, onlySelect},
		{`TRUNCATE builds`, onlySelect},
		{`DROP TABLE builds`, onlySelect},
		{`CREATE TABLE x (a int)`, onlySelect},
		{`ALTER TABLE builds ADD COLUMN z int`, onlySelect},
		{`SELECT 1; DELETE FROM builds`, "only a single SELECT statement is allowed (got more than one statement)"},
		{`SELECT 1; SELECT 2`, "only a single SELECT statement is allowed (got more than one statement)"},
		{`WITH d AS (DELETE FROM builds RETURNING *) SELECT * FROM d`, onlySelect},
		{`EXPLAIN ANALYZE DELETE FROM builds`, onlySelect},
		{`COPY builds TO '` + outside + `'`, onlySelect},
		{`COPY (SELECT 1) TO PROGRAM 'touch ` + outside + `'`, onlySelect},
		{`SET statement_timeout = 0`, onlySelect},
		{`SET ROLE postgres`, onlySelect},
		{`DO $$ BEGIN DELETE FROM builds; END $$`, onlySelect},
		{`SELECT * FROM builds FOR UPDATE`, onlySelect},
		{`SELECT set_config('role', 'postgres', false)`, "set_config is not allowed"},
		{`SELECT pg_catalog.set_config('statement_timeout', '0', false)`, "set_config is not allowed"},
		{`SELECT "set_config"('role', 'postgres', true)`, "set_config is not allowed"},
		{`SELECT pg_read_file('/etc/passwd')`, "pg_read_file is not allowed"},
		{`SELECT * FROM pg_ls_dir('/')`, "pg_ls_dir is not allowed"},
		{`SELECT query_to_xml('select pg_read_file(''/etc/passwd'')', true, true, '')`, "query_to_xml is not allowed"},
		{`SELECT lo_import('/etc/passwd')`, "lo_import is not allowed"},
		{`SELECT pg_terminate_backend(pg_backend_pid())`, "pg_terminate_backend is not allowed"},
		{`SELECT U&"\0073et_config"('role', 'postgres', true)`, "Unicode-escaped names"},
		{`SELECT rolname, rolpassword FROM pg_authid`, "only the dataset's tables"},
		{`SELECT * FROM pg_shadow`, "only the dataset's tables"},
		{`SELECT * FROM public.nothing_here`, "does not exist"},
	}
	for _, tc := range cases {
		_, err := r.Query(ctx, tc.sql, dataset.QueryOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\n  err = %v\n want %q", tc.sql, err, tc.want)
		}
		var re *dataset.RefusedError
		if tc.want != "does not exist" && !errors.As(err, &re) {
			t.Errorf("%s: %v is not a *RefusedError", tc.sql, err)
		}
	}
	// Nothing was written or removed, no file made, and the session was
	// not a superuser's.
	res, err := r.Query(ctx, `SELECT (SELECT count(*) FROM builds), (SELECT count(*) FROM `+ds+`.images), current_setting('is_superuser'), current_setting('transaction_read_only')`, dataset.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(res.Rows); string(got) != `[[5,4,"off","on"]]` {
		t.Fatalf("after the hostile statements: %s", got)
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a statement wrote %s", outside)
	}
}

// Strings, comments, dollar quotes and quoted names are read as PostgreSQL
// reads them: a denied name inside a string is not a call, and a call
// after a tricky string is still seen.
func TestCheckPostgresQueryTokens(t *testing.T) {
	allowed := []string{
		`SELECT 'set_config' AS word`,
		`SELECT $$pg_read_file$$, $q$ set_config( $q$`,
		`SELECT 1 -- set_config('role', 'x', false)`,
		`SELECT /* pg_read_file( /* nested */ */ 2`,
		`SELECT "my set_config col" FROM builds`,
		`SELECT E'it\'s' AS s`,
		`SELECT a$b FROM t`,
		`SELECT 'costs $1', $q$ $2 $q$`,
	}
	for _, q := range allowed {
		if err := checkPostgresQuery(q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	refused := []string{
		`SELECT 'a\', set_config('role', 'x', false) --'`,
		`SELECT E'\\', set_config('role', 'x', false)`,
		`SELECT $$x$$, pg_read_file('/etc/passwd')`,
		`SELECT /* c */ SET_CONFIG('role', 'x', false)`,
		`SELECT "SET_CONFIG"('role', 'x', false)`,
		`SELECT dblink_exec('x', 'y')`,
		`SELECT pg_advisory_lock(1)`,
		`SELECT * FROM builds WHERE id = $1`,
	}
	for _, q := range refused {
		var re *dataset.RefusedError
		if err := checkPostgresQuery(q); !errors.As(err, &re) {
			t.Errorf("%s: accepted (%v)", q, err)
		}
	}
}

func TestPostgresQueryValuesCapsAndProvenance(t *testing.T) {
	r, ds, _ := pgFixture(t)
	ctx := context.Background()
	res, err := r.Query(ctx, `SELECT 1::bigint AS i, 1.5::float8 AS f, true AS b, 'x'::text AS s,
		'2024-01-02T03:04:05Z'::timestamptz AS ts, '{"a":[1,"x"]}'::jsonb AS j, 12.345::numeric AS n,
		'2024-01-02'::date AS d, NULL AS z`, dataset.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res.Rows)
	if string(got) != `[[1,1.5,true,"x","2024-01-02T03:04:05Z",{"a":[1,"x"]},"12.345","2024-01-02",null]]` {
		t.Fatalf("values = %s", got)
	}
	if strings.Join(res.Types[:6], ",") != "bigint,double precision,boolean,text,timestamp with time zone,jsonb" {
		t.Fatalf("types = %v", res.Types)
	}
	res, err = r.Query(ctx, `SELECT g FROM generate_series(1, 1000) g`, dataset.QueryOptions{MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.RowCount != 10 || !strings.Contains(res.Hint, "row cap") {
		t.Fatalf("row cap: %+v", res)
	}
	res, err = r.Query(ctx, `SELECT repeat('x', 1000) FROM generate_series(1, 100)`, dataset.QueryOptions{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.RowCount != 4 {
		t.Fatalf("byte cap: %d rows, truncated %v", res.RowCount, res.Truncated)
	}
	res, err = r.Query(ctx, `SELECT b.id, count(s.*) FROM `+ds+`.builds b LEFT JOIN builds__steps s ON s._dlt_root_id = b._dlt_id GROUP BY 1`, dataset.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, p := range res.Provenance {
		refs = append(refs, p.Table+"@"+p.LoadID)
	}
	want := "builds@" + conformance.Load3 + ",builds@" + conformance.Load1 + ",builds__steps@" + conformance.Load3 + ",builds__steps@" + conformance.Load1
	if strings.Join(refs, ",") != want {
		t.Fatalf("provenance = %v, want %s", refs, want)
	}
	start := time.Now()
	_, err = r.Query(ctx, `SELECT pg_sleep(5)`, dataset.QueryOptions{Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timeout") || time.Since(start) > 3*time.Second {
		t.Fatalf("timeout: %v after %s", err, time.Since(start))
	}
}

func TestPostgresInfoDescribeAndNoData(t *testing.T) {
	r, ds, dsn := pgFixture(t)
	ctx := context.Background()
	info, err := r.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Destination != "postgres" || info.Dataset != ds || !strings.HasPrefix(info.Location, "postgresql://") || strings.Contains(info.Location, "@@") {
		t.Fatalf("info = %+v", info)
	}
	if len(info.Loads) != 3 || info.Loads[0].LoadID != conformance.Load3 || len(info.PipelineStates) != 1 || info.PipelineStates[0].Version != 2 {
		t.Fatalf("loads %+v states %+v", info.Loads, info.PipelineStates)
	}
	d, err := r.Describe(ctx, ds+".builds__steps")
	if err != nil {
		t.Fatal(err)
	}
	if d.Parent == nil || d.Parent.On != "builds__steps._dlt_parent_id = builds._dlt_id" || d.Rows != 10 {
		t.Fatalf("describe = %+v", d)
	}
	b, err := r.Describe(ctx, "builds")
	if err != nil || strings.Join(b.PrimaryKey, ",") != "id" {
		t.Fatalf("builds pk = %v, %v", b.PrimaryKey, err)
	}
	var nf *dataset.TableNotFoundError
	if _, err := r.Describe(ctx, "nope"); !errors.As(err, &nf) || !strings.Contains(err.Error(), "builds") {
		t.Fatalf("unknown table: %v", err)
	}
	empty, err := OpenReader(ctx, "no_such_dataset", ReaderOptions{Credentials: secrets.PostgresOptions{Env: pgtest.Env(dsn)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Info(ctx); !errors.Is(err, dataset.ErrNoData) {
		t.Fatalf("no dataset: %v", err)
	}
}
