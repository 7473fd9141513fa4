// Package bench measures the load engine against the simulator: the CPU path
// beside DuckDB's own read_json (P1), the network path against its bound
// (P2), incremental runs (P3), peak memory (P4) and the MCP server's
// latency as an agent sees it (P5).
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// benchKey opens only the benchmark's own simulator.
const benchKey = "bench-key-not-secret"

// Options size the benchmarks.
type Options struct {
	P1Builds    int           // default 200,000
	P2Builds    int           // default 50,000
	P2Pipelines int           // default 50
	P2Latency   time.Duration // default 100ms
	Concurrency int           // default 8
	P3Builds    int           // default 200,000
	P4Sizes     []int         // default 10,000 and 1,000,000
	P5Builds    int           // default 200,000
	Binary      string        // this program, for P4's separate processes
	// Destinations P1 loads into besides DuckDB: "parquet", "postgres"
	// (PostgreSQL needs PGDSN, a DSN with its password, e.g. the test cluster's).
	Destinations []string
	PGDSN        string
	Out          io.Writer
	Only         string // "p1".."p5" or "" for all

	report *Report // what Run returns
}

// Figure is one measured result against its goal, as the README's benchmark
// section shows the last run.
type Figure struct {
	Bench, Goal, Value string
}

// Fields are the goal figures of a run by name, as `bench --json` prints
// them; null for a benchmark that did not run.
type Fields struct {
	P1Ratio          *float64 `json:"p1_ratio"`             // our builds/s over read_json's
	P2Ratio          *float64 `json:"p2_ratio"`             // wall time over the latency bound
	P3Percent        *float64 `json:"p3_percent"`           // incremental requests, % of the full run's
	P4PeakMB         *float64 `json:"p4_peak_mb"`           // peak RSS at the largest size
	P4Growth         *float64 `json:"p4_growth"`            // peak RSS, largest size over smallest
	P5ToolsListP99MS *float64 `json:"p5_tools_list_p99_ms"` // tools/list
	P5QueryP99MS     *float64 `json:"p5_query_p99_ms"`      // query during the load
	P5QueryMaxMS     *float64 `json:"p5_query_max_ms"`      // query during the load
	P5QueryFailures  *int     `json:"p5_query_failures"`    // queries during the load that failed
}

// Report is what a run measured: the figures against their goals, the
// same by name, and the sizes they were measured at.
type Report struct {
	Figures    []Figure
	Fields     Fields
	Conditions string
}

func (o Options) figure(bench, goal, format string, args ...any) {
	o.report.Figures = append(o.report.Figures, Figure{Bench: bench, Goal: goal, Value: fmt.Sprintf(format, args...)})
}

func ptr[T any](v T) *T { return &v }

// round2 keeps two decimals of a figure.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

func (o *Options) defaults() {
	if o.P1Builds == 0 {
		o.P1Builds = 200_000
	}
	if o.P2Builds == 0 {
		o.P2Builds = 50_000
	}
	if o.P2Pipelines == 0 {
		o.P2Pipelines = 50
	}
	if o.P2Latency == 0 {
		o.P2Latency = 100 * time.Millisecond
	}
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.P3Builds == 0 {
		o.P3Builds = 200_000
	}
	if o.P5Builds == 0 {
		o.P5Builds = 200_000
	}
	if len(o.P4Sizes) == 0 {
		o.P4Sizes = []int{10_000, 1_000_000}
	}
}

// Run runs the benchmarks, prints their figures as it goes and returns the
// main ones, those that have a goal.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	o.report = &Report{Conditions: fmt.Sprintf("P1 %d builds; P2 %d builds at %s latency; concurrency %d; P3 %d builds; P4 %s builds; P5 a load of %d builds",
		o.P1Builds, o.P2Builds, o.P2Latency, o.Concurrency, o.P3Builds, joinInts(o.P4Sizes, " -> "), o.P5Builds)}
	steps := []struct {
		name string
		fn   func(context.Context, Options) error
	}{{"p4", p4}, {"p1", p1}, {"p2", p2}, {"p3", p3}, {"p5", p5}} // P4 first: see loadRSS
	for _, s := range steps {
		if o.Only != "" && o.Only != s.name {
			continue
		}
		if err := s.fn(ctx, o); err != nil {
			return o.report, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return o.report, nil
}

func joinInts(ns []int, sep string) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, sep)
}

