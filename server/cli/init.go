package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cfmcp/codefresh-mcp/server/agentinit"
	"github.com/cfmcp/codefresh-mcp/tools"
)

func newInitCmd(a *app) *cobra.Command {
	var agentFlags []string
	var dir string
	var allowWrites bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set a project up for an AI coding agent (claude, cursor, codex): MCP config, AGENTS.md, ignore files",
		Long: `init registers this binary as the "codefresh" MCP server for a coding agent and writes
AGENTS.md (how to use it), the agent's rules, .gitignore entries for the API key file and the
database, and the agent's ignore file. Existing files are merged, never overwritten; a second
run changes nothing. Configs name environment variables, never their values.

Without --agent, init uses the agents whose folders or files the project already has
(.claude/, .mcp.json, CLAUDE.md, .cursor/, .codex/), or asks on a terminal.`,
		Example: "  codefresh-mcp init --agent claude\n  codefresh-mcp init --agent cursor --dir ~/src/ci-metrics",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				d, err := a.projectDir()
				if err != nil {
					return err
				}
				dir = d
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("project folder: %w", err)
			}
			if st, err := os.Stat(abs); err != nil || !st.IsDir() {
				return fmt.Errorf("project folder %s: not a directory", abs)
			}
			agents, err := chooseAgents(agentFlags, abs, cmd.InOrStdin(), cmd.ErrOrStderr(), term.IsTerminal(int(os.Stdin.Fd())))
			if err != nil {
				return err
			}
			bin, err := agentinit.BinaryPath()
			if err != nil {
				return err
			}
			opts := agentinit.Options{Dir: abs, Binary: bin, AgentsMD: a.agentsMD, Agents: agents, AllowWrites: allowWrites}
			opts.ReadTools, opts.WriteTools = toolsByBehaviour()
			results, err := agentinit.Run(cmd.Context(), opts)
			out := cmd.OutOrStdout()
			if len(results) > 0 {
				printResults(out, abs, agents, results)
			}
			if err != nil {
				return fmt.Errorf("init: %w", err)
			}
			if isTempBuild(cmd.Context(), bin) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s looks like a temporary build (go run); install the binary and run init again so the agent finds it\n", bin)
			}
			fmt.Fprintln(out, "\nNext steps:")
			for i, s := range agentinit.NextSteps(agents) {
				fmt.Fprintf(out, "  %d. %s\n", i+1, s)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&agentFlags, "agent", nil, "agent to set up: claude, cursor or codex (repeat or comma-separate for several)")
	cmd.Flags().StringVar(&dir, "dir", "", "project folder (default: --project or the working directory)")
	cmd.Flags().BoolVar(&allowWrites, "allow-writes", false, "Claude Code: also allow the tools that change the project (start_load, configure_pipeline, cancel_load) without asking, as `claude -p` needs to load")
	return cmd
}

// toolsByBehaviour splits our tools by their readOnlyHint, so a new tool
// gets the right permission rules without a list to keep in step.
func toolsByBehaviour() (read, write []string) {
	for _, tl := range tools.Definitions() {
		if ro := tl.Def.Annotations.ReadOnlyHint; ro != nil && *ro {
			read = append(read, tl.Def.Name)
		} else {
			write = append(write, tl.Def.Name)
		}
	}
	return read, write
}

// chooseAgents takes the --agent values, else the agents the project already
// uses, else asks on a terminal, else fails with the choices.
func chooseAgents(flags []string, dir string, in io.Reader, prompt io.Writer, tty bool) ([]agentinit.Agent, error) {
	var agents []agentinit.Agent
	for _, f := range flags {
		ag, err := agentinit.ParseAgent(f)
		if err != nil {
			return nil, err
		}
		if !containsAgent(agents, ag) {
			agents = append(agents, ag)
		}
	}
	if len(agents) > 0 {
		return agents, nil
	}
	found, err := agentinit.Detect(dir)
	if err != nil {
		return nil, err
	}
	if len(found) > 0 {
		return found, nil
	}
	if !tty {
		return nil, fmt.Errorf("no agent folder found in %s (.claude/, .mcp.json, CLAUDE.md, .cursor/, .codex/): pass --agent with one of %s", dir, agentinit.AgentNames())
	}
	fmt.Fprintf(prompt, "Which coding agent do you use? (%s): ", agentinit.AgentNames())
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && strings.TrimSpace(line) == "" {
		return nil, fmt.Errorf("no agent chosen: pass --agent with one of %s", agentinit.AgentNames())
	}
	for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		ag, err := agentinit.ParseAgent(f)
		if err != nil {
			return nil, err
		}
		if !containsAgent(agents, ag) {
			agents = append(agents, ag)
		}
	}
	if len(agents) == 0 {
		return nil, fmt.Errorf("no agent chosen: pass --agent with one of %s", agentinit.AgentNames())
	}
	return agents, nil
}

func containsAgent(list []agentinit.Agent, a agentinit.Agent) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

func printResults(w io.Writer, dir string, agents []agentinit.Agent, results []agentinit.FileResult) {
	names := make([]string, len(agents))
	for i, ag := range agents {
		names[i] = string(ag)
	}
	fmt.Fprintf(w, "codefresh-mcp init (%s) in %s\n", strings.Join(names, ", "), dir)
	for _, r := range results {
		fmt.Fprintf(w, "  %-9s  %s\n", r.Status, r.Path)
	}
}

// isTempBuild spots a binary from `go run` or `go test`, which is deleted
// after the run (or lives in the build cache, which is cleaned): a config
// pointing at it would break at the next start. Such a binary sits in a
// go-build folder or under the Go build cache or GOTMPDIR, wherever those are.
func isTempBuild(ctx context.Context, bin string) bool {
	if strings.Contains(filepath.ToSlash(bin), "/go-build") {
		return true
	}
	for _, dir := range goBuildDirs(ctx) {
		if rel, err := filepath.Rel(dir, bin); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return true
		}
	}
	return false
}

// goBuildDirs are the folders the go command builds in: GOCACHE and
// GOTMPDIR as set in the environment or by `go env -w` (asked of the go
// command when there is one), and the default cache.
func goBuildDirs(ctx context.Context) []string {
	dirs := []string{os.Getenv("GOCACHE"), os.Getenv("GOTMPDIR")}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "go-build"))
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, goBin, "env", "GOCACHE", "GOTMPDIR").Output(); err == nil {
			dirs = append(dirs, strings.Split(strings.TrimSpace(string(out)), "\n")...)
		}
	}
	var abs []string
	for _, d := range dirs {
		d = strings.TrimSpace(d)
		if d == "" || d == "off" {
			continue
		}
		if r, err := filepath.EvalSymlinks(d); err == nil {
			d = r
		}
		if a, err := filepath.Abs(d); err == nil {
			abs = append(abs, a)
		}
	}
	return abs
}
