package extract

import (
	"context"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// listing (StrategyPages) reads a resource as one listing, page after page,
// as its paginator says.
func (x *Extractor) listing(ctx context.Context, res codefresh.Resource) error {
	return x.cfg.Client.Pages(ctx, res, x.pageOptions(res), func(pg *codefresh.Page) error {
		return x.emit(ctx, res, pg)
	})
}
