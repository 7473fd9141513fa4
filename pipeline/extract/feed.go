package extract

import (
	"context"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// queued is a page waiting for the normalizer, or a barrier to drain.
type queued struct {
	res     codefresh.Resource
	page    *codefresh.Page
	barrier chan error
	bytes   int64 // of x.room, given back once the page is normalized
}

// emit hands one page's records (already prepared by the client) to the
// normalizer goroutine and returns at once, so the fetching goroutine has its
// next request in flight while this page is normalized. Safe for concurrent
// use; an earlier normalizing error stops every fetcher.
func (x *Extractor) emit(ctx context.Context, res codefresh.Resource, pg *codefresh.Page) error {
	if err := x.Failed(); err != nil {
		return err
	}
	for _, rec := range pg.Records {
		redactRecord(x.cfg.Redactor, rec)
	}
	if pg.Tape != nil {
		redactTape(x.cfg.Redactor, pg.Tape, pg.Nodes)
	}
	// The records as received are not read past this point; dropped, they
	// no longer hold the response body while the page waits.
	held := *pg
	held.Raw = nil
	// A page held by its body's size; one larger than the whole room waits
	// for all of it, so it goes alone instead of never.
	n := min(int64(pg.Bytes), queueBytes)
	if err := x.room.Acquire(ctx, n); err != nil {
		return err
	}
	select {
	case x.queue <- queued{res: res, page: &held, bytes: n}:
		return nil
	case <-ctx.Done():
		x.room.Release(n)
		return ctx.Err()
	}
}

// drain waits until every page emitted so far is normalized and returns the
// normalizer's error, if any.
func (x *Extractor) drain(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case x.queue <- queued{barrier: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Failed is the normalizer's error, if any: it stops every fetcher.
func (x *Extractor) Failed() error {
	x.errMu.Lock()
	defer x.errMu.Unlock()
	return x.normErr
}

// normalizeLoop is the one goroutine that normalizes pages into the stage and
// keeps what detail resources need of them; it ends when the queue closes.
func (x *Extractor) normalizeLoop(ctx context.Context) {
	defer func() {
		if err := x.cfg.Sink.Close(); err != nil {
			x.setFailed(err)
		}
	}()
	for q := range x.queue {
		if q.barrier != nil {
			if x.Failed() == nil {
				if err := x.cfg.Sink.Wait(ctx); err != nil {
					x.setFailed(fmt.Errorf("stage rows: %w", err))
				}
			}
			q.barrier <- x.Failed()
			continue
		}
		if x.Failed() == nil { // else drain what is left after a failure
			if err := x.normalizePage(ctx, q.res, q.page); err != nil {
				x.setFailed(err)
			}
		}
		x.tapes.Put(q.page.Tape) // nothing reads the page any more
		x.room.Release(q.bytes)
	}
}

func (x *Extractor) setFailed(err error) {
	x.errMu.Lock()
	defer x.errMu.Unlock()
	if x.normErr == nil {
		x.normErr = err
	}
}

func (x *Extractor) normalizePage(ctx context.Context, res codefresh.Resource, pg *codefresh.Page) error {
	for i := range pg.Len() {
		rec := pg.Record(i)
		for _, d := range x.details[res.Name] {
			if d.Strategy == codefresh.StrategyBuildLogs {
				if b, ok := logBuildOf(rec); ok {
					x.logBuilds[d.Name] = append(x.logBuilds[d.Name], b)
				}
				continue
			}
			x.parent[d.Name] = append(x.parent[d.Name], d.ParentValuesOf(rec)...)
		}
		var err error
		if tape, at, ok := rec.Tape(); ok {
			err = x.cfg.Normalizer.NormalizeTape(res.Name, tape, at, x.cfg.Sink)
		} else {
			err = x.cfg.Normalizer.Normalize(res.Name, rec.Map(), x.cfg.Sink)
		}
		if err != nil {
			return fmt.Errorf("normalize %s: %w", res.Name, err)
		}
	}
	x.pages.Add(1)
	x.records.Add(int64(pg.Len()))
	x.progress(res.Name)
	return nil
}

// redactRecord removes the key from every string of a decoded record, keys
// of objects included, in place. The API may echo the key back in any
// field; decoded, its escaped spellings are plain, but a field may hold JSON
// text of its own.
func redactRecord(red *secrets.Redactor, rec map[string]any) {
	for k, v := range rec {
		if x, ok := v.(string); ok {
			if clean := red.Redact(x); clean != x {
				rec[k] = clean
			}
		} else {
			redactNested(red, v)
		}
		if clean := red.Redact(k); clean != k {
			rec[clean] = rec[k]
			delete(rec, k)
		}
	}
}

// redactTape is redactRecord for the records at nodes of tape: every
// string and every member name of their subtrees, in place.
func redactTape(red *secrets.Redactor, tape *jsonpage.Tape, nodes []int) {
	for _, at := range nodes {
		for j := at; j < int(tape.Nodes[at].End); j++ {
			nd := &tape.Nodes[j]
			if nd.Key != "" {
				nd.Key = red.Redact(nd.Key)
			}
			if nd.Kind == jsonpage.String {
				nd.Str = red.Redact(nd.Str)
			}
		}
	}
}

// redactNested is redactRecord for a value inside a record.
func redactNested(red *secrets.Redactor, v any) {
	switch x := v.(type) {
	case map[string]any:
		redactRecord(red, x)
	case []any:
		for i, item := range x {
			if s, ok := item.(string); ok {
				x[i] = red.Redact(s)
			} else {
				redactNested(red, item)
			}
		}
	}
}
