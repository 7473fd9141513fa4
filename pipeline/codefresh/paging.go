package codefresh

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
)

// SessionHeader keeps one server-side cursor per listing (builds, images).
const SessionHeader = "X-Pagination-Session-Id"

// PageOptions shape one listing.
type PageOptions struct {
	Query      url.Values        // extra query parameters (filters); paging parameters are the client's
	PathParams map[string]string // fills {placeholders} in the resource path
	PageSize   int               // default: the resource's, else 100
	MaxPages   int               // stop quietly after this many pages; 0 = all
	// OnDeviation hears, once per kind and listing, how the API answered
	// differently from the catalog and what the client did about it.
	OnDeviation func(Deviation)
	// Tapes, when set, has the pages of resources whose records are stored
	// as received (no KeyedObjects, no RowsFrom) decoded onto a tape from the
	// pool instead of into maps: Page.Tape and Page.Nodes hold the records,
	// and the reader puts the tape back once done with the page.
	Tapes *jsonpage.TapePool
}

// Page is one response of a listing, decoded and prepared (secrets dropped,
// keyed objects turned into ordered lists).
type Page struct {
	Number   int
	Records  []map[string]any  // numbers are json.Number; nil when Tape holds the records
	Tape     *jsonpage.Tape    // the page's values, when decoded onto a tape (PageOptions.Tapes)
	Nodes    []int             // the records' nodes on Tape, minus SecretFields
	Raw      []json.RawMessage // each record as received, minus SecretFields (keyed objects untouched); nil when Tape holds the records
	Selector string            // the shape found: "workflows.docs", "docs", "$", "" (one object)
	Status   int
	Bytes    int // of the response body
	Duration time.Duration
	Retries  int
	URL      string // without anything secret
	More     bool   // the server has more pages after this one (whether or not MaxPages reads them)
}

