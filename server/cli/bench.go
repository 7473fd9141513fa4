package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/server/bench"
)

func newBenchCmd(a *app) *cobra.Command {
	var o bench.Options
	var cpuProfile, readme string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the load engine against the simulator (P1 CPU, P2 network, P3 incremental, P4 memory, P5 MCP latency)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			o.Binary, o.Out = bin, cmd.OutOrStdout()
			if asJSON {
				o.Out = a.stderr // stdout is the JSON alone
			}
			o.PGDSN = os.Getenv("CODEFRESH_MCP_BENCH_PG_DSN")
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			report, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(report.Fields); err != nil {
					return fmt.Errorf("print the figures: %w", err)
				}
			}
			if readme == "" {
				return nil
			}
			if err := rewriteReadme(readme, map[string]string{"bench": benchMarkdown(report, time.Now())}); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "wrote the figures of this run into the bench section of %s\n", readme)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Only, "only", "", "run one benchmark: p1, p2, p3, p4 or p5")
	f.IntVar(&o.P1Builds, "p1-builds", 200_000, "builds for P1")
	f.IntVar(&o.P2Builds, "p2-builds", 50_000, "builds for P2")
	f.DurationVar(&o.P2Latency, "p2-latency", 100*time.Millisecond, "latency per request for P2")
	f.IntVar(&o.Concurrency, "concurrency", 8, "requests at once")
	f.IntVar(&o.P3Builds, "p3-builds", 200_000, "builds for P3")
	f.IntVar(&o.P5Builds, "p5-builds", 200_000, "builds of the load P5 queries during")
	f.IntSliceVar(&o.P4Sizes, "p4-sizes", []int{10_000, 1_000_000}, "build counts for P4")
	f.StringSliceVar(&o.Destinations, "destinations", nil, "P1 also into these: parquet, postgres (postgres reads CODEFRESH_MCP_BENCH_PG_DSN)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	f.StringVar(&readme, "write-readme", "", "after the run, put its figures between the bench markers of this README")
	f.BoolVar(&asJSON, "json", false, "print the goal figures as one JSON object of named fields on stdout (progress goes to stderr)")
	return cmd
}

// benchHeader is the table benchMarkdown writes; the README test checks it.
const benchHeader = "| bench | goal | last run |\n|---|---|---|\n"

// benchMarkdown is the README's bench section: the figures of one run. The
// machine is named because figures compare only within one.
func benchMarkdown(report *bench.Report, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe last run (%s, %s/%s, %d cores); `bench --write-readme README.md` replaces it.\n",
		at.Format(time.DateOnly), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if report.Conditions != "" {
		fmt.Fprintf(&b, "Sizes: %s.\n", report.Conditions)
	}
	b.WriteString("\n" + benchHeader)
	for _, f := range report.Figures {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(f.Bench), cell(f.Goal), cell(f.Value))
	}
	b.WriteString("\n")
	return b.String()
}

func cell(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }
