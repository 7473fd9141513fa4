package extract

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
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

// history is what the first round of probes told about a listing's days.
type history struct {
	known  bool      // oldest is the first day to list
	oldest time.Time // (known)
	// Otherwise: no build on or before day lo, and one on day hi.
	lo, hi time.Time
}

// probeHistory sends the first round of probes at once and waits for every
// answer before it judges them, so the requests made do not depend on
// their timing. With a lower bound (an incremental run) the days to list
// are known and only the dates check is sent.
func (x *Extractor) probeHistory(ctx context.Context, res codefresh.Resource, opt codefresh.PageOptions, frontier, lower time.Time, conc int) (history, error) {
	probeDay := frontier.AddDate(0, 0, -1)
	type probe struct {
		start, end time.Time // start zero: anything up to end
		newest     time.Time
		err        error
	}
	var probes []*probe
	if lower.IsZero() || !probeDay.Before(lower) {
		probes = append(probes, &probe{start: probeDay, end: probeDay})
	}
	// Nothing can be older than the oldest possible day; an API that still
	// has records there is ignoring endDate.
	beforeAll := &probe{end: oldestPossible.AddDate(0, 0, -1)}
	if lower.IsZero() {
		probes = append(probes, beforeAll)
		for _, d := range probeDays(conc - 2) {
			if end := frontier.AddDate(0, 0, -d); end.After(oldestPossible) {
				probes = append(probes, &probe{end: end})
			}
		}
	}
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.newest, p.err = x.newestBetween(ctx, res, opt, p.start, p.end)
		}()
	}
	wg.Wait()
	for _, p := range probes {
		if p.err != nil {
			return history{}, p.err
		}
	}
	if !lower.IsZero() {
		return history{known: true, oldest: lower}, nil
	}
	if !beforeAll.newest.IsZero() {
		return history{}, &datesIgnoredError{got: "builds listed before " + oldestPossible.Format("2006-01-02") + ", older than any Codefresh build"}
	}
	h := history{lo: oldestPossible.AddDate(0, 0, -1), hi: frontier}
	for _, p := range probes {
		if p.start.IsZero() && p.newest.IsZero() && p.end.After(h.lo) && p.end.Before(h.hi) {
			h.lo = p.end
		}
		if t := truncDay(p.newest); !p.newest.IsZero() && t.Before(h.hi) {
			h.hi = t
		}
	}
	if !h.lo.Before(h.hi) { // answers that contradict each other: list every possible day
		return history{known: true, oldest: oldestPossible}, nil
	}
	if h.lo.AddDate(0, 0, 1).Equal(h.hi) {
		return history{known: true, oldest: h.hi}, nil
	}
	return h, nil
}

// findOldest narrows down, one request at a time, the day of the oldest
// build, given none on or before day lo and one on day hi.
func (x *Extractor) findOldest(ctx context.Context, res codefresh.Resource, opt codefresh.PageOptions, lo, hi time.Time) (time.Time, error) {
	for {
		gap := span{lo, hi}.days() - 1
		if gap <= 1 {
			return hi, nil
		}
		mid := lo.AddDate(0, 0, gap/2)
		newest, err := x.newestBetween(ctx, res, opt, time.Time{}, mid)
		if err != nil {
			return time.Time{}, err
		}
		if newest.IsZero() {
			lo = mid
		} else if t := truncDay(newest); t.Before(hi) {
			hi = t
		} else {
			return lo.AddDate(0, 0, 1), nil // an answer outside the dates asked for: list every day left
		}
	}
}
