package codefresh

import (
	"bytes"
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
)

// SessionHeader keeps one server-side cursor per listing (builds, images).
const SessionHeader = "X-Pagination-Session-Id"

// PageOptions shape one listing.
type PageOptions struct {
	Query      url.Values        // extra query parameters (filters); paging parameters are the client's
	PathParams map[string]string // fills {placeholders} in the resource path
	PageSize   int               // default: the resource's, else 100
	MaxPages   int               // stop quietly after this many pages; 0 = all
}

// Page is one response of a listing, decoded and prepared (secrets dropped,
// keyed objects turned into ordered lists).
type Page struct {
	Number   int
	Records  []map[string]any  // numbers are json.Number
	Raw      []json.RawMessage // each record as received, minus SecretFields (keyed objects untouched)
	Selector string            // the shape found: "workflows.docs", "docs", "$", "" (one object)
	Status   int
	Duration time.Duration
	Retries  int
	URL      string // without anything secret
}

// Pages reads a resource page by page, calling fn after each page; only one
// page is held at a time. A single-object endpoint gives one page with one
// record. An error from fn stops the listing and is returned as is.
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
	size := or(opt.PageSize, or(r.PageSize, DefaultPageSize))
	var hdr http.Header
	if r.Paginator == PaginatorPageCursor {
		// One fresh cursor per listing, so concurrent listings do not share it.
		hdr = http.Header{SessionHeader: {newSessionID()}}
	}
	seed := maphash.MakeSeed()
	var prev uint64
	for n := 1; ; n++ {
		if n > c.maxPages {
			return &LoopError{Resource: r.Name, Page: n, Reason: fmt.Sprintf("more than %d pages", c.maxPages)}
		}
		setPaging(q, r.Paginator, n, size)
		// The body is decoded while the client may still ask again: a body
		// that is not JSON (a cut connection) is retried.
		var page *Page
		var next *bool
		var raws []json.RawMessage
		var shapeErr error
		resp, err := c.get(ctx, path, q, hdr, r.Scope, func(body []byte) error {
			var err error
			page, next, raws, err = decodePage(r, body)
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
		page.Number, page.Status, page.Duration, page.Retries, page.URL = n, resp.Status, resp.Duration, resp.Attempts-1, resp.URL
		if len(raws) > 0 {
			h := hashRecords(seed, raws)
			if n > 1 && h == prev {
				return &LoopError{Resource: r.Name, Page: n, Reason: "page identical to the previous page"}
			}
			prev = h
		}
		for i := range page.Records {
			r.Prepare(page.Records[i], page.Raw[i])
		}
		got := len(page.Records)
		if n == 1 || got > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if isLastPage(r.Paginator, got, size, next) || (opt.MaxPages > 0 && n >= opt.MaxPages) {
			return nil
		}
	}
}

func setPaging(q url.Values, p Paginator, n, size int) {
	switch p {
	case PaginatorOffset:
		q.Set("limit", strconv.Itoa(size))
		q.Set("offset", strconv.Itoa((n-1)*size))
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

// isLastPage: a short or empty page ends every paged listing; more records
// than asked for means the server ignored the limit and sent everything;
// pagination.nextPage == false ends a cursor listing.
func isLastPage(p Paginator, got, size int, next *bool) bool {
	if p == PaginatorNone || p == "" {
		return true
	}
	if got == 0 || got != size {
		return true
	}
	return p == PaginatorPageCursor && next != nil && !*next
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
func decodePage(r Resource, body []byte) (page *Page, next *bool, raws []json.RawMessage, err error) {
	selectors := append([]string{r.DataSelector}, r.AltSelectors...)
	d := newPageDecoder(r, selectors)
	root, err := d.decode(body)
	if err != nil {
		if jerr := validJSON(body); jerr != nil {
			err = jerr // encoding/json's words for it
		}
		return nil, nil, nil, &malformedBody{err}
	}
	top, _ := root.(map[string]any)
	if pg, ok := top["pagination"].(map[string]any); ok {
		if b, ok := pg["nextPage"].(bool); ok {
			next = &b
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
			page.Raw = []json.RawMessage{stripRaw(raw, r.SecretFields)}
			return page, next, []json.RawMessage{raw}, nil
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
				return page, next, nil, nil
			}
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			items = arr
		}
		t := d.targetAt(sel)
		if t == nil || len(t.raws) != len(items) { // cannot happen: the decoder keeps both
			return nil, nil, nil, fmt.Errorf("%s: decoding %s lost track of the raw records", r.Name, sel)
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
		page.Raw = t.stripped
		return page, next, t.raws, nil
	}
	return nil, nil, nil, &ShapeError{Resource: r.Name, Expected: selectors, Got: describe(body)}
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
	var keys []string
	if members(body, func(k string, _, _ []byte) { keys = append(keys, k) }) {
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
