package extract

import (
	"context"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// perParent (StrategyPerParent) reads one record per parent value
// (builds_by_id, build_steps, ...) with bounded concurrency. A parent that
// is gone (404) is skipped.
func (x *Extractor) perParent(ctx context.Context, res codefresh.Resource) error {
	// The parent's extraction drained the normalizer: parent is complete
	// and no longer written.
	values := slices.Compact(slices.Clone(x.parent[res.Name]))
	base := x.pageOptions(res)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(x.cfg.Concurrency)
	for _, v := range values {
		g.Go(func() error {
			opt := base
			opt.PathParams = map[string]string{res.ParentParam: v}
			err := x.cfg.Client.Pages(gctx, res, opt, func(pg *codefresh.Page) error {
				if res.RowsFrom != "" { // a map page: rows-from pages are not decoded onto tapes
					pg = &codefresh.Page{Records: res.Rows(v, pg.Records), Bytes: pg.Bytes}
				}
				return x.emit(gctx, res, pg)
			})
			if codefresh.IsStatus(err, 404) {
				return nil
			}
			return err
		})
	}
	return g.Wait()
}