// Pages reads a resource page by page, calling fn after each page; only one
// page is held at a time. A single-object endpoint gives one page with one
// record. An error from fn stops the listing and is returned as is.
//
// Pages follow what the server sends, not what was asked: a limit it caps or
// ignores changes the page size the listing ends on, an envelope other than
// the catalog's is accepted, and a page it already sent ends the listing with
// a LoopError. Each such workaround is told to opt.OnDeviation.
func (c *Client) Pages(ctx context.Context, r Resource, opt PageOptions, fn func(*Page) error) error {
	path, err := r.BuildPath(opt.PathParams)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range r.Params {
		q.Set(k, v)
	}
	for k, vs := range opt.Query {
		q[k] = slices.Clone(vs)
	}
	size := cmp.Or(opt.PageSize, cmp.Or(r.PageSize, DefaultPageSize))
	var hdr http.Header
	if r.Paginator == PaginatorPageCursor {
		// One fresh cursor per listing, so concurrent listings do not share it.
		hdr = http.Header{SessionHeader: {newSessionID()}}
	}
	selectors, own := selectorsFor(r)
	noted := map[string]bool{}
	note := func(d Deviation) {
		if opt.OnDeviation != nil && !noted[d.Kind] {
			noted[d.Kind] = true
			d.Resource = r.Name
			opt.OnDeviation(d)
		}
	}
	seed := maphash.MakeSeed()
	seen := map[uint64]int{} // page hash -> the page number that had it
	pg := pager{paginator: r.Paginator, size: size}
	for n := 1; ; n++ {
		if n > c.maxPages {
			return &LoopError{Resource: r.Name, Page: n, Reason: fmt.Sprintf("more than %d pages", c.maxPages)}
		}
		setPaging(q, r.Paginator, n, size, pg.received)
		// The body is decoded while the client may still ask again: a body
		// that is not JSON (a cut connection) is retried.
		var page *Page
		var meta pageMeta
		var raws []json.RawMessage
		var shapeErr error
		resp, err := c.get(ctx, path, q, hdr, reqMeta{resource: r.Name, scope: r.Scope}, func(body []byte) error {
			var err error
			page, meta, raws, err = decodeListing(r, selectors, body, tapesFor(r, opt))
			if mb, ok := err.(*malformedBody); ok {
				return mb.err
			}
			shapeErr = err
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s page %d: %w", r.Name, n, err)
		}
		if shapeErr != nil {
			if se, ok := shapeErr.(*ShapeError); ok {
				se.URL = resp.URL
			}
			return shapeErr
		}
		page.Number, page.Status, page.Bytes, page.Duration, page.Retries, page.URL = n, resp.Status, len(resp.Body), resp.Duration, resp.Attempts-1, resp.URL
		if i := slices.Index(selectors, page.Selector); i >= own {
			note(Deviation{Kind: DeviationEnvelope, Expected: describeSelector(r.DataSelector),
				Got: describeSelector(page.Selector), Action: "read the records from " + describeSelector(page.Selector)})
		}
		got := page.Len()
		if len(raws) > 0 {
			h := hashRecords(seed, raws)
			if m, dup := seen[h]; dup {
				if n == 2 && pg.firstLarger {
					// The server ignores limit and page alike: its first
					// page was the whole listing.
					note(Deviation{Kind: DeviationPaging, Expected: fmt.Sprintf("pages of %d records", size),
						Got: fmt.Sprintf("the same %d records for every page", pg.first), Action: "kept the first page as the whole listing"})
					return nil
				}
				return &LoopError{Resource: r.Name, Page: n, Reason: fmt.Sprintf("page %d repeats page %d", n, m)}
			}
			seen[h] = n
		}
		if pg.probing {
			pg.probing = false
			if got == 0 {
				return nil // the short page was the last one after all
			}
			note(pageSizeDeviation(size, pg.first))
		}
		for i := range page.Records { // a tape's records lack SecretFields already, and have nothing to reshape
			r.Prepare(page.Records[i], page.Raw[i])
		}
		page.More = pg.more(n, got, meta)
		if n == 1 && got > 0 && got < size && page.More && !pg.probing {
			// The server says there is more after a page shorter than asked.
			note(pageSizeDeviation(size, got))
		}
		if pg.larger && got > 0 && n > 1 {
			note(pageSizeDeviation(size, pg.eff))
		}
		if n == 1 || got > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if !page.More || (opt.MaxPages > 0 && n >= opt.MaxPages) {
			return nil
		}
	}
}

// pager decides, page by page, whether a listing goes on. It trusts what
// the server says (pagination.nextPage, a total count) over the limit asked
// for, and pages on the page size the server actually uses.
type pager struct {
	paginator   Paginator
	size        int  // limit asked for
	received    int  // records before the current page
	first       int  // records on page 1
	eff         int  // the largest page seen: the server's page size
	firstLarger bool // page 1 held more than asked
	larger      bool // some page held more than asked
	probing     bool // a short first page might be a server's cap: the next page tells
	known       bool // the server's own page size is eff (a cap found, or larger pages)
}

func (p *pager) more(n, got int, meta pageMeta) bool {
	defer func() { p.received += got }()
	if n == 1 {
		p.first = got
		p.firstLarger = got > p.size
	}
	if got > p.size {
		p.larger, p.known = true, true
	}
	if n == 2 && p.first < p.size && got > 0 {
		p.known = true // the probe after a short first page found more: a cap
	}
	p.eff = max(p.eff, got)
	want := p.size
	if p.known {
		want = p.eff
	}
	short := got < want
	switch {
	case p.paginator == PaginatorNone || p.paginator == "" || got == 0:
		return false
	case p.paginator == PaginatorPageCursor && meta.next != nil:
		return *meta.next
	case meta.total >= 0:
		return p.received+got < meta.total
	case !short:
		return true
	case n == 1 && capLike(got):
		// A short first page is usually the whole listing, but a server that
		// caps the limit sends short pages too: one more request tells.
		p.probing = true
		return true
	}
	return false
}

// pageSizeDeviation: the server sends pages of got records where size were asked.
func pageSizeDeviation(size, got int) Deviation {
	return Deviation{Kind: DeviationPageSize, Expected: fmt.Sprintf("pages of %d records (limit=%d)", size, size),
		Got: fmt.Sprintf("pages of %d records", got), Action: fmt.Sprintf("paged on the %d records each page brings", got)}
}

// capLike: page sizes that servers cap limits at (10, 20, 25, 50...); a
// short first page of another size is taken as the whole listing.
func capLike(n int) bool { return n >= 10 && n%5 == 0 }

// pageMeta is what a body says about the listing beside its records.
type pageMeta struct {
	next  *bool // pagination.nextPage
	total int   // count or total at the top, -1 when absent
}

func setPaging(q url.Values, p Paginator, n, size, received int) {
	switch p {
	case PaginatorOffset:
		// The offset counts what came, so a server that caps the limit is
		// neither skipped over nor read twice.
		q.Set("limit", strconv.Itoa(size))
		q.Set("offset", strconv.Itoa(received))
	case PaginatorPageCursor:
		q.Set("limit", strconv.Itoa(size))
		q.Set("page", strconv.Itoa(n))
		if n == 1 {
			q.Set("paginationReset", "true")
		} else {
			q.Del("paginationReset")
		}
	case PaginatorPage:
		q.Set("limit", strconv.Itoa(size))
		q.Set("page", strconv.Itoa(n))
	}
}

func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return "codefresh-mcp-" + hex.EncodeToString(b)
}

