package main

import (
	"context"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/server"
)

// envReadOnly turns on read-only mode where flags are awkward (agent configs).
const envReadOnly = "CODEFRESH_MCP_READ_ONLY"

func newServeCmd(a *app) *cobra.Command {
	var readOnly bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the MCP server on stdio (what an agent starts; also the default with no command)",
		Long: `Run the MCP server on stdio: JSON-RPC on stdin/stdout, logs on stderr.
--read-only (or ` + envReadOnly + `=1) offers only the tools that change nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), a, readOnly)
		},
	}
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "offer only read-only tools (also "+envReadOnly+"=1)")
	return cmd
}

// serveDefault is the root command's action: an agent starts the binary with no arguments.
func serveDefault(a *app) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), a, false) }
}

func serve(ctx context.Context, a *app, readOnly bool) error {
	if v, err := strconv.ParseBool(os.Getenv(envReadOnly)); err == nil && v {
		readOnly = true
	}
	dir, err := a.projectDir()
	if err != nil {
		return err
	}
	// Keys in the environment are known before any tool resolves them.
	red := secrets.NewRedactor(os.Getenv(secrets.EnvAPIKey), os.Getenv(secrets.EnvDltAPIKey))
	s := server.New(server.Options{
		ProjectDir: dir,
		BaseURL:    a.baseURL,
		ReadOnly:   readOnly,
		Version:    version,
		Logger:     a.logger(),
		Redactor:   red,
	})
	return s.ServeStdio(ctx, os.Stdin, a.stdout)
}
