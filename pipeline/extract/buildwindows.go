package extract

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// nonTerminal are build statuses that can still change; such builds are
// fetched again on the next incremental run so their status settles.
var nonTerminal = map[string]bool{
	"pending": true, "delayed": true, "elected": true, "running": true,
	"terminating": true, "pending-approval": true,
}

const day = 24 * time.Hour

// cursorTracker follows an incremental cursor over the records of one run.
type cursorTracker struct {
	field   string
	mu      sync.Mutex
	max     time.Time
	maxRaw  string
	pending []string        // non-terminal ids seen this run
	watch   map[string]bool // previously pending ids; true once seen
}

func (t *cursorTracker) observe(pg *codefresh.Page) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range pg.Len() {
		rec := pg.Record(i)
		id := rec.ID()
		if _, ok := t.watch[id]; ok {
			t.watch[id] = true
		}
		if nonTerminal[rec.String("status")] && id != "" {
			t.pending = append(t.pending, id)
		}
		raw := rec.String(t.field)
		if ts, err := time.Parse(time.RFC3339Nano, raw); err == nil && ts.After(t.max) {
			t.max, t.maxRaw = ts, raw
		}
	}
}

// buildWindows (StrategyBuildWindows) lists builds incrementally: from the
// last loaded `created` minus the look-back (startDate has day granularity),
// in parallel date windows, then fetches again the builds that were still
// running last time.
func (x *Extractor) buildWindows(ctx context.Context, res codefresh.Resource) error {
	field := res.IncrementalCursor
	prev := x.cfg.Cursors.Cursor(res.Name, field)
	if x.cfg.FullRefresh {
		prev = Cursor{}
	}
	var from time.Time
	if prev.LastValue != "" {
		lv, err := time.Parse(time.RFC3339Nano, prev.LastValue)
		if err != nil {
			return fmt.Errorf("incremental cursor %s.%s %q: %w", res.Name, field, prev.LastValue, err)
		}
		from = lv.Add(-x.cfg.Lookback)
	} else if iv := x.cfg.Settings[res.Name].InitialValue; iv != "" {
		from, _ = time.Parse("2006-01-02", iv) // validated with the config
		prev.InitialValue = iv
	}
	tr := &cursorTracker{field: field, watch: map[string]bool{}}
	if prev.LastValue != "" {
		tr.max, _ = time.Parse(time.RFC3339Nano, prev.LastValue)
		tr.maxRaw = prev.LastValue
	}
	for _, id := range prev.PendingIDs {
		tr.watch[id] = false
	}
	emit := func(pg *codefresh.Page) error {
		recs, older := since(pg, res.IncrementalCursor, from)
		tr.observe(recs)
		if err := x.emit(ctx, res, recs); err != nil {
			return err
		}
		if older {
			return errStopListing // newest first: the rest of this window was loaded before
		}
		return nil
	}
	opt := x.pageOptions(res)
	if !from.IsZero() {
		opt.Query.Set("startDate", from.UTC().Format("2006-01-02"))
	}
	if x.cfg.MaxPages > 0 {
		// A quick look: the newest pages only, and the cursor stays where it was,
		// since older builds of the window were not read.
		return x.listAll(ctx, res, opt, emit)
	}
	cov := &coverage{partial: map[string]bool{}}
	err := x.listWindows(ctx, res, opt, from, emit, cov)
	var di *datesIgnoredError
	if errors.As(err, &di) {
		x.deviate(codefresh.Deviation{Resource: res.Name, Kind: codefresh.DeviationDateFilters,
			Expected: "only builds created between startDate and endDate", Got: di.got,
			Action: "listed builds newest first without date filters down to " + orOldest(from) + ", skipping those already read"})
		err = x.listSequential(ctx, res, opt, from, cov, emit)
	}
	if err != nil {
		return err
	}
	if err := x.refetch(ctx, res, tr); err != nil {
		return err
	}
	slices.Sort(tr.pending)
	x.cfg.Cursors.SetCursor(res.Name, field, Cursor{
		InitialValue: prev.InitialValue,
		LastValue:    tr.maxRaw,
		PendingIDs:   slices.Compact(tr.pending),
	})
	return nil
}

// errStopListing ends a listing early without an error.
var errStopListing = errors.New("stop listing")

