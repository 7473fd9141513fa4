// Command codefresh-mcp loads Codefresh CI/CD data into a database and lets
// AI coding agents query it: an MCP server on stdio when started by an agent,
// a CLI for the same jobs when run by a person (server/cli).
package main

import (
	"context"
	_ "embed"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/cfmcp/codefresh-mcp/server/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// agentsMD is the repository's AGENTS.md: how an agent uses this server.
// `init` writes it into projects. It is embedded here because a Go package
// cannot embed a file from a parent folder.
//
//go:embed AGENTS.md
var agentsMD []byte

func main() {
	tuneGC(os.Getenv, os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, cli.Build{Version: version, AgentsMD: agentsMD})
	stop()
	os.Exit(code)
}

// tuneGC trades some heap for less collection: a load allocates a page's
// records and drops them at once, so at Go's default the collector took
// about a tenth of a load's CPU. The soft limit keeps the heap bounded all
// the same: lower for the load command, whose process holds nothing but
// the pages in flight beside DuckDB, than for a server, whose queries'
// results and dashboards share the heap. GOGC or GOMEMLIMIT in the
// environment win.
func tuneGC(env func(string) string, args []string) {
	if env("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if env("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softLimit(args))
	}
}

// softLimit is the Go heap's soft limit for the command args run.
func softLimit(args []string) int64 {
	if command(args) == "load" {
		return 64 << 20
	}
	return 128 << 20
}

// command is the first of args that is not a flag: the command, unless a
// flag's value comes first (then a limit that is only less tight applies).
func command(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}
