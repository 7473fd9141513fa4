package stage

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// The stage paths' benchmarks normalize CFMCP_STAGE_BENCH_BUILDS simulated
// builds (default 100,000: 5,000 distinct records, each round under new ids)
// into a fresh stage and flush it, and report CPU seconds (user+sys of the
// whole process, DuckDB's threads included), allocated bytes, the Go
// runtime's memory, and the process's peak RSS (VmHWM, reset between phases)
// before the first round (the records), while rows are written (through the
// sink's Close) and while the stage commits (Flush). Run each in a process
// of its own:
//
//	go test ./pipeline/destination/stage/ -run '^$' -benchtime 1x -bench '^BenchmarkStagePathAppender$'
//	go test ./pipeline/destination/stage/ -run '^$' -benchtime 1x -bench '^BenchmarkStagePathCSV$'
func BenchmarkStagePathAppender(b *testing.B) {
	benchStagePath(b, func(s *Stage) rowSink { return NewAsync(s) })
}

func BenchmarkStagePathCSV(b *testing.B) {
	benchStagePath(b, func(s *Stage) rowSink { return NewCSVSink(s) })
}

// BenchmarkStagePathCSVAtEnd keeps the files until the end and inserts
// each table's files with one statement, DuckDB's reader using
// CFMCP_STAGE_BENCH_THREADS threads (default the stage's one). One statement
// for a large load can run out of the stage's memory budget.
func BenchmarkStagePathCSVAtEnd(b *testing.B) {
	benchStagePath(b, func(s *Stage) rowSink {
		if th := os.Getenv("CFMCP_STAGE_BENCH_THREADS"); th != "" {
			if _, err := s.conn.ExecContext(context.Background(), "SET threads = "+th); err != nil {
				b.Fatal(err)
			}
		}
		return newCSVSink(s, defaultRollSize, true)
	})
}

type rowSink interface {
	normalize.Sink
	Close() error
}

func benchStagePath(b *testing.B, newSink func(*Stage) rowSink) {
	n := 100_000
	if v := os.Getenv("CFMCP_STAGE_BENCH_BUILDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	const distinct = 5000
	recs := simBuilds(b, distinct)
	ctx := context.Background()
	rss0 := hwmMB(b, true)
	before := rusage(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := OpenIn(ctx, b.TempDir(), "codefresh_data")
		if err != nil {
			b.Fatal(err)
		}
		schema := normalize.NewSchema("codefresh")
		schema.EnsureRoot("builds", "builds", "merge", []string{"id"})
		norm := normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"})
		sink := newSink(s)
		rec := map[string]any{}
		for i := range n {
			src := recs[i%distinct]
			clear(rec)
			for k, v := range src {
				rec[k] = v
			}
			if round := i / distinct; round > 0 {
				rec["id"] = fmt.Sprintf("%v-%d", src["id"], round)
			}
			if err := norm.Normalize("builds", rec, sink); err != nil {
				b.Fatal(err)
			}
		}
		if err := sink.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(hwmMB(b, true), "hwm-write-MB")
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(hwmMB(b, true), "hwm-flush-MB")
		if got := s.Counts()["builds"]; got != int64(n) {
			b.Fatalf("%d builds staged, want %d", got, n)
		}
		b.ReportMetric(float64(s.DiskSize())/(1<<20), "stage-MB")
		s.Close()
	}
	after := rusage(b)
	b.ReportMetric(rss0, "rss0-MB") // after the loop: ResetTimer drops metrics reported before it
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "builds/s")
	b.ReportMetric(cpuSeconds(after)-cpuSeconds(before), "cpu-s")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB") // Go returns little to the OS: about its peak
}

func rusage(b *testing.B) syscall.Rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru
}

func cpuSeconds(ru syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// hwmMB is the process's peak RSS since the last reset (VmHWM), resetting
// it when reset is set.
func hwmMB(b *testing.B, reset bool) float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	var kb float64
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	if reset {
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatal(err)
		}
	}
	return kb / 1024
}
