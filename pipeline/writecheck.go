package pipeline

import (
	"context"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

// CheckWritable tells, before a load starts, that the destination's login
// cannot write the dataset (a *destination.WriteDeniedError naming what it
// lacks), so that a read-only login is refused at once instead of failing
// mid-commit. A dry run commits nothing and is not checked; nor are
// destinations that cannot tell (local files fail plainly when read-only),
// nor one that cannot be opened (the load reports why).
func (p *Project) CheckWritable(ctx context.Context, opts Options) error {
	if opts.DryRun {
		return nil
	}
	dest, err := p.Destination()
	if err != nil {
		return nil // the load itself reports a destination it cannot open
	}
	defer dest.Close()
	wc, ok := dest.(destination.WriteChecker)
	if !ok {
		return nil
	}
	return wc.CheckWrite(ctx)
}
