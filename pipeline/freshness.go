package pipeline

import (
	"context"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// StaleAfter is the age from which answers call a table's data stale: the
// pipeline file's freshness_warning, else dataset.DefaultStaleAfter.
func (c *Config) StaleAfter() time.Duration {
	if d, err := time.ParseDuration(c.FreshnessWarning); err == nil && d > 0 {
		return d
	}
	return dataset.DefaultStaleAfter
}

func (c *Config) checkFreshness() error {
	if c.FreshnessWarning == "" {
		return nil
	}
	if d, err := time.ParseDuration(c.FreshnessWarning); err != nil || d <= 0 {
		return keyError([]string{"freshness_warning"}, "%q is not a positive duration such as 24h", c.FreshnessWarning)
	}
	return nil
}

// Freshness tells, per table read, the as-of time of its data (the end of
// the newest completed load whose rows it holds), its age and a warning when
// it is older than staleAfter or was never loaded. staleAfter zero takes the
// pipeline file's freshness_warning (default 24h); now nil is time.Now.
// It works on the DuckDB, PostgreSQL and Parquet readers alike; see
// dataset.Freshness for how as-of is found.
//
// Example, after a tool read the builds and build_steps tables:
//
//	r, _ := p.Reader(ctx)
//	fr, err := p.Freshness(ctx, r, []string{"builds", "build_steps"}, 0, nil)
//	// fr[0].AsOf, fr[0].Age, fr[0].Warning ("stale: ..." or "never loaded: ...")
//
// A query's own tables are in its Result.TablesRead.
func (p *Project) Freshness(ctx context.Context, r dataset.Reader, tables []string, staleAfter time.Duration, now func() time.Time) ([]dataset.TableFreshness, error) {
	return Freshness(ctx, r, &p.Config, tables, staleAfter, now)
}

// Freshness is Project.Freshness for a reader and pipeline file in hand.
func Freshness(ctx context.Context, r dataset.Reader, cfg *Config, tables []string, staleAfter time.Duration, now func() time.Time) ([]dataset.TableFreshness, error) {
	if staleAfter <= 0 {
		staleAfter = cfg.StaleAfter()
	}
	return dataset.Freshness(ctx, r, tables, dataset.FreshnessOptions{StaleAfter: staleAfter, Now: now})
}
