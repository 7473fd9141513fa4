package main

import (
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline/bench"
)

func newBenchCmd(a *app) *cobra.Command {
	var o bench.Options
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the load engine against the simulator (P1 CPU, P2 network, P3 incremental, P4 memory, P5 MCP latency)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			o.Binary, o.Out = bin, cmd.OutOrStdout()
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
			return bench.Run(cmd.Context(), o)
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
	return cmd
}
