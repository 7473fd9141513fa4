package extract

import (
	"math"
	"time"
)

// A builds listing's plan: the date windows that cover its days, sized so
// that the workers finish together. Pages of one window are sequential, so a
// window is a job whose length is its page count; each window also ends on
// one partly filled page. Few large windows first and small ones last
// (guided self-scheduling: each window takes the remaining pages over the
// worker count) keep every worker busy to the end with few partial pages.

// historyProbes are the days before the frontier the first round of probes
// looks at, nearest first, to bracket the oldest build.
var historyProbes = []int{7, 30, 60, 120, 240, 480, 960, 1920}

// probeDays picks n of historyProbes (n may be zero) for the first round.
func probeDays(n int) []int {
	return historyProbes[:max(0, min(n, len(historyProbes)))]
}

// span is a run of days, both ends included.
type span struct{ start, end time.Time }

func (s span) days() int {
	if s.end.Before(s.start) {
		return 0
	}
	return int(s.end.Sub(s.start).Hours()/24) + 1
}

// planWindows cuts region into windows walking back from its end: each
// window is sized for about the pages left (estimate pagesLeft, region
// included) over workers, at least one day and at most maxWindowDays, at
// pagesPerDay. It plans at most limit windows (negative: no limit) and
// returns them with what is left of the region.
func planWindows(region span, pagesPerDay, pagesLeft float64, workers, limit int) ([]*window, span) {
	var out []*window
	for region.days() > 0 && (limit < 0 || len(out) < limit) {
		width := min(windowDays(pagesLeft/float64(max(1, workers)), pagesPerDay), region.days())
		start := region.end.AddDate(0, 0, -(width - 1))
		out = append(out, &window{start: start, end: region.end})
		pagesLeft = math.Max(0, pagesLeft-float64(width)*pagesPerDay)
		region.end = start.AddDate(0, 0, -1)
	}
	return out, region
}

// windowDays is the width in days of a window of about pages pages at
// pagesPerDay: at least one page, between one day and maxWindowDays. Of the
// two widths nearest, both close enough to the pages asked, it takes the one
// whose last page is the fuller, since every window pays a whole request for
// its last page.
func windowDays(pages, pagesPerDay float64) int {
	if pagesPerDay <= 0 {
		return maxWindowDays
	}
	exact := math.Max(1, pages) / pagesPerDay
	lo, hi := int(math.Max(1, math.Floor(exact))), int(math.Max(1, math.Ceil(exact)))
	near := func(d int) bool { return float64(d) >= 0.8*exact && float64(d) <= 1.25*exact }
	best := lo
	if exact-float64(lo) > float64(hi)-exact {
		best = hi // the nearer
	}
	if other := lo + hi - best; near(other) && lastPageFill(other, pagesPerDay) > lastPageFill(best, pagesPerDay) {
		best = other
	}
	return min(best, maxWindowDays)
}

// lastPageFill is how full (0 to 1, 1 full) the last page of a window of
// days days at pagesPerDay is expected to be.
func lastPageFill(days int, pagesPerDay float64) float64 {
	p := float64(days) * pagesPerDay
	f := p - math.Floor(p)
	if f == 0 {
		return 1
	}
	return f
}
