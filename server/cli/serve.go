package cli

import (
	"context"
	"os"
	"runtime"
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
	if n := serveProcs(os.Getenv, runtime.NumCPU()); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	if v, err := strconv.ParseBool(os.Getenv(envReadOnly)); err == nil && v {
		readOnly = true
	}
	dir, err := a.projectDir()
	if err != nil {
		return err
	}
	// Keys in the environment are known before any tool resolves them.
	red := secrets.NewRedactor(os.Getenv(secrets.EnvAPIKey), os.Getenv(secrets.EnvDltAPIKey))
	iso, err := queryIsolation()
	if err != nil {
		return err
	}
	s := server.New(server.Options{
		Isolation:  iso,
		ProjectDir: dir,
		BaseURL:    a.baseURL,
		ReadOnly:   readOnly,
		Version:    a.version,
		Logger:     a.logger(),
		Redactor:   red,
	})
	return s.ServeStdio(ctx, os.Stdin, a.stdout)
}

// serveProcs is how many Ps the server runs with: twice the cores, at
// least 4, so that a tool call's goroutines get a thread at once while a
// load keeps every core busy and the kernel, which favours threads that
// just woke, shares the cores between them. With one P per core a call
// waited behind load goroutines at each hop (bench P5 measures query
// latency during a load). GOMAXPROCS in the environment wins (0).
func serveProcs(env func(string) string, cores int) int {
	if env("GOMAXPROCS") != "" {
		return 0
	}
	return max(4, 2*cores)
}
