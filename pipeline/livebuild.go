package pipeline

import (
	"context"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	buildexplain "github.com/cfmcp/codefresh-mcp/pipeline/explain"
)

// Explainer explains builds from r, the project's dataset, fetching the
// logs of a build that has none loaded from Codefresh (GET only). The key
// is resolved only when a live fetch is needed, so a project without one
// still gets answers from its loaded data.
func (p *Project) Explainer(r dataset.Reader) *buildexplain.Explainer {
	return &buildexplain.Explainer{Reader: r, Dataset: p.Config.Dataset(), Live: p.liveBuildDetail}
}

// liveBuildDetail is the Explainer's live source: the build's log steps.
// Steps are not fetched live: the failing step is then found in the log.
func (p *Project) liveBuildDetail(ctx context.Context, req buildexplain.LiveRequest) (*buildexplain.Detail, error) {
	if !req.Logs {
		return nil, nil
	}
	steps, err := p.LiveBuildLogs(ctx, req.BuildID)
	if err != nil {
		return nil, err
	}
	logs := make([]buildexplain.LogStep, len(steps))
	for i, s := range steps {
		logs[i] = buildexplain.LogStep{Order: s.Order, Name: s.Name, LineCount: s.LineCount, FirstLine: s.FirstLine, Lines: s.Lines}
	}
	return &buildexplain.Detail{Logs: logs}, nil
}