// since keeps a page's records at or after from (all when from is zero) and
// says whether it dropped older ones. startDate has day granularity; this
// makes the look-back exact.
func since(pg *codefresh.Page, field string, from time.Time) (*codefresh.Page, bool) {
	if from.IsZero() {
		return pg, false
	}
	older := false
	recs := pg.Filter(func(rec codefresh.Record) bool {
		if t := recordTime(rec, field); !t.IsZero() && t.Before(from) {
			older = true
			return false
		}
		return true
	})
	return recs, older
}

// listAll runs one listing, treating errStopListing as its normal end.
func (x *Extractor) listAll(ctx context.Context, res codefresh.Resource, opt codefresh.PageOptions, fn func(*codefresh.Page) error) error {
	return endOfListing(x.cfg.Client.Pages(ctx, res, opt, fn))
}

// endOfListing turns errStopListing, a listing's normal early end, into nil.
func endOfListing(err error) error {
	if errors.Is(err, errStopListing) {
		return nil
	}
	return err
}

// refetch reads again, one by one, the builds that were not final at the last
// load and did not come back in this run's window.
func (x *Extractor) refetch(ctx context.Context, res codefresh.Resource, tr *cursorTracker) error {
	detail, ok := codefresh.Lookup(res.Name + "_by_id")
	if !ok {
		return nil
	}
	var ids []string
	for id, seen := range tr.watch {
		if !seen {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(x.cfg.Concurrency)
	for _, id := range ids {
		g.Go(func() error {
			err := x.cfg.Client.Pages(gctx, detail, codefresh.PageOptions{PathParams: map[string]string{detail.ParentParam: id}, Tapes: x.tapePool()}, func(pg *codefresh.Page) error {
				tr.observe(pg)
				return x.emit(gctx, res, pg)
			})
			if codefresh.IsStatus(err, 404) {
				return nil // deleted since: nothing to settle
			}
			return err
		})
	}
	return g.Wait()
}

// listWindows lists a page-cursor resource in parallel date windows, each
// window its own pagination session, newest first. A first page tells how
// dense the history is; workers then take windows walking back in time, and
// a window that comes back empty asks (one cheap request) whether anything
// older exists at all.
func (x *Extractor) listWindows(ctx context.Context, res codefresh.Resource, opt codefresh.PageOptions, from time.Time, emit func(*codefresh.Page) error, cov *coverage) error {
	pageSize := opt.PageSize
	if pageSize <= 0 {
		pageSize = res.PageSize
	}
	if pageSize <= 0 {
		pageSize = codefresh.DefaultPageSize
	}
	var first *codefresh.Page
	probe := opt
	probe.PageSize, probe.MaxPages = pageSize, 1
	if err := x.cfg.Client.Pages(ctx, res, probe, func(pg *codefresh.Page) error { first = pg; return nil }); err != nil {
		return err
	}
	if first == nil {
		return nil
	}
	if !first.More {
		return endOfListing(emit(first)) // the whole listing fit in one page
	}
	pageSize = first.Len() // what the server sends, if it caps the limit
	newest, oldest := recordTime(first.Record(0), res.IncrementalCursor), recordTime(first.Record(first.Len()-1), res.IncrementalCursor)
	if sd := opt.Query.Get("startDate"); sd != "" && !oldest.IsZero() && oldest.Before(dayOf(sd)) {
		return &datesIgnoredError{got: fmt.Sprintf("a build created %s for startDate=%s", oldest.Format(time.RFC3339), sd)}
	}
	if newest.IsZero() || oldest.IsZero() || oldest.Before(oldestPossible) {
		// No dates to window by, or dates older than any real build: one
		// sequential listing loses nothing.
		return x.listAll(ctx, res, opt, emit)
	}
	// Keep the records of days after the oldest day on the page: every build of
	// those days is newer than the page's last record, so the page has them all.
	frontier := truncDay(oldest)
	spanDays := math.Max(1.0/1440, newest.Sub(oldest).Hours()/24) // a busy account fills a page in hours
	perDay := float64(pageSize) / spanDays
	keep := first.Filter(func(rec codefresh.Record) bool {
		return recordTime(rec, res.IncrementalCursor).After(frontier.Add(day - time.Nanosecond))
	})
	if keep.Len() > 0 {
		// Emitted, its tape goes back to the pool: first is not read after this.
		if err := emit(keep); err != nil {
			return endOfListing(err) // stopped: the first page reached what was loaded before
		}
	}
	cov.after = frontier.Add(day) // every build from then on was on the first page
	lower := time.Time{}
	if !from.IsZero() {
		lower = truncDay(from)
	}
	if !lower.IsZero() && frontier.Before(lower) {
		return nil // the first page reached back to the start of the listing
	}
	conc := max(1, x.cfg.Concurrency)
	pagesPerDay := perDay / float64(pageSize)
	// One round of probes, before any window runs: the day before the
	// frontier checks that the API honours the dates (an API that ignores
	// them answers with a build from outside, and the fallback then starts
	// from a state that does not depend on timing: a replay matches); on a
	// first load the others bracket the oldest build.
	h, err := x.probeHistory(ctx, res, opt, frontier, lower, conc)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	windows := make(chan *window)
	work := func() error {
		for w := range windows {
			if err := x.listWindow(gctx, res, opt, w, emit, cov); err != nil {
				return err
			}
		}
		return nil
	}
	// The plan is deterministic: it depends on the first page and the
	// probes' answers only, so the same data gives the same requests
	// whatever order responses come in (a replayed record matches).
	g.Go(func() error {
		defer close(windows)
		send := func(ctx context.Context, ws []*window) error {
			for _, w := range ws {
				select {
				case windows <- w:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		if h.known {
			all, _ := planWindows(span{h.oldest, frontier}, pagesPerDay, float64(span{h.oldest, frontier}.days())*pagesPerDay, conc, -1)
			return send(gctx, all)
		}
		// Where the oldest build lies is still being narrowed down (one
		// request at a time, by this goroutine, which stands in for one
		// worker meanwhile): the other workers start on the days known to
		// hold builds, in windows sized as if the unknown days were half full.
		dense := span{h.hi, frontier}
		guess := float64(dense.days())*pagesPerDay + float64(span{h.lo.AddDate(0, 0, 1), h.hi.AddDate(0, 0, -1)}.days())*pagesPerDay/2
		first, rest := planWindows(dense, pagesPerDay, guess, conc, conc-1)
		sendCtx, stopSending := context.WithCancel(gctx)
		defer stopSending()
		firstSent := make(chan error, 1)
		go func() { firstSent <- send(sendCtx, first) }()
		oldest, err := x.findOldest(gctx, res, opt, h.lo, h.hi)
		if err != nil {
			stopSending()
			<-firstSent // before windows closes
			return err
		}
		if err := <-firstSent; err != nil {
			return err
		}
		g.Go(work) // the worker this goroutine stood in for
		rest.start = oldest
		all, _ := planWindows(rest, pagesPerDay, float64(rest.days())*pagesPerDay, conc, -1)
		return send(gctx, all)
	})
	n := conc
	if !h.known {
		n = conc - 1
	}
	for range n {
		g.Go(work)
	}
	return g.Wait()
}

// window is one date window of a builds listing: [start, end] in days.
type window struct{ start, end time.Time }

// listWindow lists one window.
func (x *Extractor) listWindow(ctx context.Context, res codefresh.Resource, opt codefresh.PageOptions, w *window, emit func(*codefresh.Page) error, cov *coverage) error {
	q := opt
	q.Query = cloneQuery(opt.Query)
	q.Query.Set("startDate", w.start.Format("2006-01-02"))
	q.Query.Set("endDate", w.end.Format("2006-01-02"))
	var ids []string
	err := x.listAll(ctx, res, q, func(pg *codefresh.Page) error {
		if out := outside(pg, res.IncrementalCursor, w.start, w.end.Add(day)); !out.IsZero() {
			return &datesIgnoredError{got: fmt.Sprintf("a build created %s in the window %s..%s", out.Format(time.RFC3339), w.start.Format("2006-01-02"), w.end.Format("2006-01-02"))}
		}
		for i := range pg.Len() {
			ids = append(ids, pg.Record(i).ID())
		}
		return emit(pg)
	})
	if err != nil {
		cov.abandon(ids)
		return err
	}
	cov.complete(w.start, w.end.Add(day))
	return nil
}

// maxWindowDays caps a window's width: a sparse history must not make one
// window jump past the oldest possible day.
const maxWindowDays = 366

// oldestPossible bounds the walk back in time: Codefresh started in 2014.
var oldestPossible = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)

// newestBetween asks (one record, one request) for the newest record from
// day start (zero: any) to day end, both included, and returns its time
// (zero: none). Its answer also tells an API that ignores the dates: the
// record comes from outside them.
func (x *Extractor) newestBetween(ctx context.Context, res codefresh.Resource, opt codefresh.PageOptions, start, end time.Time) (time.Time, error) {
	q := opt
	q.Query = cloneQuery(opt.Query)
	q.Query.Del("startDate")
	if !start.IsZero() {
		q.Query.Set("startDate", start.Format("2006-01-02"))
	}
	q.Query.Set("endDate", end.Format("2006-01-02"))
	q.PageSize, q.MaxPages = 1, 1
	var newest time.Time
	err := x.cfg.Client.Pages(ctx, res, q, func(pg *codefresh.Page) error {
		if out := outside(pg, res.IncrementalCursor, start, end.Add(day)); !out.IsZero() {
			return &datesIgnoredError{got: fmt.Sprintf("a build created %s for startDate=%s endDate=%s", out.Format(time.RFC3339), orDash(start), end.Format("2006-01-02"))}
		}
		if pg.Len() > 0 {
			newest = recordTime(pg.Record(0), res.IncrementalCursor)
		}
		return nil
	})
	return newest, err
}

func orDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02")
}

// datesIgnoredError: the API answered a date-filtered listing with builds
// outside the dates asked for.
type datesIgnoredError struct{ got string }

func (e *datesIgnoredError) Error() string {
	return "the API ignores startDate/endDate: " + e.got
}

// outside returns the time of the first record of pg created outside
// [start, end) (start zero: no lower bound), or zero if all are inside.
func outside(pg *codefresh.Page, field string, start, end time.Time) time.Time {
	for i := range pg.Len() {
		t := recordTime(pg.Record(i), field)
		if !t.IsZero() && (t.Before(start) || !t.Before(end)) {
			return t
		}
	}
	return time.Time{}
}

// coverage is what a windowed listing read before it found the API ignores
// dates, so the sequential listing that takes over skips those builds.
type coverage struct {
	mu      sync.Mutex
	after   time.Time      // every build from then on was read (first page)
	spans   [][2]time.Time // [start, end) of windows read whole
	partial map[string]bool
}

func (c *coverage) complete(start, end time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, [2]time.Time{start, end})
}

// abandon keeps the ids a window emitted before it stopped.
func (c *coverage) abandon(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		c.partial[id] = true
	}
}

func (c *coverage) has(rec codefresh.Record, field string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := recordTime(rec, field); !t.IsZero() {
		if !c.after.IsZero() && !t.Before(c.after) {
			return true
		}
		for _, s := range c.spans {
			if !t.Before(s[0]) && t.Before(s[1]) {
				return true
			}
		}
	}
	return c.partial[rec.ID()]
}

// listSequential lists every build newest first without date filters, for
// an API that ignores them, down to from (the incremental cursor minus the
// look-back). Builds the windows already read are skipped.
func (x *Extractor) listSequential(ctx context.Context, res codefresh.Resource, opt codefresh.PageOptions, from time.Time, cov *coverage, emit func(*codefresh.Page) error) error {
	q := opt
	q.Query = cloneQuery(opt.Query)
	q.Query.Del("startDate")
	q.Query.Del("endDate")
	return x.listAll(ctx, res, q, func(pg *codefresh.Page) error {
		fresh := pg.Filter(func(rec codefresh.Record) bool { return !cov.has(rec, res.IncrementalCursor) })
		// Read before the page is emitted: its tape goes back to the pool then.
		_, older := since(pg, res.IncrementalCursor, from)
		if fresh.Len() > 0 {
			if err := emit(fresh); err != nil {
				return err
			}
		}
		if older {
			return errStopListing // newest first: the rest was loaded before
		}
		return nil
	})
}

func orOldest(from time.Time) string {
	if from.IsZero() {
		return "the oldest build"
	}
	return from.UTC().Format(time.RFC3339) + " (the incremental cursor minus the look-back)"
}

func dayOf(s string) time.Time {
	t, _ := time.Parse("2006-01-02", s)
	return t
}

func recordTime(rec codefresh.Record, field string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, rec.String(field))
	return t
}

func truncDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}
