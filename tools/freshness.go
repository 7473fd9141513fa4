package tools

import (
	"context"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// staleAfterHoursMax bounds the per-call freshness threshold (a year).
const staleAfterHoursMax = 8760

// freshness is how current the tables read are, with the advice for an
// agent when one is stale or never loaded ("" when all are fresh). hours
// zero takes the pipeline file's freshness_warning; info, when set, is the
// reader's Info the caller already read. A failure to tell is itself said,
// as the advice: an answer must not look current when that is unknown.
func (d *Deps) freshness(ctx context.Context, r dataset.Reader, cfg *pipeline.Config, tables []string, hours int, info *dataset.Info) ([]dataset.TableFreshness, string) {
	if len(tables) == 0 {
		return nil, ""
	}
	staleAfter := time.Duration(min(max(hours, 0), staleAfterHoursMax)) * time.Hour
	fr, err := pipeline.Freshness(ctx, r, cfg, tables, dataset.FreshnessOptions{StaleAfter: staleAfter, Now: d.Now, Info: info, Cache: d.Freshness})
	if err != nil {
		return nil, freshnessUnknown(err)
	}
	if dataset.Warned(fr) {
		return fr, freshnessNext
	}
	return fr, ""
}
