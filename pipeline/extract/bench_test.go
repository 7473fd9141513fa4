package extract_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/extract"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// countSink counts the rows the normalizer writes and keeps none.
type countSink struct{ rows atomic.Int64 }

func (s *countSink) Write(*normalize.Table, []any) error { s.rows.Add(1); return nil }
func (s *countSink) Wait(context.Context) error          { return nil }
func (s *countSink) Close() error                        { return nil }

// benchExtractBuilds extracts the builds resource of a simulated account
// (CODEFRESH_MCP_BENCH_BUILDS builds, default 20,000) over loopback with the
// load's strategy (date windows, concurrency 4) and normalizes every record:
// the extract+normalize phase of a load without the stage behind it.
func benchExtractBuilds(b *testing.B, mapPages bool) {
	n := 20_000
	if s := os.Getenv("CODEFRESH_MCP_BENCH_BUILDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	sim := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 200, Projects: 20, Builds: n, APIKey: canary})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := codefresh.New(codefresh.Options{BaseURL: srv.URL + "/api", APIKey: canary, RatePerSecond: -1})
	if err != nil {
		b.Fatal(err)
	}
	builds, _ := codefresh.Lookup("builds")
	ctx := context.Background()
	var rows int64
	for b.Loop() {
		schema := normalize.NewSchema("codefresh")
		schema.EnsureRoot("builds", "builds", "merge", builds.PrimaryKey)
		sink := &countSink{}
		x := extract.Start(ctx, extract.Config{
			Client: c, Normalizer: normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"}), Sink: sink,
			Redactor: secrets.NewRedactor(canary), Cursors: memCursors{}, Resources: []codefresh.Resource{builds},
			Concurrency: 4, MapPages: mapPages,
		})
		_, recs, err := x.Resource(ctx, builds)
		if err == nil {
			err = x.Stop()
		}
		if err != nil || recs != int64(n) {
			b.Fatalf("%v, %d records of %d", err, recs, n)
		}
		rows = sink.rows.Load()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "builds/s")
	b.ReportMetric(float64(rows), "rows")
}

func BenchmarkExtractBuildsMaps(b *testing.B)  { benchExtractBuilds(b, true) }
func BenchmarkExtractBuildsTapes(b *testing.B) { benchExtractBuilds(b, false) }
