package codefresh

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
)

// decodeTapeListing is decodeListing onto a tape from tapes: the page's
// records stay nodes of the tape (Page.Tape, Page.Nodes) instead of maps.
// A body that is one record gives a map page, prepared as Pages prepares
// maps; the tape then goes back at once.
func decodeTapeListing(r Resource, selectors []string, body []byte, tapes *jsonpage.TapePool) (page *Page, meta pageMeta, raws []json.RawMessage, err error) {
	meta.total = -1
	d := jsonpage.New(r.SecretFields, selectors)
	tape, err := d.DecodeTapeInto(tapes.Get(), body)
	if err != nil {
		if jerr := validJSON(body); jerr != nil {
			err = jerr // encoding/json's words for it
		}
		return nil, meta, nil, &malformedBody{err}
	}
	keep := false
	defer func() {
		if !keep {
			tapes.Put(tape)
		}
	}()
	top := tape.Nodes[0].Kind == jsonpage.Object
	if top {
		meta = tapeMeta(tape)
	}
	page = &Page{}
	for _, sel := range selectors {
		at := 0
		switch sel {
		case "":
			if !top {
				continue
			}
			raw := json.RawMessage(bytes.TrimSpace(body))
			rec, _ := tape.Value(0).(map[string]any)
			page.Selector, page.Records = sel, []map[string]any{rec}
			page.Raw = []json.RawMessage{jsonpage.Strip(raw, r.SecretFields)}
			return page, meta, []json.RawMessage{raw}, nil
		case "$":
			if tape.Nodes[0].Kind != jsonpage.Array {
				continue
			}
		default:
			found := top
			for _, seg := range splitPath(sel) {
				if found {
					at, found = tape.Member(at, seg)
				}
			}
			if !found {
				continue
			}
			if tape.Nodes[at].Kind == jsonpage.Null { // null: no records
				page.Selector, page.Records = sel, []map[string]any{}
				return page, meta, nil, nil
			}
			if tape.Nodes[at].Kind != jsonpage.Array {
				continue
			}
		}
		items := 0
		tape.Children(at, func(int) bool { items++; return true })
		received, ok := d.Received(sel) // the tape's records lack SecretFields: no stripped copies
		nodes, nok := d.RecordNodes(sel)
		if !ok || !nok || len(received) != items || len(nodes) != items { // cannot happen: the decoder keeps them all
			return nil, meta, nil, fmt.Errorf("%s: decoding %s lost track of the raw records", r.Name, sel)
		}
		keep = true
		page.Selector, page.Tape, page.Nodes = sel, tape, nodes
		return page, meta, received, nil
	}
	return nil, meta, nil, &ShapeError{Resource: r.Name, Expected: selectors, Got: describe(body)}
}

// tapeMeta is what the top object of a page's tape says beside its records:
// pagination.nextPage, and a count or total.
func tapeMeta(tape *jsonpage.Tape) pageMeta {
	meta := pageMeta{total: -1}
	if pg, ok := tape.Member(0, "pagination"); ok {
		if np, ok := tape.Member(pg, "nextPage"); ok {
			if k := tape.Nodes[np].Kind; k == jsonpage.True || k == jsonpage.False {
				b := k == jsonpage.True
				meta.next = &b
			}
		}
	}
	for _, k := range []string{"count", "total"} {
		if at, ok := tape.Member(0, k); ok && tape.Nodes[at].Kind == jsonpage.Number {
			if v, err := strconv.ParseInt(tape.Nodes[at].Str, 10, 64); err == nil && v >= 0 {
				meta.total = int(v)
				break
			}
		}
	}
	return meta
}