// project makes a temp project pointed at a simulator serving cfg.
func project(ctx context.Context, cfg cfsim.Config, conc int) (*pipeline.Project, *cfsim.Server, func(), error) {
	cfg.APIKey = benchKey
	sim := cfsim.New(cfg)
	base, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	dir, err := os.MkdirTemp("", "cfmcp-bench-")
	if err != nil {
		sim.Close()
		return nil, nil, nil, err
	}
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	p.Credentials = secrets.Static(benchKey, base, "bench")
	p.Concurrency = conc
	p.RatePerSecond = 10000
	cleanup := func() { sim.Close(); os.RemoveAll(dir) }
	return p, sim, cleanup, nil
}

func p1(ctx context.Context, o Options) error {
	fmt.Fprintf(o.Out, "P1 CPU path: %d builds, zero latency\n", o.P1Builds)
	ours, p1dir, done, err := p1Load(ctx, o, "duckdb")
	if err != nil {
		return err
	}
	defer done()

	// The same records as NDJSON, ingested by DuckDB's read_json.
	nd := filepath.Join(p1dir.Dir, "builds.ndjson")
	if err := dumpNDJSON(ctx, p1dir.Credentials.BaseURL, nd); err != nil {
		return err
	}
	db, err := duckfile.Open(ctx, filepath.Join(p1dir.Dir, "readjson.duckdb"), false, 0)
	if err != nil {
		return err
	}
	defer db.Close()
	// The best of two runs: the machine's steal time swings single runs
	// widely, and the faster read_json is the harder one to match.
	var rj time.Duration
	for i := range 2 {
		start := time.Now()
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE builds_%d AS SELECT * FROM read_json('%s', format='newline_delimited')`, i, nd)); err != nil {
			return fmt.Errorf("read_json: %w", err)
		}
		if d := time.Since(start); i == 0 || d < rj {
			rj = d
		}
	}
	theirs := float64(o.P1Builds) / rj.Seconds()
	fmt.Fprintf(o.Out, "  DuckDB read_json of the same records (best of 2): %.2fs, %.0f builds/s\n", rj.Seconds(), theirs)
	fmt.Fprintf(o.Out, "  ratio ours/read_json = %.2fx (goal >= 0.6x)\n", ours/theirs)
	o.figure(fmt.Sprintf("P1 ours / `read_json`, %d builds", o.P1Builds), ">= 0.6x", "%.2fx (%.1f s vs %.1f s)",
		ours/theirs, float64(o.P1Builds)/ours, rj.Seconds())
	o.report.Fields.P1Ratio = ptr(round2(ours / theirs))
	for _, d := range o.Destinations {
		if d == "duckdb" {
			continue
		}
		rate, _, done, err := p1Load(ctx, o, d)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		done()
		fmt.Fprintf(o.Out, "  into %s: %.2fx DuckDB's builds/s\n", d, rate/ours)
	}
	return nil
}

// p1Load loads the P1 builds into one destination and prints its figures.
func p1Load(ctx context.Context, o Options, dest string) (buildsPerSec float64, p *pipeline.Project, done func(), err error) {
	p, _, done, err = project(ctx, cfsim.Config{Seed: 1, Builds: o.P1Builds, Pipelines: 20}, o.Concurrency)
	if err != nil {
		return 0, nil, nil, err
	}
	p.Config.Destination.Type = dest
	if dest == "postgres" {
		if o.PGDSN == "" {
			done()
			return 0, nil, nil, fmt.Errorf("set CODEFRESH_MCP_BENCH_PG_DSN to a PostgreSQL DSN (password included) to load into postgres")
		}
		// A fresh dataset per run, so the figures are of a first load.
		p.Config.DatasetName = fmt.Sprintf("bench_%d", time.Now().UnixNano())
		p.Env = func(k string) string {
			if k == "DESTINATION__POSTGRES__CREDENTIALS" {
				return o.PGDSN
			}
			return os.Getenv(k)
		}
	}
	ph := &phases{start: time.Now()}
	cpu0 := cpuTime()
	info, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds"}, Progress: ph.observe})
	if err != nil {
		done()
		return 0, nil, nil, err
	}
	cpu := cpuTime() - cpu0
	var rows int64
	for _, t := range info.Tables {
		rows += t.Inserted
	}
	rate := float64(o.P1Builds) / info.Duration.Seconds()
	fmt.Fprintf(o.Out, "  %s: %.2fs, %.0f builds/s (%d rows in %d tables, %.0f rows/s)\n",
		dest, info.Duration.Seconds(), rate, rows, len(info.Tables), float64(rows)/info.Duration.Seconds())
	fmt.Fprintf(o.Out, "    %s; %.1f CPU-s in this process (simulator included)\n", ph, cpu.Seconds())
	return rate, p, done, nil
}

// dumpNDJSON writes every build the simulator lists, one JSON object a line.
func dumpNDJSON(ctx context.Context, baseURL, path string) error {
	c, err := codefresh.New(codefresh.Options{BaseURL: baseURL, APIKey: benchKey, RatePerSecond: -1})
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	res, _ := codefresh.Lookup("builds")
	err = c.Pages(ctx, res, codefresh.PageOptions{}, func(pg *codefresh.Page) error {
		for _, r := range pg.Raw {
			w.Write(r)
			w.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

func p2(ctx context.Context, o Options) error {
	fmt.Fprintf(o.Out, "P2 network path: %d builds across %d pipelines, %s latency, concurrency %d\n", o.P2Builds, o.P2Pipelines, o.P2Latency, o.Concurrency)
	p, _, done, err := project(ctx, cfsim.Config{Seed: 2, Builds: o.P2Builds, Pipelines: o.P2Pipelines, Latency: o.P2Latency}, o.Concurrency)
	if err != nil {
		return err
	}
	defer done()
	ph := &phases{start: time.Now()}
	info, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds"}, Progress: ph.observe})
	if err != nil {
		return err
	}
	pages := math.Ceil(float64(o.P2Builds) / codefresh.DefaultPageSize)
	bound := time.Duration(pages / float64(o.Concurrency) * float64(o.P2Latency))
	fmt.Fprintf(o.Out, "  wall %.2fs, %d requests (%d pages of records); bound = %.0f pages / %d x %s = %.2fs; ratio %.2fx (goal <= 1.2x)\n",
		info.Duration.Seconds(), info.Requests, info.Pages, pages, o.Concurrency, o.P2Latency, bound.Seconds(), info.Duration.Seconds()/bound.Seconds())
	fmt.Fprintf(o.Out, "  %s\n", ph)
	o.figure(fmt.Sprintf("P2 wall / bound, %d builds at %s", o.P2Builds, o.P2Latency), "<= 1.2x", "%.2fx (%.1f s, bound %.2f s)",
		info.Duration.Seconds()/bound.Seconds(), info.Duration.Seconds(), bound.Seconds())
	o.report.Fields.P2Ratio = ptr(round2(info.Duration.Seconds() / bound.Seconds()))
	return nil
}

// phases notes when a load's last page was normalized and when its commit
// began, from its progress reports.
type phases struct {
	start, lastPage, commit time.Time
}

func (ph *phases) observe(p pipeline.Progress) {
	switch p.Phase {
	case pipeline.PhaseExtract:
		ph.lastPage = time.Now()
	case pipeline.PhaseCommit:
		ph.commit = time.Now()
	}
}

func (ph *phases) String() string {
	end := time.Now()
	return fmt.Sprintf("last page normalized at %.2fs, stage flushed by %.2fs, committed by %.2fs",
		ph.lastPage.Sub(ph.start).Seconds(), ph.commit.Sub(ph.start).Seconds(), end.Sub(ph.start).Seconds())
}

func p3(ctx context.Context, o Options) error {
	history := 365 * 24 * time.Hour
	fmt.Fprintf(o.Out, "P3 incremental: %d builds over %s, then 1%% new builds\n", o.P3Builds, history)
	p, sim, done, err := project(ctx, cfsim.Config{Seed: 3, Builds: o.P3Builds, Pipelines: 30, History: history}, o.Concurrency)
	if err != nil {
		return err
	}
	defer done()
	full, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds"}})
	if err != nil {
		return err
	}
	running := len(sim.BuildIDs("running", "pending", "delayed", "elected", "terminating", "pending-approval"))
	sim.Advance(history / 100)
	inc, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds"}})
	if err != nil {
		return err
	}
	stale, total, err := staleBuilds(ctx, p, sim)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "  full: %d requests %.2fs; incremental: %d requests %.2fs = %.2f%% of the full run's requests (goal <= 2%%)\n",
		full.Requests, full.Duration.Seconds(), inc.Requests, inc.Duration.Seconds(), 100*float64(inc.Requests)/float64(full.Requests))
	fmt.Fprintf(o.Out, "  %d builds were not final before; after the incremental run %d of %d builds differ from the simulator's status\n", running, stale, total)
	o.figure(fmt.Sprintf("P3 incremental / full requests, %d builds", o.P3Builds), "<= 2%", "%.2f%% (%d of %d)",
		100*float64(inc.Requests)/float64(full.Requests), inc.Requests, full.Requests)
	o.figure("P3 builds stale after the incremental run", "0", "%d of %d", stale, total)
	o.report.Fields.P3Percent = ptr(round2(100 * float64(inc.Requests) / float64(full.Requests)))
	return nil
}

// staleBuilds counts loaded builds whose status differs from the simulator's.
func staleBuilds(ctx context.Context, p *pipeline.Project, sim *cfsim.Server) (stale, total int, err error) {
	db, err := duckfile.Open(ctx, p.DestinationLocation(), true, 0)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, status FROM codefresh_data.builds`)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return 0, 0, err
		}
		total++
		if s, ok := sim.Build(id); !ok || s != st {
			stale++
		}
	}
	return stale, total, rows.Err()
}

