package extract

import (
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

func TestSinceDropsOlderRecords(t *testing.T) {
	pg := &codefresh.Page{Records: []map[string]any{
		{"id": "3", "created": "2024-03-03T10:00:00Z"},
		{"id": "2", "created": "2024-03-02T10:00:00Z"},
		{"id": "1", "created": "2024-03-01T10:00:00Z"},
	}}
	recs, older := since(pg, "created", time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC))
	if recs.Len() != 2 || !older || recs.Records[1]["id"] != "2" {
		t.Errorf("since: %v, older %v", recs.Records, older)
	}
	if recs, older := since(pg, "created", time.Time{}); recs.Len() != 3 || older {
		t.Errorf("since zero: %v, older %v", recs.Records, older)
	}
}

func TestCoverageSkipsWhatWindowsRead(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	cov := &coverage{partial: map[string]bool{}, after: day(10)}
	cov.complete(day(3), day(5))
	cov.abandon([]string{"x"})
	for _, c := range []struct {
		rec  map[string]any
		want bool
	}{
		{map[string]any{"id": "a", "created": "2024-03-11T00:00:00Z"}, true}, // on the first page
		{map[string]any{"id": "b", "created": "2024-03-04T00:00:00Z"}, true}, // in a window read whole
		{map[string]any{"id": "c", "created": "2024-03-07T00:00:00Z"}, false},
		{map[string]any{"id": "x", "created": "2024-03-07T00:00:00Z"}, true}, // emitted by a window that stopped
	} {
		if got := cov.has(codefresh.MapRecord(c.rec), "created"); got != c.want {
			t.Errorf("has(%v) = %v, want %v", c.rec, got, c.want)
		}
	}
}
