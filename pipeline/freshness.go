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
// it is older than the threshold or was never loaded. opts.StaleAfter zero
// takes the pipeline file's freshness_warning (default 24h); opts.Now nil is
// time.Now. It works on the DuckDB, PostgreSQL and Parquet readers alike;
// dataset.Freshness says how as-of is found.
//
// Example, after a tool read the builds and build_steps tables:
//
//	r, _ := p.Reader(ctx)
//	fr, err := pipeline.Freshness(ctx, r, &p.Config, []string{"builds", "build_steps"}, dataset.FreshnessOptions{})
//	// fr[0].AsOf, fr[0].Age, fr[0].Warning ("stale: ..." or "never loaded: ...")
//
// A query's own tables are in its Result.TablesRead.
func Freshness(ctx context.Context, r dataset.Reader, cfg *Config, tables []string, opts dataset.FreshnessOptions) ([]dataset.TableFreshness, error) {
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = cfg.StaleAfter()
	}
	return dataset.Freshness(ctx, r, tables, opts)
}