// p4 runs the simulator and each load as separate processes, so the load's
// peak RSS is its own.
func p4(ctx context.Context, o Options) error {
	fmt.Fprintf(o.Out, "P4 memory: peak RSS of `load --resources builds` (separate processes)\n")
	var rss []int64
	for _, n := range o.P4Sizes {
		kb, dur, err := loadRSS(ctx, o.Binary, n)
		if err != nil {
			return err
		}
		rss = append(rss, kb)
		fmt.Fprintf(o.Out, "  %9d builds: peak RSS %.0f MB, %.1fs\n", n, float64(kb)/1024, dur.Seconds())
	}
	if len(rss) >= 2 {
		growth := float64(rss[len(rss)-1]) / float64(rss[0])
		fmt.Fprintf(o.Out, "  growth %.2fx from the smallest to the largest (goal <= 1.2x, < 150 MB)\n", growth)
		o.figure(fmt.Sprintf("P4 peak RSS, %d -> %d builds", o.P4Sizes[0], o.P4Sizes[len(o.P4Sizes)-1]), "< 150 MB, <= 1.2x",
			"%.0f -> %.0f MB (%.2fx)", float64(rss[0])/1024, float64(rss[len(rss)-1])/1024, growth)
		o.report.Fields.P4Growth = ptr(round2(growth))
	}
	if len(rss) > 0 {
		largest := 0
		for i, n := range o.P4Sizes {
			if n > o.P4Sizes[largest] {
				largest = i
			}
		}
		o.report.Fields.P4PeakMB = ptr(math.Round(float64(rss[largest]) / 1024))
	}
	return nil
}

