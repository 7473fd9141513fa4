// Package cli is the command line: the cobra commands a person runs, and
// `serve`, which an agent starts. A failed command ends with the next step
// in command words (advice.go).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline"
)

// Build is what the binary knows of itself: main sets the version at link
// time and embeds AGENTS.md, which this package cannot reach.
type Build struct {
	Version  string
	AgentsMD []byte // the repository's AGENTS.md: `init` writes it into projects
}

// Main runs the command line args and returns the process's exit code.
func Main(ctx context.Context, args []string, stdout, stderr *os.File, b Build) int {
	a := &app{stdout: stdout, stderr: stderr, version: b.Version, agentsMD: b.AgentsMD}
	root := newRootCmd(a)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, errorText(err))
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// app carries the global flags every command reads.
type app struct {
	project  string // --project: the project folder (pipeline file, DuckDB file, .dlt/)
	baseURL  string // --base-url: Codefresh API base URL
	logLevel string // --log-level
	stdout   *os.File
	stderr   *os.File
	version  string
	agentsMD []byte
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
		newQueryCmd, newInfoCmd, newMetricsCmd,
		newExplainCmd,
		newServeCmd, newDocsCmd,
		newTokensCmd,
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
			fmt.Fprintln(cmd.OutOrStdout(), "codefresh-mcp", a.version)
			return nil
		},
	}
}

// Exit codes beside 0 (success) and 1 (failure).
const (
	exitCompletedWithErrors = 3 // a load committed some resources; others failed
	exitLocked              = 4 // another process held the destination for the whole wait (--lock-timeout)
)

// exitError is an error with its own exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
