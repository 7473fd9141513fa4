package cfsim

import (
	"fmt"
	"sync"
)

// cursor is Codefresh's server-side pagination position for /workflow and
// /images (API.md §5.1): one per (API key, X-Pagination-Session-Id); every
// request without the header shares the empty session id, so concurrent
// listings without it trample each other, as the docs warn.
//
// Positions are indices into the collection (oldest = 0). The current page
// covers [lo, hi); newest first, so the next page lies below lo and the
// previous one at hi and above — including items created after the listing
// began, which is how page 0 and below show new builds.
type cursor struct {
	mu     sync.Mutex
	kind   string // "builds" or "images": a cursor is a listing of one collection
	open   bool
	page   int
	lo, hi int
}

func (s *Server) cursorFor(key string) *cursor {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	c := s.cursors[key]
	if c == nil {
		c = &cursor{}
		s.cursors[key] = c
	}
	return c
}

// pageResult is one served page.
type pageResult struct {
	idx  []int // newest first
	page int
	more bool // a further (older) match exists: pagination.nextPage
}

// cursorPage moves the cursor as Codefresh does: page 1 or
// paginationReset=true starts over at the newest item; page = current+1 or
// current-1 moves one page; the current page number serves the current page
// again (our choice: it lets a client retry a page whose response was lost).
// Any other jump is an invalid operation: 400 (status our choice; the docs
// only call it invalid).
func (c *call) cursorPage(kind string, n, low, high, limit int, match func(int) bool) (pageResult, *response) {
	page, okp := c.intParam("page", 1)
	if !okp {
		r := errBadRequest("page must be an integer")
		return pageResult{}, &r
	}
	reset := c.q.Get("paginationReset") == "true"
	cur := c.s.cursorFor(c.cursorKey)
	cur.mu.Lock()
	defer cur.mu.Unlock()
	high = min(high, n)
	low = max(low, 0)

	switch {
	case reset || page == 1:
		idx, lo := scanDown(n-1, low, high, limit, match)
		cur.kind, cur.open, cur.page, cur.lo, cur.hi = kind, true, 1, lo, n
		return pageResult{idx: idx, page: 1, more: anyBelow(lo, low, match)}, nil
	case !cur.open || cur.kind != kind:
		r := errBadRequest(fmt.Sprintf("Invalid pagination operation: page %d requested but no %s listing is open for this pagination session; request page 1 (paginationReset=true) first", page, kind))
		return pageResult{}, &r
	case page == cur.page+1:
		idx, lo := scanDown(cur.lo-1, low, high, limit, match)
		cur.page, cur.hi, cur.lo = page, cur.lo, lo
		return pageResult{idx: idx, page: page, more: anyBelow(lo, low, match)}, nil
	case page == cur.page-1:
		idx, hi := scanUp(cur.hi, low, high, limit, match)
		cur.page, cur.lo, cur.hi = page, cur.hi, hi
		return pageResult{idx: idx, page: page, more: anyBelow(cur.lo, low, match)}, nil
	case page == cur.page:
		idx, lo := scanDown(cur.hi-1, low, high, limit, match)
		cur.lo = lo
		return pageResult{idx: idx, page: page, more: anyBelow(lo, low, match)}, nil
	}
	r := errBadRequest(fmt.Sprintf("Invalid pagination operation: cannot jump from page %d to page %d; request page %d, %d or 1", cur.page, page, cur.page-1, cur.page+1))
	return pageResult{}, &r
}

// scanDown collects up to limit matches from index from downward, not below
// low and not at or above high. It returns them newest first and the lowest
// position the page covers.
func scanDown(from, low, high, limit int, match func(int) bool) ([]int, int) {
	from = min(from, high-1)
	var idx []int
	for i := from; i >= low; i-- {
		if match(i) {
			idx = append(idx, i)
			if len(idx) == limit {
				return idx, i
			}
		}
	}
	return idx, min(low, from+1)
}

// scanUp collects up to limit matches from index from upward and returns
// them newest first with one past the highest position the page covers.
func scanUp(from, low, high, limit int, match func(int) bool) ([]int, int) {
	from = max(from, low)
	var idx []int
	hi := max(high, from)
	for i := from; i < high; i++ {
		if match(i) {
			idx = append(idx, i)
			if len(idx) == limit {
				hi = i + 1
				break
			}
		}
	}
	for l, r := 0, len(idx)-1; l < r; l, r = l+1, r-1 {
		idx[l], idx[r] = idx[r], idx[l]
	}
	return idx, hi
}

func anyBelow(lo, low int, match func(int) bool) bool {
	for i := lo - 1; i >= low; i-- {
		if match(i) {
			return true
		}
	}
	return false
}

// docsPage answers an offset/limit listing as {"docs":[...]}: the records
// of sel in the window, each written by item, and "count": len(sel) when
// counted (the number of matches, not the page size).
func docsPage(sel []int, offset, limit int, counted bool, item func(w *jw, i int)) response {
	return listPage("docs", sel, offset, limit, counted, item)
}

// listPage is docsPage with the records under key.
func listPage(key string, sel []int, offset, limit int, counted bool, item func(w *jw, i int)) response {
	lo, hi := window(len(sel), offset, limit)
	var w jw
	w.open('{')
	w.key(key)
	w.open('[')
	for _, i := range sel[lo:hi] {
		item(&w, i)
	}
	w.close(']')
	if counted {
		w.ki("count", int64(len(sel)))
	}
	w.close('}')
	return ok(w.b)
}
