package pipeline

import (
	"context"

	"github.com/cfmcp/codefresh-mcp/pipeline/cimetrics"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// CIMetrics computes req over the CI views of the dataset r reads, with
// the deploy pipelines the pipeline file c names.
func CIMetrics(ctx context.Context, r dataset.Reader, c Config, req cimetrics.Request) (*cimetrics.Answer, error) {
	return cimetrics.Compute(ctx, r, req, cimetrics.Options{Dataset: c.Dataset(), DeployPipelines: c.CI.DeployPipelines})
}
