package pipeline_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// freshnessProject is a project on destination kind over a simulator.
func freshnessProject(t *testing.T, kind string) *pipeline.Project {
	t.Helper()
	srv := httptest.NewServer(cfsim.New(cfsim.Config{Seed: 5, Pipelines: 4, Builds: 60, Projects: 2, APIKey: canary}).Handler())
	t.Cleanup(srv.Close)
	p, err := pipeline.OpenProject(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials = secrets.Static(canary, srv.URL+"/api", "test")
	p.RatePerSecond, p.RetryBaseWait, p.LockWait = 1000, time.Millisecond, time.Second
	p.Env = func(string) string { return "" }
	p.Config.Destination.Type = kind
	if kind == "postgres" {
		dsn := pgtest.DSN(t)
		s, d := pgtest.Settings(t, dsn), &p.Config.Destination
		d.Host, d.Port, d.Database, d.User, d.SSLMode = s.Host, s.Port, s.Database, s.User, s.SSLMode
		p.Config.DatasetName = pgtest.Dataset(t, dsn)
	}
	return p
}

// loadEnds reads _dlt_loads: each load id's inserted_at, the end of that load.
func loadEnds(t *testing.T, r dataset.Reader, ds string) map[string]time.Time {
	t.Helper()
	res, err := r.Query(context.Background(), "SELECT load_id, CAST(inserted_at AS VARCHAR) FROM "+ds+"._dlt_loads WHERE status = 0", dataset.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, row := range res.Rows {
		// Both engines print a timestamptz as 2006-01-02 15:04:05.999999+00.
		at, err := time.Parse("2006-01-02 15:04:05.999999-07", row[1].(string))
		if err != nil {
			t.Fatal(err)
		}
		out[row[0].(string)] = at
	}
	return out
}

// A table's as-of is the end of the newest load that wrote its rows, as
// _dlt_loads records it: a later load of another resource does not move
// it; a child table has its root's; a table never loaded says so; the
// threshold comes from the call, else the pipeline file, against an
// injected clock.
func TestFreshnessPerTableFromDltLoads(t *testing.T) {
	for _, kind := range []string{"duckdb", "postgres", "parquet"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			p := freshnessProject(t, kind)
			first, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds", "pipelines"}})
			if err != nil {
				t.Fatal(err)
			}
			second, err := p.Run(ctx, pipeline.Options{Resources: []string{"pipelines"}})
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ends := loadEnds(t, r, p.Config.Dataset())
			end1, end2 := ends[first.LoadID], ends[second.LoadID]
			if len(ends) != 2 || !end2.After(end1) {
				t.Fatalf("loads %v; first %s, second %s", ends, first.LoadID, second.LoadID)
			}
			info, err := r.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			child := ""
			for _, ts := range info.Tables {
				if ts.Parent == "builds" {
					child = ts.Name
				}
			}
			if child == "" {
				t.Fatalf("builds has no child table: %+v", info.Tables)
			}

			// Between the loads' ends: builds (first load) is stale, pipelines (second) is not.
			gap := end2.Sub(end1)
			tables := []string{"builds", p.Config.Dataset() + ".pipelines", child, "build_steps", "_dlt_loads"}
			fr, err := pipeline.Freshness(ctx, r, &p.Config, tables, dataset.FreshnessOptions{StaleAfter: gap / 2, Now: func() time.Time { return end2 }})
			if err != nil {
				t.Fatal(err)
			}
			want := []dataset.TableFreshness{
				{Table: "builds", AsOf: &end1, LoadID: first.LoadID, Age: dataset.FormatAge(gap), Stale: true,
					Warning: fmt.Sprintf("stale: data as of %s is %s old, older than the %s freshness threshold", end1.UTC().Format(time.RFC3339), dataset.FormatAge(gap), dataset.FormatAge(gap/2))},
				{Table: "pipelines", AsOf: &end2, LoadID: second.LoadID, Age: "0s"},
				{Table: child, AsOf: &end1, LoadID: first.LoadID, Age: dataset.FormatAge(gap), Stale: true,
					Warning: fmt.Sprintf("stale: data as of %s is %s old, older than the %s freshness threshold", end1.UTC().Format(time.RFC3339), dataset.FormatAge(gap), dataset.FormatAge(gap/2))},
				{Table: "build_steps", NeverLoaded: true, Warning: "never loaded: the dataset has no table build_steps"},
			}
			if got, exp := show(fr), show(want); got != exp {
				t.Errorf("freshness:\n got %s\nwant %s", got, exp)
			}

			// The pipeline file's threshold applies when the call gives none.
			p.Config.FreshnessWarning = "48h"
			for now, stale := range map[time.Time]string{end1.Add(47 * time.Hour): "", end2.Add(49 * time.Hour): "builds,pipelines"} {
				fr, err := pipeline.Freshness(ctx, r, &p.Config, []string{"builds", "pipelines"}, dataset.FreshnessOptions{Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, f := range fr {
					if f.Stale {
						got = append(got, f.Table)
						if !strings.HasSuffix(f.Warning, "older than the 2d freshness threshold") {
							t.Errorf("warning %q", f.Warning)
						}
					}
				}
				if strings.Join(got, ",") != stale {
					t.Errorf("at %s stale = %v, want %q", now, got, stale)
				}
			}
		})
	}
}

func show(fr []dataset.TableFreshness) string {
	var b strings.Builder
	for _, f := range fr {
		at := "-"
		if f.AsOf != nil {
			at = f.AsOf.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, "\n  %s as_of=%s load=%s age=%s stale=%t never=%t warning=%q", f.Table, at, f.LoadID, f.Age, f.Stale, f.NeverLoaded, f.Warning)
	}
	return b.String()
}
