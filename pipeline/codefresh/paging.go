package codefresh

import (
	gojson "github.com/goccy/go-json"

	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	var prev [sha256.Size]byte
	for n := 1; ; n++ {
		if n > c.maxPages {
			return &LoopError{Resource: r.Name, Page: n, Reason: fmt.Sprintf("more than %d pages", c.maxPages)}
		}
		setPaging(q, r.Paginator, n, size)
		resp, err := c.get(ctx, path, q, hdr, r.Scope)
		if err != nil {
			return fmt.Errorf("%s page %d: %w", r.Name, n, err)
		}
		page, next, err := decodePage(r, resp)
		if err != nil {
			return err
		}
		page.Number = n
		if len(page.Raw) > 0 {
			h := hashRecords(page.Raw)
			if n > 1 && h == prev {
				return &LoopError{Resource: r.Name, Page: n, Reason: "page identical to the previous page"}
			}
			prev = h
		}
		r.prepare(page)
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

func hashRecords(raws []json.RawMessage) [sha256.Size]byte {
	h := sha256.New()
	for _, r := range raws {
		h.Write(r)
		h.Write([]byte{0})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// decodePage finds the records with the resource's selectors and decodes
// each with UseNumber. next is pagination.nextPage when the body has it.
// Page.Raw holds slices of the body, not copies.
func decodePage(r Resource, resp *Response) (*Page, *bool, error) {
	page := &Page{Status: resp.Status, Duration: resp.Duration, Retries: resp.Attempts - 1, URL: resp.URL}
	body := bytes.TrimSpace(resp.Body)
	var next *bool
	if pg, ok := member(body, "pagination"); ok {
		if v, ok := member(pg, "nextPage"); ok && (string(v) == "true" || string(v) == "false") {
			b := string(v) == "true"
			next = &b
		}
	}
	selectors := append([]string{r.DataSelector}, r.AltSelectors...)
	for _, sel := range selectors {
		raws, ok := selectRecords(body, sel)
		if !ok {
			continue
		}
		page.Selector = sel
		page.Raw = raws
		page.Records = make([]map[string]any, len(raws))
		for i, raw := range raws {
			rec, err := decodeRecord(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: decode record %d: %w", r.Name, i, err)
			}
			page.Records[i] = rec
		}
		return page, next, nil
	}
	return nil, nil, &ShapeError{Resource: r.Name, URL: resp.URL, Expected: selectors, Got: describe(body)}
}

// selectRecords returns the records sel names in body: "" the body itself
// (an object), "$" the elements of a bare array, "a.b" the array at that path
// (null there means no records).
func selectRecords(body []byte, sel string) ([]json.RawMessage, bool) {
	isObject := len(body) > 0 && body[0] == '{'
	switch sel {
	case "":
		return []json.RawMessage{body}, isObject
	case "$":
		return arrayItems(body)
	}
	if !isObject {
		return nil, false
	}
	cur := body
	for _, s := range splitPath(sel) {
		v, ok := member(cur, s)
		if !ok {
			return nil, false
		}
		cur = v
	}
	if string(cur) == "null" {
		return nil, true
	}
	return arrayItems(cur)
}

func arrayItems(b []byte) ([]json.RawMessage, bool) {
	var raws []json.RawMessage
	ok := elements(b, func(v []byte) { raws = append(raws, v) })
	return raws, ok
}

// decodeRecord decodes one record; a non-object becomes {"value": v}, as dlt does.
func decodeRecord(raw json.RawMessage) (map[string]any, error) {
	dec := gojson.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	return map[string]any{"value": v}, nil
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

// prepare strips secrets from each raw record and prepares each decoded one.
func (r Resource) prepare(page *Page) {
	for i := range page.Records {
		page.Raw[i] = stripRaw(page.Raw[i], r.SecretFields)
		r.Prepare(page.Records[i], page.Raw[i])
	}
}