func loadRSS(ctx context.Context, bin string, builds int) (int64, time.Duration, error) {
	dir, err := processProject("cfmcp-p4-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	base, stopSim, err := startSimulator(ctx, bin, builds, 4)
	if err != nil {
		return 0, 0, err
	}
	defer stopSim()
	load := exec.CommandContext(ctx, bin, "load", "--resources", "builds", "--project", dir, "--base-url", base)
	load.Env = append(os.Environ(), "CF_API_KEY="+benchKey)
	var stderr strings.Builder
	load.Stderr = &stderr
	start := time.Now()
	if err := load.Start(); err != nil {
		return 0, 0, fmt.Errorf("load of %d builds: %w", builds, err)
	}
	// Linux carries the parent's high-water mark into a child started with
	// CLONE_VM, so the child's rusage is max(ours, its own). Poll the
	// child's VmHWM as well, for when ours is the larger.
	polled, exited := make(chan int64, 1), make(chan struct{})
	go func() {
		var hwm int64
		for {
			if kb, ok := vmHWM(fmt.Sprintf("/proc/%d/status", load.Process.Pid)); ok {
				hwm = max(hwm, kb)
			}
			select {
			case <-exited:
				polled <- hwm
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	err = load.Wait()
	dur := time.Since(start)
	close(exited)
	hwm := <-polled
	if err != nil {
		return 0, 0, fmt.Errorf("load of %d builds: %w: %s", builds, err, stderr.String())
	}
	ru, _ := load.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return 0, 0, fmt.Errorf("no rusage")
	}
	if self, ok := vmHWM("/proc/self/status"); ok && ru.Maxrss <= self {
		return hwm, dur, nil
	}
	return ru.Maxrss, dur, nil
}

// processProject makes a temp project folder for a `load` or `serve`
// process of its own, paced at the pipeline file's highest rate: the
// simulator is on loopback.
func processProject(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, pipeline.ConfigFile), []byte("requests_per_second = 1000\nconcurrency = 4\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// vmHWM reads a process's peak resident set (kB) from its status file.
func vmHWM(status string) (int64, bool) {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			_, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb, err == nil
		}
	}
	return 0, false
}

// cpuTime is this process's user and system CPU time so far: on a shared
// machine it varies less than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
