package codefresh

import (
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
		if err := r.prepare(page); err != nil {
			return err
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
func decodePage(r Resource, resp *Response) (*Page, *bool, error) {
	page := &Page{Status: resp.Status, Duration: resp.Duration, Retries: resp.Attempts - 1, URL: resp.URL}
	body := bytes.TrimSpace(resp.Body)
	var top map[string]json.RawMessage
	isObject := len(body) > 0 && body[0] == '{'
	if isObject {
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, nil, fmt.Errorf("%s: decode body: %w", r.Name, err)
		}
	}
	var next *bool
	if pg, ok := top["pagination"]; ok {
		var p struct {
			NextPage *bool `json:"nextPage"`
		}
		if json.Unmarshal(pg, &p) == nil {
			next = p.NextPage
		}
	}

	selectors := append([]string{r.DataSelector}, r.AltSelectors...)
	for _, sel := range selectors {
		raws, ok := selectRecords(body, top, isObject, sel)
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
	return nil, nil, &ShapeError{Resource: r.Name, URL: resp.URL, Expected: selectors, Got: describe(body, top)}
}

func selectRecords(body []byte, top map[string]json.RawMessage, isObject bool, sel string) ([]json.RawMessage, bool) {
	switch sel {
	case "":
		if !isObject {
			return nil, false
		}
		return []json.RawMessage{body}, true
	case "$":
		if len(body) == 0 || body[0] != '[' {
			return nil, false
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, false
		}
		return raws, true
	}
	if !isObject {
		return nil, false
	}
	cur := top
	segs := splitPath(sel)
	for i, s := range segs {
		v, ok := cur[s]
		if !ok {
			return nil, false
		}
		if i == len(segs)-1 {
			v = bytes.TrimSpace(v)
			if string(v) == "null" {
				return nil, true
			}
			var raws []json.RawMessage
			if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &raws) != nil {
				return nil, false
			}
			return raws, true
		}
		cur = nil
		if json.Unmarshal(v, &cur) != nil || cur == nil {
			return nil, false
		}
	}
	return nil, false
}

// decodeRecord decodes one record; a non-object becomes {"value": v}, as dlt does.
func decodeRecord(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
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

func describe(body []byte, top map[string]json.RawMessage) string {
	switch {
	case top != nil:
		keys := make([]string, 0, len(top))
		for k := range top {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) > 10 {
			keys = append(keys[:10], "…")
		}
		return fmt.Sprintf("an object with keys %v", keys)
	case len(body) > 0 && body[0] == '[':
		return "a bare array"
	case len(body) == 0:
		return "an empty body"
	}
	return "a JSON scalar"
}

// prepare strips secrets from each raw record and prepares each decoded one.
func (r Resource) prepare(page *Page) error {
	for i := range page.Records {
		raw, err := stripRaw(page.Raw[i], r.SecretFields)
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", r.Name, i, err)
		}
		page.Raw[i] = raw
		r.Prepare(page.Records[i], raw)
	}
	return nil
}
