package pipeline_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// shiftingProject is a project on destination kind whose pipelines listing
// (offset-paged, 5 per page, 12 pipelines) gains a record at its front
// after page 1, so page 2 repeats page 1's last pipeline.
func shiftingProject(t *testing.T, kind, disposition string, shift bool) *pipeline.Project {
	t.Helper()
	cfg := cfsim.Config{Seed: 11, Pipelines: 12, Builds: 20, APIKey: canary}
	if shift {
		cfg.Deviations.InsertFront = "/pipelines"
	}
	srv := httptest.NewServer(cfsim.New(cfg).Handler())
	t.Cleanup(srv.Close)
	p, err := pipeline.OpenProject(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials = secrets.Static(canary, srv.URL+"/api", "test")
	p.RatePerSecond, p.RetryBaseWait, p.LockWait = 1000, time.Millisecond, time.Second
	p.Env = func(string) string { return "" }
	p.Config.Destination.Type = kind
	p.Config.Resources = map[string]pipeline.ResourceConfig{"pipelines": {PageSize: 5, WriteDisposition: disposition}}
	if kind == "postgres" {
		dsn := pgtest.DSN(t)
		s, d := pgtest.Settings(t, dsn), &p.Config.Destination
		d.Host, d.Port, d.Database, d.User, d.SSLMode = s.Host, s.Port, s.Database, s.User, s.SSLMode
		p.Config.DatasetName = pgtest.Dataset(t, dsn)
	}
	return p
}

// answer runs q on the project's loaded data: rows as "a,b;c,d".
func answer(t *testing.T, p *pipeline.Project, q string) string {
	t.Helper()
	r, err := p.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Query(context.Background(), q, dataset.QueryOptions{MaxRows: 1000})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return destinationtest.Text(res.Rows, destinationtest.Sprint)
}

// Issue 19 item 6: a listing that shifts between two pages hands a record
// over twice; no destination holds its key twice after the load, in any
// disposition, its child rows are not doubled, and the load warns with the
// count.
func TestShiftingListingLeavesNoDuplicateKeys(t *testing.T) {
	const children = `SELECT (SELECT count(*) FROM %[1]s.pipelines__spec__stages), (SELECT count(*) FROM %[1]s.pipelines__metadata__labels__tags)`
	for _, kind := range []string{"duckdb", "parquet", "postgres"} {
		for _, disposition := range []string{"replace", "append", "merge"} {
			t.Run(kind+"/"+disposition, func(t *testing.T) {
				clean := shiftingProject(t, "duckdb", disposition, false)
				if _, err := clean.Run(context.Background(), pipeline.Options{Resources: []string{"pipelines"}}); err != nil {
					t.Fatal(err)
				}
				wantChildren := answer(t, clean, fmt.Sprintf(children, clean.Config.Dataset()))

				p := shiftingProject(t, kind, disposition, true)
				info, err := p.Run(context.Background(), pipeline.Options{Resources: []string{"pipelines"}})
				if err != nil {
					t.Fatal(err)
				}
				if info.Resources[0].Records != 13 {
					t.Fatalf("read %d records, want 13 (12 pipelines, one twice)", info.Resources[0].Records)
				}
				ds := p.Config.Dataset()
				if got := answer(t, p, fmt.Sprintf(`SELECT metadata__id, count(*) FROM %s.pipelines GROUP BY 1 HAVING count(*) > 1`, ds)); got != "" {
					t.Fatalf("duplicated keys: %s", got)
				}
				if got := answer(t, p, fmt.Sprintf(`SELECT count(*) FROM %s.pipelines`, ds)); got != "12" {
					t.Fatalf("pipelines rows = %s, want 12", got)
				}
				if got := answer(t, p, fmt.Sprintf(children, ds)); got != wantChildren {
					t.Fatalf("child rows = %s, want %s as without the shift", got, wantChildren)
				}
				if got := info.Tables["pipelines"].Inserted; got != 12 {
					t.Fatalf("inserted %d pipelines, want 12", got)
				}
				want := codefresh.Deviation{Resource: "pipelines", Kind: codefresh.DeviationDuplicates,
					Expected: "each metadata__id once in a listing",
					Got:      "1 record whose metadata__id came again later in the same load (the listing shifted while it was read)",
					Action:   "kept the last copy of each: 1 record dropped"}
				if len(info.Warnings) != 1 || info.Warnings[0] != want {
					t.Fatalf("warnings = %+v, want %+v", info.Warnings, want)
				}
				tr, err := p.Trace(info.LoadID)
				if err != nil || len(tr.Warnings) != 1 || tr.Warnings[0] != want {
					t.Fatalf("trace warnings = %+v, %v", tr, err)
				}
			})
		}
	}
}
