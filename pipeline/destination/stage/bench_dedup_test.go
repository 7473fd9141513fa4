package stage

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkDedupNoRepeats is the cost every load pays: the check of
// 1M staged roots (24-character ids, as builds have) that finds no key twice.
func BenchmarkDedupNoRepeats(b *testing.B) {
	benchDedup(b, 1_000_000, 0)
}

// BenchmarkDedupRepeats drops 1,000 repeated roots of 1M.
func BenchmarkDedupRepeats(b *testing.B) {
	benchDedup(b, 1_000_000, 1000)
}

func benchDedup(b *testing.B, n, repeats int) {
	ctx := context.Background()
	root, child := dedupTables()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			id := fmt.Sprintf("%024x", i)
			if i >= n-repeats {
				id = fmt.Sprintf("%024x", i-n+repeats)
			}
			rowID := fmt.Sprintf("r%d", i)
			if err := s.Write(root, []any{id, "name", rowID}); err != nil {
				b.Fatal(err)
			}
			if err := s.Write(child, []any{"tag", rowID, rowID + "-0"}); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		got, err := s.Dedup(ctx, "pipelines", []string{"id"}, []string{"pipelines__tags"})
		if err != nil || got != int64(repeats) {
			b.Fatalf("dedup = %d, %v; want %d", got, err, repeats)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