// hashRecords tells pages apart for the loop guard (not a security hash).
func hashRecords(seed maphash.Seed, raws []json.RawMessage) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for _, r := range raws {
		h.Write(r)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// malformedBody is a body that is not JSON; err says where, as
// encoding/json does.
type malformedBody struct{ err error }

func (e *malformedBody) Error() string { return e.err.Error() }

// decodePage decodes the body in one pass and picks the records with the
// resource's selectors, the first that matches. It returns the records as
// received too (raws; Page.Raw has them minus SecretFields). next is
// pagination.nextPage when the body has it. Raw records are slices of the
// body where nothing was cut.
func decodePage(r Resource, body []byte) (*Page, *bool, []json.RawMessage, error) {
	selectors, _ := selectorsFor(r)
	page, meta, raws, err := decodeListing(r, selectors, body, nil)
	return page, meta.next, raws, err
}

// tapesFor is opt.Tapes if r's records go to the normalizer as received.
func tapesFor(r Resource, opt PageOptions) *jsonpage.TapePool {
	if len(r.KeyedObjects) > 0 || r.RowsFrom != "" {
		return nil
	}
	return opt.Tapes
}

// decodeListing is decodePage with the selectors given and all the body says
// about the listing. With tapes, the page is decoded onto a tape from it.
func decodeListing(r Resource, selectors []string, body []byte, tapes *jsonpage.TapePool) (page *Page, meta pageMeta, raws []json.RawMessage, err error) {
	if tapes != nil {
		return decodeTapeListing(r, selectors, body, tapes)
	}
	meta.total = -1
	d := jsonpage.New(r.SecretFields, selectors)
	root, err := d.Decode(body)
	if err != nil {
		if jerr := validJSON(body); jerr != nil {
			err = jerr // encoding/json's words for it
		}
		return nil, meta, nil, &malformedBody{err}
	}
	top, _ := root.(map[string]any)
	if pg, ok := top["pagination"].(map[string]any); ok {
		if b, ok := pg["nextPage"].(bool); ok {
			meta.next = &b
		}
	}
	for _, k := range []string{"count", "total"} {
		if n, ok := top[k].(json.Number); ok {
			if v, err := n.Int64(); err == nil && v >= 0 {
				meta.total = int(v)
				break
			}
		}
	}
	page = &Page{}
	for _, sel := range selectors {
		var items []any
		switch sel {
		case "":
			if top == nil {
				continue
			}
			raw := json.RawMessage(bytes.TrimSpace(body))
			page.Selector, page.Records = sel, []map[string]any{top}
			page.Raw = []json.RawMessage{jsonpage.Strip(raw, r.SecretFields)}
			return page, meta, []json.RawMessage{raw}, nil
		case "$":
			arr, ok := root.([]any)
			if !ok {
				continue
			}
			items = arr
		default:
			v, ok := lookupObject(top, splitPath(sel))
			if !ok {
				continue
			}
			if v == nil { // null: no records
				page.Selector, page.Records = sel, []map[string]any{}
				return page, meta, nil, nil
			}
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			items = arr
		}
		received, stripped, ok := d.Records(sel)
		if !ok || len(received) != len(items) { // cannot happen: the decoder keeps both
			return nil, meta, nil, fmt.Errorf("%s: decoding %s lost track of the raw records", r.Name, sel)
		}
		page.Selector = sel
		page.Records = make([]map[string]any, len(items))
		for i, v := range items {
			if m, ok := v.(map[string]any); ok {
				page.Records[i] = m
			} else {
				page.Records[i] = map[string]any{"value": v} // as dlt does
			}
		}
		page.Raw = stripped
		return page, meta, received, nil
	}
	return nil, meta, nil, &ShapeError{Resource: r.Name, Expected: selectors, Got: describe(body)}
}

// lookupObject follows path through objects.
func lookupObject(m map[string]any, path []string) (any, bool) {
	var cur any = m
	for _, seg := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func describe(body []byte) string {
	if keys, ok := jsonpage.Keys(body); ok {
		slices.Sort(keys)
		if len(keys) > 10 {
			keys = append(keys[:10], "…")
		}
		return fmt.Sprintf("an object with keys %v", keys)
	}
	switch {
	case len(body) > 0 && body[0] == '[':
		return "a bare array"
	case len(body) == 0:
		return "an empty body"
	}
	return "a JSON scalar"
}
