package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// queryWorkerCmd is the hidden subcommand an agent's query runs in: a
// process of bounded memory that is killed at its timeout.
const queryWorkerCmd = "query-worker"

func newQueryWorkerCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    queryWorkerCmd,
		Short:  "Run one query read from stdin in a bounded process (used by the MCP server's query tool)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return dataset.ServeWorker(cmd.Context(), os.Stdin, a.stdout, pipeline.OpenTarget)
		},
	}
}

// queryIsolation runs queries in query-worker processes of this binary.
func queryIsolation() (*dataset.Isolation, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program for the query worker: %w", err)
	}
	return &dataset.Isolation{Command: func(ctx context.Context) *exec.Cmd {
		return exec.CommandContext(ctx, exe, queryWorkerCmd)
	}}, nil
}
