package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/record"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// demoKey is the simulator's key in --demo runs: not a secret, it opens
// nothing but the in-process simulator.
const demoKey = "demo-key-not-secret"

func newLoadCmd(a *app) *cobra.Command {
	var (
		demo                      bool
		resources                 []string
		maxPages                  int
		fullRefresh, dryRun, asJS bool
		destType                  string
		demoBuilds                int
		record, replay, devs      string
		demoNow                   string
		lockTimeout               time.Duration
		summary                   bool
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load Codefresh data into the project's destination (DuckDB by default)",
		Long: `Load the resources enabled in codefresh_pipeline.toml (or the default set) from the
Codefresh API into the destination. --demo loads from a simulator started in this process
(--demo-deviations makes it answer as some real installs do).

--record FILE writes a sanitized record of every HTTP exchange (no key, no header
value, no secret field); --replay FILE serves such a record back instead of the
API, so a load reproduces with no account and no network. A failed load keeps a
bounded record by itself and names it.

--lock-timeout D bounds the wait while another process holds the destination
(its lock is taken while reading the last state and while committing): then the
load fails naming the holder. --summary-line prints one line instead of the
table, for a scheduler's log: "codefresh-mcp load <id>: succeeded, 12 tables,
1,234 rows, 3.2 s" (failed loads too: "...: failed (<cause>), nothing committed").

Exit codes: 0 loaded, 1 failed (nothing committed), 3 completed with errors
(some resources failed, the others were committed), 4 another process held the
destination's lock for the whole wait (nothing committed).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := a.openProject()
			if err != nil {
				return err
			}
			// Log lines and the progress line share stderr: on a terminal a
			// log line clears the progress line and redraws it after itself.
			screen := newStatusLine(a.stderr, term.IsTerminal(int(a.stderr.Fd())))
			p.OwnerBaseURL, p.Logger = a.baseURL, a.loggerTo(screen)
			if destType != "" {
				p.Config.Destination.Type = destType
				if err := p.Config.Validate(); err != nil {
					return err
				}
			}
			if demo && replay != "" {
				return errors.New("--demo and --replay both stand in for the API: pick one")
			}
			if devs != "" && !demo {
				return errors.New("--demo-deviations needs --demo")
			}
			if demoNow != "" && !demo {
				return errors.New("--demo-now needs --demo")
			}
			if summary && asJS {
				return errors.New("--summary-line and --json both choose the output: pick one")
			}
			if lockTimeout < 0 {
				return fmt.Errorf("--lock-timeout %s: want a duration of 0 or more", lockTimeout)
			}
			p.LockWait = lockTimeout
			switch {
			case demo:
				d, err := cfsim.ParseDeviations(devs)
				if err != nil {
					return err
				}
				now, err := simClock("demo-now", demoNow)
				if err != nil {
					return err
				}
				stop, err := startDemo(ctx, p, cfsim.Config{Builds: demoBuilds, Now: now, Deviations: d})
				if err != nil {
					return err
				}
				defer stop()
			case replay != "":
				stop, err := startReplay(ctx, p, replay)
				if err != nil {
					return err
				}
				defer stop()
			}
			opts := pipeline.Options{Resources: resources, MaxPages: maxPages, FullRefresh: fullRefresh, DryRun: dryRun, Record: record}
			opts.Progress = progressPrinter(screen)
			// A login that cannot write is refused now, not mid-commit.
			if err := p.CheckWritable(ctx, opts); err != nil {
				return err
			}
			started := time.Now()
			info, err := p.Run(ctx, opts)
			if summary {
				fmt.Fprintln(cmd.OutOrStdout(), summaryLine(info, err, time.Since(started)))
			}
			if err != nil {
				if pipeline.Classify(err) == trace.CauseLock && ctx.Err() == nil {
					return &exitError{code: exitLocked, err: err}
				}
				return err
			}
			switch {
			case summary:
			case asJS:
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(info); err != nil {
					return err
				}
			default:
				printLoadInfo(cmd.OutOrStdout(), info)
			}
			if info.Status == trace.LoadCompletedWithErrors {
				return &exitError{code: exitCompletedWithErrors, err: fmt.Errorf("load %s completed with errors: %s (`codefresh-mcp info` shows the trace)", info.LoadID, failedNames(info))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&demo, "demo", false, "load from a Codefresh simulator started in this process (no key needed)")
	f.IntVar(&demoBuilds, "demo-builds", 2000, "builds the --demo simulator holds")
	f.StringVar(&demoNow, "demo-now", "", "with --demo: the simulator's clock, RFC 3339; its 90 days of history end there (default: the current hour)")
	f.StringSliceVar(&resources, "resources", nil, "resources to load (default: the pipeline file's enabled set)")
	f.IntVar(&maxPages, "max-pages", 0, "at most this many pages per resource (a quick look: cursors do not move, replace resources are not committed)")
	f.BoolVar(&fullRefresh, "full-refresh", false, "ignore incremental cursors and load everything")
	f.BoolVar(&dryRun, "dry-run", false, "extract and normalize, commit nothing")
	f.BoolVar(&asJS, "json", false, "print the load info as JSON")
	f.StringVar(&destType, "destination", "", "destination: duckdb, postgres or parquet (default: the pipeline file's)")
	f.StringVar(&record, "record", "", "write a sanitized debug record of every HTTP exchange to this file")
	f.StringVar(&replay, "replay", "", "serve this debug record instead of the API (no key, no network)")
	f.DurationVar(&lockTimeout, "lock-timeout", 0, "wait at most this long (e.g. 10m) while another process holds the destination, then exit 4 naming it (default: 10s for DuckDB and Parquet; PostgreSQL waits for the other load's commit)")
	f.BoolVar(&summary, "summary-line", false, "print the result as one line (for a scheduler's log) instead of the table")
	f.StringVar(&devs, "demo-deviations", "", "with --demo: answer as some installs do, e.g. ignore-date-filters,bare-arrays,page-size-cap=25")
	return cmd
}

// failedNames lists a load's failed resources with their causes.
func failedNames(info *pipeline.LoadInfo) string {
	var out []string
	for _, r := range info.Resources {
		if r.Status == trace.StatusFailed {
			out = append(out, r.Name+" ("+string(r.Cause)+")")
		}
	}
	return strings.Join(out, ", ") + " failed"
}

// startReplay serves a debug record on loopback and points the project at it.
func startReplay(ctx context.Context, p *pipeline.Project, path string) (stop func(), err error) {
	rp, err := record.Open(path)
	if err != nil {
		return nil, err
	}
	base, err := rp.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.Credentials = secrets.Static(demoKey, base, "debug record "+filepath.Base(path))
	unpaced(p) // the record answers on loopback
	return func() { rp.Close() }, nil
}

// startDemo starts the simulator on loopback and points the project at it;
// cfg brings the builds, the clock and the deviations.
func startDemo(ctx context.Context, p *pipeline.Project, cfg cfsim.Config) (stop func(), err error) {
	cfg.Seed, cfg.Pipelines, cfg.Projects, cfg.APIKey = 42, 12, 4, demoKey
	sim := cfsim.New(cfg)
	base, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start demo simulator: %w", err)
	}
	p.Credentials = secrets.Static(demoKey, base, "demo simulator")
	demoAnswers(p)
	return func() { sim.Close() }, nil
}

// statusLine is stderr shared by log lines (Write) and, on a terminal, one
// progress line rewritten in place (show): a log line first clears the
// progress line and redraws it below itself, so the two never run together.
type statusLine struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	line string // the progress line on screen, "" when none
}

func newStatusLine(w io.Writer, tty bool) *statusLine { return &statusLine{w: w, tty: tty} }

const clearLine = "\r\033[K"

// Write writes log output.
func (s *statusLine) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line == "" {
		return s.w.Write(p)
	}
	if _, err := io.WriteString(s.w, clearLine); err != nil {
		return 0, err
	}
	n, err := s.w.Write(p)
	if err == nil {
		_, err = io.WriteString(s.w, s.line)
	}
	return n, err
}

// show replaces the progress line.
func (s *statusLine) show(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, clearLine+line)
	s.line = line
}

// done leaves the progress line on screen and ends it.
func (s *statusLine) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line != "" {
		io.WriteString(s.w, "\n")
	}
	s.line = ""
}

// progressPrinter shows progress: one rewritten line on a terminal, a line
// per resource otherwise (logs stay readable).
func progressPrinter(screen *statusLine) func(pipeline.Progress) {
	last := ""
	var lastDraw time.Time
	return func(pr pipeline.Progress) {
		if screen.tty {
			if time.Since(lastDraw) < 100*time.Millisecond && pr.Phase == pipeline.PhaseExtract {
				return
			}
			lastDraw = time.Now()
			screen.show(fmt.Sprintf("%-7s %-22s %6d pages %9d records", pr.Phase, pr.Resource, pr.Pages, pr.Rows))
			if pr.Phase == pipeline.PhaseDone {
				screen.done()
			}
			return
		}
		key := string(pr.Phase) + "/" + pr.Resource
		if key != last {
			last = key
			if pr.Resource != "" {
				fmt.Fprintf(screen, "%s %s (%d pages, %d records so far)\n", pr.Phase, pr.Resource, pr.Pages, pr.Rows)
			} else {
				fmt.Fprintf(screen, "%s (%d pages, %d records)\n", pr.Phase, pr.Pages, pr.Rows)
			}
		}
	}
}

// printLoadInfo prints a load's result the way dlt does, then a row count per table.
func printLoadInfo(w io.Writer, info *pipeline.LoadInfo) {
	if info.DryRun {
		fmt.Fprintf(w, "Dry run of pipeline %s: %d pages read, nothing committed\n", info.Pipeline, info.Pages)
	} else {
		fmt.Fprintf(w, "Pipeline %s load step completed in %.2f seconds\n", info.Pipeline, info.Duration.Seconds())
		fmt.Fprintf(w, "1 load package(s) were loaded to destination %s and into dataset %s\n", info.Destination, info.Dataset)
		fmt.Fprintf(w, "The %s destination used %s location to store data\n", info.Destination, info.Location)
		if info.Status == trace.LoadCompletedWithErrors {
			fmt.Fprintf(w, "Load package %s is LOADED and contains failed jobs: %s\n", info.LoadID, failedNames(info))
		} else {
			fmt.Fprintf(w, "Load package %s is LOADED and contains no failed jobs\n", info.LoadID)
		}
	}
	var names []string
	for t := range info.Tables {
		names = append(names, t)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\n%-45s %10s %10s\n", "table", "inserted", "replaced")
	for _, t := range names {
		st := info.Tables[t]
		fmt.Fprintf(w, "%-45s %10d %10d\n", t, st.Inserted, st.Deleted)
	}
	for _, r := range info.Resources {
		if r.Status != trace.StatusLoaded {
			fmt.Fprintf(w, "\n%s %s: %s", r.Status, r.Name, r.Reason)
		}
	}
	if len(info.NewTables) > 0 {
		fmt.Fprintf(w, "\nnew tables: %s\n", strings.Join(info.NewTables, ", "))
	}
	if len(info.NewColumns) > 0 {
		fmt.Fprintf(w, "\nnew columns: %s\n", strings.Join(info.NewColumns, ", "))
	}
	for _, d := range info.Warnings {
		fmt.Fprintf(w, "\nwarning: %s: expected %s, got %s; %s\n", d.Resource, d.Expected, d.Got, d.Action)
	}
	fmt.Fprintf(w, "\n%d pages, %d HTTP retries\n", info.Pages, info.Retries)
	if info.Record != "" {
		fmt.Fprintf(w, "debug record: %s\n", info.Record)
	}
}

func newSchemaCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the pipeline file (" + pipeline.ConfigFile + ")",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := pipeline.ConfigSchema()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return err
		},
	}
}

// demoAnswers makes the demo show why builds fail: it loads step data and
// the logs of failed builds unless the pipeline file decides, and, the
// simulator being in this process, reads it unpaced unless the file paces.
func demoAnswers(p *pipeline.Project) {
	for _, name := range []string{"build_steps", "build_logs"} {
		rc := p.Config.Resources[name]
		if rc.Enabled != nil {
			continue
		}
		on := true
		rc.Enabled = &on
		if p.Config.Resources == nil {
			p.Config.Resources = map[string]pipeline.ResourceConfig{}
		}
		p.Config.Resources[name] = rc
	}
	unpaced(p)
}

// unpaced lifts the API's pacing for a stand-in API on loopback (the demo
// simulator, a replayed record), unless the pipeline file or the caller set a rate.
func unpaced(p *pipeline.Project) {
	if p.Config.RequestsPerSecond == 0 && p.RatePerSecond == 0 {
		p.RatePerSecond = 1000
	}
}
