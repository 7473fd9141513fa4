package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// countingReader counts what Freshness asks of a real reader.
type countingReader struct {
	dataset.Reader
	mu      sync.Mutex
	infos   int
	queries []string
}

func (c *countingReader) Info(ctx context.Context) (*dataset.Info, error) {
	c.mu.Lock()
	c.infos++
	c.mu.Unlock()
	return c.Reader.Info(ctx)
}

func (c *countingReader) Query(ctx context.Context, sql string, opts dataset.QueryOptions) (*dataset.Result, error) {
	c.mu.Lock()
	c.queries = append(c.queries, sql)
	c.mu.Unlock()
	return c.Reader.Query(ctx, sql, opts)
}

func (c *countingReader) DatasetIdentity() (string, string) {
	return c.Reader.(dataset.Identified).DatasetIdentity()
}

// reset returns the Info calls and statements since the last reset.
func (c *countingReader) reset() (infos int, queries []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	infos, queries = c.infos, c.queries
	c.infos, c.queries = 0, nil
	return infos, queries
}

// loadsOnly tells whether every statement reads _dlt_loads alone.
func loadsOnly(queries []string) bool {
	for _, q := range queries {
		if !strings.Contains(q, "_dlt_loads") || strings.Contains(q, "_dlt_load_id") {
			return false
		}
	}
	return true
}

// With a cache, a call while no load committed runs one statement over
// _dlt_loads and answers as a call without the cache; a root table not
// asked before costs its own newest-load statement only; a load in
// between is seen at once; ages are judged by each call's clock.
func TestFreshnessCacheReadsOnlyLoadsWhileUnchanged(t *testing.T) {
	for _, kind := range []string{"duckdb", "postgres", "parquet"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			p := freshnessProject(t, kind)
			first, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds", "pipelines"}})
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cr := &countingReader{Reader: r}
			cache := &dataset.FreshnessCache{}
			now := time.Now()
			clock := func() time.Time { return now }
			cached := func(tables ...string) []dataset.TableFreshness {
				t.Helper()
				fr, err := pipeline.Freshness(ctx, cr, &p.Config, tables, dataset.FreshnessOptions{Now: clock, Cache: cache})
				if err != nil {
					t.Fatal(err)
				}
				want, err := pipeline.Freshness(ctx, r, &p.Config, tables, dataset.FreshnessOptions{Now: clock})
				if err != nil {
					t.Fatal(err)
				}
				if got, exp := show(fr), show(want); got != exp {
					t.Fatalf("cached freshness of %v:\n got %s\nwant %s", tables, got, exp)
				}
				return fr
			}
			expect := func(step string, infos, statements int, wantLoadsOnly bool) []string {
				t.Helper()
				i, qs := cr.reset()
				if i != infos || len(qs) != statements || loadsOnly(qs) != wantLoadsOnly {
					t.Errorf("%s: %d Info calls, statements %q; want %d Info, %d statements, _dlt_loads alone %t", step, i, qs, infos, statements, wantLoadsOnly)
				}
				return qs
			}

			fr := cached("builds")
			expect("first call", 1, 2, false)
			if fr[0].LoadID != first.LoadID {
				t.Errorf("builds as of load %s, want %s", fr[0].LoadID, first.LoadID)
			}
			cached("builds")
			expect("same tables again", 0, 1, true)
			cached("builds", "pipelines")
			qs := expect("a new root table", 0, 2, false)
			if len(qs) == 2 && (!strings.Contains(qs[1], `"pipelines"`) || strings.Contains(qs[1], `"builds"`)) {
				t.Errorf("the newest load of pipelines alone is read; got %q", qs[1])
			}
			cached(p.Config.Dataset()+".pipelines", "builds", "build_steps")
			expect("known root tables and a missing one", 0, 1, true)

			now = now.Add(30 * time.Hour)
			fr = cached("builds")
			expect("a later clock", 0, 1, true)
			if !fr[0].Stale || fr[0].Age != dataset.FormatAge(now.Sub(*fr[0].AsOf)) {
				t.Errorf("30h later: %+v", fr[0])
			}

			second, err := p.Run(ctx, pipeline.Options{Resources: []string{"pipelines"}})
			if err != nil {
				t.Fatal(err)
			}
			fr = cached("pipelines", "builds")
			expect("after a load", 1, 2, false)
			if fr[0].LoadID != second.LoadID || fr[1].LoadID != first.LoadID {
				t.Errorf("after the second load: pipelines as of %s (want %s), builds %s (want %s)", fr[0].LoadID, second.LoadID, fr[1].LoadID, first.LoadID)
			}
			cached("pipelines", "builds")
			expect("after a load, again", 0, 1, true)
		})
	}
}

// One cache over two datasets keeps each one's facts: neither answers
// with the other's loads, also when called at once from many goroutines.
func TestFreshnessCacheKeepsDatasetsApart(t *testing.T) {
	for _, kind := range []string{"duckdb", "postgres", "parquet"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			var readers []*countingReader
			var loads []string
			var projects []*pipeline.Project
			for range 2 {
				p := freshnessProject(t, kind)
				res, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds"}})
				if err != nil {
					t.Fatal(err)
				}
				r, err := p.Reader(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				readers, loads, projects = append(readers, &countingReader{Reader: r}), append(loads, res.LoadID), append(projects, p)
			}
			if loads[0] == loads[1] {
				t.Fatalf("both loads are %s", loads[0])
			}
			cache := &dataset.FreshnessCache{}
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for g := range 8 {
				wg.Go(func() {
					for i := range 5 {
						n := (g + i) % 2
						fr, err := pipeline.Freshness(ctx, readers[n], &projects[n].Config, []string{"builds"}, dataset.FreshnessOptions{Cache: cache})
						if err != nil {
							errs <- err
							return
						}
						if len(fr) != 1 || fr[0].LoadID != loads[n] {
							errs <- fmt.Errorf("dataset %d: %s", n, show(fr))
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// Each dataset's facts are kept: one statement over _dlt_loads each.
			for n, cr := range readers {
				cr.reset()
				fr, err := pipeline.Freshness(ctx, cr, &projects[n].Config, []string{"builds"}, dataset.FreshnessOptions{Cache: cache})
				if err != nil {
					t.Fatal(err)
				}
				if infos, qs := cr.reset(); infos != 0 || len(qs) != 1 || !loadsOnly(qs) || fr[0].LoadID != loads[n] {
					t.Errorf("dataset %d after the concurrent calls: %d Info, statements %q, %s", n, infos, qs, show(fr))
				}
			}
		})
	}
}
