// Command codefresh-mcp loads Codefresh CI/CD data into a database and lets
// AI coding agents query it: an MCP server on stdio when started by an agent,
// a CLI for the same jobs when run by a person.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app carries the global flags every command reads.
type app struct {
	project  string // --project: the project folder (pipeline file, DuckDB file, .dlt/)
	baseURL  string // --base-url: Codefresh API base URL
	logLevel string // --log-level
	stdout   *os.File
	stderr   *os.File
}

// projectDir resolves the project folder: the flag, else Cursor's
// WORKSPACE_FOLDER_PATHS (it starts servers with cwd "/"), else the working directory.
func (a *app) projectDir() (string, error) {
	dir := a.project
	if dir == "" {
		if ws := os.Getenv("WORKSPACE_FOLDER_PATHS"); ws != "" {
			dir = strings.Split(ws, string(os.PathListSeparator))[0]
			dir = strings.Split(dir, ",")[0]
		}
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("working directory: %w", err)
		}
		dir = wd
	}
	return filepath.Abs(dir)
}

// openProject opens the project's pipeline file in the resolved folder.
func (a *app) openProject() (*pipeline.Project, error) {
	dir, err := a.projectDir()
	if err != nil {
		return nil, err
	}
	return pipeline.OpenProject(dir)
}

// logger writes to stderr only: stdout belongs to JSON-RPC when serving.
func (a *app) logger() *slog.Logger { return a.loggerTo(a.stderr) }

// loggerTo is logger writing to w, which stands in for stderr (see statusLine).
func (a *app) loggerTo(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	lv := a.logLevel
	if lv == "" {
		lv = os.Getenv("CODEFRESH_MCP_LOG_LEVEL")
	}
	_ = level.UnmarshalText([]byte(lv))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "codefresh-mcp",
		Short:         "Load Codefresh CI/CD data into DuckDB, PostgreSQL or Parquet and query it; an MCP server for AI coding agents",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.project, "project", "", "project folder (default: the working directory)")
	root.PersistentFlags().StringVar(&a.baseURL, "base-url", "", "Codefresh API base URL (default: $CODEFRESH_BASE_URL or https://g.codefresh.io/api)")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "", "log level: debug, info, warn, error (default: $CODEFRESH_MCP_LOG_LEVEL or info)")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.Args = cobra.NoArgs    // an unknown command is an error, not a server start
	root.RunE = serveDefault(a) // no command: an agent starts the MCP server
	for _, c := range []func(*app) *cobra.Command{
		newVersionCmd,
		newLoadCmd,
		newSchemaCmd,
		newBenchCmd,
		newInitCmd,
		newEndpointsCmd,
		newSecretsCmd,
		newQueryCmd, newInfoCmd,
		newServeCmd, newDocsCmd,
		newSimulateCmd,
		newShowCmd,
		newQueryWorkerCmd,
		// Each command file adds its constructor here.
	} {
		root.AddCommand(c(a))
	}
	return root
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "codefresh-mcp", version)
			return nil
		},
	}
}

// Exit codes beside 0 (success) and 1 (failure).
const exitCompletedWithErrors = 3 // a load committed some resources; others failed

// exitError is an error with its own exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr}
	if err := newRootCmd(a).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, errorText(err))
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

// tuneGC trades some heap for less collection: a load allocates a page's
// records and drops them at once, so at Go's default the collector took
// about a tenth of a load's CPU. The soft limit keeps the heap bounded all
// the same. GOGC or GOMEMLIMIT in the environment win.
func tuneGC(env func(string) string) {
	if env("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if env("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(128 << 20)
	}
}
