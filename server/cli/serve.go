package cli

import (
	"context"
	"errors"
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
	var h httpFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the MCP server on stdio (what an agent starts; also the default with no command), or over HTTP for a team",
		Long: `Run the MCP server on stdio: JSON-RPC on stdin/stdout, logs on stderr.
--read-only (or ` + envReadOnly + `=1) offers only the tools that change nothing.

--http ADDR serves MCP over Streamable HTTP at http://ADDR/mcp instead, for
clients holding a bearer token (` + "`codefresh-mcp tokens create`" + `), read-only
unless --allow-writes. It listens on loopback unless ADDR says otherwise; put a
TLS reverse proxy in front of any other address. Browser pages are refused
unless their origin is loopback or given with --allow-origin. GET /healthz
answers "ok" without a token. The Codefresh API key is the server's own
(environment, keyring, project): HTTP clients never send or see it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if h.addr != "" {
				if readOnly && h.allowWrites {
					return errors.New("--read-only and --allow-writes contradict each other")
				}
				return serveHTTP(cmd.Context(), a, h)
			}
			if h.allowWrites || len(h.allowOrigins) > 0 {
				return errors.New("--allow-writes and --allow-origin apply to --http only")
			}
			return serve(cmd.Context(), a, readOnly)
		},
	}
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "offer only read-only tools (also "+envReadOnly+"=1)")
	cmd.Flags().StringVar(&h.addr, "http", "", "serve MCP over Streamable HTTP on ADDR (host:port, e.g. 127.0.0.1:8765; port 0 picks one) instead of stdio")
	cmd.Flags().BoolVar(&h.allowWrites, "allow-writes", false, "with --http: also offer the tools that change things (start_load, configure_pipeline...)")
	cmd.Flags().StringSliceVar(&h.allowOrigins, "allow-origin", nil, "with --http: a browser origin allowed besides loopback ones, e.g. https://dash.example.com (repeatable)")
	return cmd
}

// serveDefault is the root command's action: an agent starts the binary with no arguments.
func serveDefault(a *app) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), a, false) }
}

func serve(ctx context.Context, a *app, readOnly bool) error {
	s, err := newServer(a, readOnly)
	if err != nil {
		return err
	}
	return s.ServeStdio(ctx, os.Stdin, a.stdout)
}

// newServer assembles the server serve and serve --http run.
func newServer(a *app, readOnly bool) (*server.Server, error) {
	if n := serveProcs(os.Getenv, runtime.NumCPU()); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	if v, err := strconv.ParseBool(os.Getenv(envReadOnly)); err == nil && v {
		readOnly = true
	}
	dir, err := a.projectDir()
	if err != nil {
		return nil, err
	}
	// Keys in the environment are known before any tool resolves them.
	red := secrets.NewRedactor(os.Getenv(secrets.EnvAPIKey), os.Getenv(secrets.EnvDltAPIKey))
	iso, err := queryIsolation()
	if err != nil {
		return nil, err
	}
	return server.New(server.Options{
		Isolation:  iso,
		ProjectDir: dir,
		BaseURL:    a.baseURL,
		ReadOnly:   readOnly,
		Version:    a.version,
		Logger:     a.logger(),
		Redactor:   red,
	}), nil
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
