package stage

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// BenchmarkStageBuilds normalizes 5,000 simulated builds (about 26k rows in
// 7 tables, the YAML fields included) into a fresh stage through Async and
// flushes it: the load's path after the page decoder.
func BenchmarkStageBuilds(b *testing.B) {
	const n = 5000
	sim := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 20, Builds: n, APIKey: "bench"})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := codefresh.New(codefresh.Options{BaseURL: srv.URL + "/api", APIKey: "bench", RatePerSecond: -1})
	if err != nil {
		b.Fatal(err)
	}
	builds, _ := codefresh.Lookup("builds")
	var recs []map[string]any
	if err := c.Pages(context.Background(), builds, codefresh.PageOptions{}, func(p *codefresh.Page) error {
		recs = append(recs, p.Records...)
		return nil
	}); err != nil || len(recs) != n {
		b.Fatalf("%v, %d records", err, len(recs))
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		s, err := OpenIn(ctx, b.TempDir(), "codefresh_data")
		if err != nil {
			b.Fatal(err)
		}
		schema := normalize.NewSchema("codefresh")
		schema.EnsureRoot("builds", "builds", "merge", []string{"id"})
		norm := normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"})
		sink := NewAsync(s)
		for _, rec := range recs {
			if err := norm.Normalize("builds", rec, sink); err != nil {
				b.Fatal(err)
			}
		}
		if err := sink.Close(); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "builds/s")
}
