package normalize

import (
	"testing"
)

type discard struct{}

func (discard) Write(*Table, []any) error { return nil }

// BenchmarkNormalizeBuild normalizes a realistic Codefresh build (root row
// plus 9 child rows in 6 child tables) against a settled schema.
func BenchmarkNormalizeBuild(b *testing.B) {
	rec := loadBuild(b, "build_full.json")
	s := NewSchema("codefresh")
	s.EnsureRoot("builds", "builds", "merge", []string{"id"})
	n := New(s, Options{LoadID: "1749667187.541553"})
	if err := n.Normalize("builds", rec, discard{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := n.Normalize("builds", rec, discard{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
