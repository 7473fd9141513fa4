package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/record"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

func newSimulateCmd(a *app) *cobra.Command {
	var (
		addr, apiKey, now string
		cfg               cfsim.Config
		tick              time.Duration
		bare              bool
		replay            string
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Serve a simulated Codefresh API with synthetic data (demos, tests, benchmarks)",
		Long: `Serve a faithful simulation of the Codefresh REST API on --addr: the same paths,
envelopes, errors and pagination rules, over deterministic synthetic data.

The first line on stdout is the base URL (ending in /api); point --base-url or
CODEFRESH_BASE_URL at it. The accepted key is --api-key, else $` + secrets.EnvAPIKey + `
(never printed), else a fixed demo key printed on stderr. Runs until interrupted.`,
		Example: `  codefresh-mcp simulate --addr 127.0.0.1:8089 --builds 100000
  codefresh-mcp simulate --addr 127.0.0.1:0 --rate-429 0.1 --latency 50ms --tick 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			if replay != "" {
				return serveReplay(cmd, replay, addr)
			}
			if bare {
				cfg.Deviations.Envelope = "bare"
			}
			if e := cfg.Deviations.Envelope; e != "" && !slices.Contains(cfsim.Envelopes, e) {
				return fmt.Errorf("--envelope %q: want one of %s", e, strings.Join(cfsim.Envelopes, ", "))
			}
			switch {
			case apiKey != "":
				cfg.APIKey = apiKey
			case os.Getenv(secrets.EnvAPIKey) != "":
				cfg.APIKey = os.Getenv(secrets.EnvAPIKey)
				fmt.Fprintf(stderr, "simulate: accepting the key in $%s\n", secrets.EnvAPIKey)
			default:
				cfg.APIKey = cfsim.DemoAPIKey
				fmt.Fprintf(stderr, "simulate: accepting the demo key %q (not a secret)\n", cfsim.DemoAPIKey)
			}
			if cfg.Now, err = simClock("now", now); err != nil {
				return err
			}
			sim := cfsim.New(cfg)
			base, err := sim.Start(ctx, addr)
			if err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
			defer sim.Close()
			fmt.Fprintln(cmd.OutOrStdout(), base)
			fmt.Fprintf(stderr, "simulate: %d builds, %d pipelines, %d projects at %s; Ctrl-C stops\n",
				sim.Count("builds"), sim.Count("pipelines"), sim.Count("projects"), base)
			var tc <-chan time.Time
			if tick > 0 {
				t := time.NewTicker(tick)
				defer t.Stop()
				tc = t.C
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tc:
					sim.Advance(tick)
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8089", "listen address (port 0 picks a free port)")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of the synthetic data")
	f.IntVar(&cfg.Pipelines, "pipelines", 20, "pipelines")
	f.IntVar(&cfg.YAMLSize, "yaml-size", 0, "bytes of each pipeline's YAML in its builds (userYamlDescriptor, finalWorkflowYaml; default 1500)")
	f.IntVar(&cfg.Builds, "builds", 1000, "builds")
	f.IntVar(&cfg.Projects, "projects", 5, "projects")
	f.IntVar(&cfg.Images, "images", 0, "images (default builds/4)")
	f.StringVar(&apiKey, "api-key", "", "the key the simulator accepts (default $"+secrets.EnvAPIKey+", else the demo key); use a throwaway value")
	f.StringSliceVar(&cfg.Scopes, "scopes", nil, "scopes granted to the key, e.g. build:read,pipeline:read (default all)")
	f.DurationVar(&cfg.Latency, "latency", 0, "latency added to every request")
	f.Float64Var(&cfg.Rate429, "rate-429", 0, "share of requests answered 429 Too Many Requests")
	f.DurationVar(&cfg.RetryAfter, "retry-after", time.Second, "Retry-After sent with 429s")
	f.Float64Var(&cfg.Rate5xx, "rate-5xx", 0, "share of requests answered 500/502/503/504")
	f.Float64Var(&cfg.TruncateRate, "truncate-rate", 0, "share of responses cut short")
	f.StringVar(&now, "now", "", "simulated clock start, RFC 3339; the history ends there (default: the current hour)")
	f.BoolVar(&cfg.Deviations.IgnoreDateFilters, "ignore-date-filters", false, "deviation: /workflow ignores startDate and endDate (as older installs do)")
	f.BoolVar(&bare, "bare-arrays", false, "deviation: every list comes as a bare array (same as --envelope bare)")
	f.StringVar(&cfg.Deviations.Envelope, "envelope", "", "deviation: every list under this key: bare, docs, data, items or result")
	f.IntVar(&cfg.Deviations.PageSizeCap, "page-size-cap", 0, "deviation: limit capped at this many records")
	f.StringVar(&cfg.Deviations.RepeatPage, "repeat-page", "", "deviation: this path's page 2 repeats page 1 (e.g. /workflow)")
	f.StringVar(&cfg.Deviations.LoopPages, "loop-pages", "", "deviation: this path's listing never ends (e.g. /pipelines)")
	f.StringVar(&cfg.Deviations.InsertFront, "insert-front", "", "a record is inserted at the front of this offset-paged listing after its first page, so the next page repeats a record (e.g. /pipelines)")
	f.StringVar(&replay, "replay", "", "serve this debug record (load --record) instead of synthetic data")
	f.DurationVar(&tick, "tick", 0, "advance the simulated clock by this much every this often (new builds arrive, running ones finish); 0 freezes it")
	return cmd
}

// simClock is the simulator's clock for simulate and load --demo: the
// flag's RFC 3339 time, else the current hour, so the history ends today and
// a seed gives the same data all hour.
func simClock(flag, value string) (time.Time, error) {
	if value == "" {
		return time.Now().UTC().Truncate(time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: want RFC 3339 like 2024-05-06T08:00:00Z: %w", flag, err)
	}
	return t, nil
}

// serveReplay serves a debug record until interrupted.
func serveReplay(cmd *cobra.Command, path, addr string) error {
	rp, err := record.Open(path)
	if err != nil {
		return err
	}
	base, err := rp.Start(cmd.Context(), addr)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	defer rp.Close()
	fmt.Fprintln(cmd.OutOrStdout(), base)
	fmt.Fprintf(cmd.ErrOrStderr(), "simulate: replaying %d recorded requests of %s at %s (any key); Ctrl-C stops\n", rp.Requests(), path, base)
	<-cmd.Context().Done()
	if m := rp.Misses(); len(m) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "simulate: %d requests were not in the record, first: %s\n", len(m), m[0])
	}
	return nil
}
