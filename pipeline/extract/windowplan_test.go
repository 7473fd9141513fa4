package extract

import (
	"math"
	"testing"
	"time"
)

func TestPlanWindowsCoversTheRegionLargestFirst(t *testing.T) {
	day0 := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	region := span{day0, day0.AddDate(0, 0, 89)} // 90 days
	const perDay = 5.55                          // pages a day
	ws, rest := planWindows(region, perDay, 90*perDay, 8, -1)
	if rest.days() != 0 {
		t.Fatalf("%d days left unplanned", rest.days())
	}
	requests := 0
	next := region.end
	for i, w := range ws {
		if !w.end.Equal(next) || w.start.After(w.end) {
			t.Fatalf("window %d is %s..%s, want it to end on %s", i, w.start.Format(time.DateOnly), w.end.Format(time.DateOnly), next.Format(time.DateOnly))
		}
		next = w.start.AddDate(0, 0, -1)
		requests += int(math.Ceil(float64(span{w.start, w.end}.days()) * perDay))
	}
	if !next.Equal(region.start.AddDate(0, 0, -1)) {
		t.Fatalf("the windows stop at %s, want %s", next.AddDate(0, 0, 1).Format(time.DateOnly), region.start.Format(time.DateOnly))
	}
	first, last := span{ws[0].start, ws[0].end}.days(), span{ws[len(ws)-1].start, ws[len(ws)-1].end}.days()
	if first <= last || last != 1 {
		t.Errorf("first window %d days, last %d: want the largest first and one day last", first, last)
	}
	// Each window pays for one partly filled last page at most; one window a
	// day (the smallest a window can be) would pay 90.
	if pages := 90 * perDay; float64(requests) >= pages+float64(len(ws)) || len(ws) >= 45 {
		t.Errorf("%d requests in %d windows for %.1f pages", requests, len(ws), pages)
	}
}

func TestPlanWindowsStopsAtTheLimitAndAtAYear(t *testing.T) {
	day0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	region := span{day0, day0.AddDate(0, 0, 1999)}
	ws, rest := planWindows(region, 0.001, 2, 4, 3)
	if len(ws) != 3 {
		t.Fatalf("%d windows, want the limit of 3", len(ws))
	}
	for _, w := range ws {
		if d := (span{w.start, w.end}).days(); d != maxWindowDays {
			t.Errorf("a sparse history's window spans %d days, want the cap %d", d, maxWindowDays)
		}
	}
	if !rest.start.Equal(region.start) || !rest.end.Equal(ws[2].start.AddDate(0, 0, -1)) {
		t.Errorf("left %s..%s", rest.start.Format(time.DateOnly), rest.end.Format(time.DateOnly))
	}
}

func TestWindowDaysPrefersAFullerLastPage(t *testing.T) {
	for _, c := range []struct {
		pages, perDay float64
		want          int
	}{
		{20, 5.55, 3},  // 3 days end on a page 65% full, 4 (the nearer) on one 20% full
		{22, 5.55, 4},  // 3 days would be too few pages
		{11, 5.55, 2},  // 2 days: 11.1 pages; 1 day would be half the pages asked
		{0.5, 5.55, 1}, // never less than a day
		{30, 10, 3},    // whole pages
		{10, 0.001, maxWindowDays},
		{1, 0, maxWindowDays},
	} {
		if got := windowDays(c.pages, c.perDay); got != c.want {
			t.Errorf("windowDays(%v, %v) = %d, want %d", c.pages, c.perDay, got, c.want)
		}
	}
}
