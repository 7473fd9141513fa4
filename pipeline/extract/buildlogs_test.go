package extract

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestChooseLogBuildsNewestPerPipelineInStatuses(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2024, 5, 1, 0, m, 0, 0, time.UTC) }
	var seen []logBuild
	for i := range 9 {
		st := []string{"error", "success", "terminated"}[i%3]
		seen = append(seen, logBuild{id: fmt.Sprintf("a%d", i), progress: "p", status: st, pipeline: "A", created: at(i)})
		seen = append(seen, logBuild{id: fmt.Sprintf("b%d", i), progress: "p", status: st, pipeline: "B", created: at(i)})
	}
	// a0 is read again by id, since finished: its last reading counts.
	seen = append(seen, logBuild{id: "a0", progress: "p", status: "success", pipeline: "A", created: at(0)})
	got := chooseLogBuilds(seen, LogSettings{Statuses: []string{"error", "terminated"}, NewestPerPipeline: 4})
	var ids []string
	for _, b := range got {
		ids = append(ids, b.id)
	}
	// A: error at 0 (now success), 3, 6; terminated at 2, 5, 8 -> newest 4: 8 6 5 3.
	if want := []string{"a8", "a6", "a5", "a3", "b8", "b6", "b5", "b3"}; !slices.Equal(ids, want) {
		t.Fatalf("chose %v, want %v", ids, want)
	}
	if got := chooseLogBuilds(seen, LogSettings{Statuses: []string{"running"}, NewestPerPipeline: 4}); len(got) != 0 {
		t.Fatalf("chose %d builds in no matching status", len(got))
	}
}

func TestCutLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghijkl", 10, "abcdefghij …[line cut: 2 more characters]"},
		{"ééééé", 3, "ééé …[line cut: 2 more characters]"},
	} {
		if got := cutLine(tc.in, tc.n); got != tc.want {
			t.Errorf("cutLine(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
