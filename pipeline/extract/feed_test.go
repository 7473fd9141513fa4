package extract

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// A page waits for the normalizer without its records as received (they
// hold the response body, which nothing reads past the fetcher), while the
// fetcher's page keeps them; the queue holds four pages per request in
// flight, at least 16.
func TestEmitQueuesThePageWithoutItsRawRecords(t *testing.T) {
	x := &Extractor{cfg: Config{Redactor: secrets.NewRedactor("canary-key-0123456789")}, queue: make(chan queued, 1), room: semaphore.NewWeighted(queueBytes)}
	pg := &codefresh.Page{Records: []map[string]any{{"id": "1"}}, Raw: []json.RawMessage{json.RawMessage(`{"id":"1"}`)}}
	if err := x.emit(context.Background(), codefresh.Resource{Name: "builds"}, pg); err != nil {
		t.Fatal(err)
	}
	q := <-x.queue
	if q.page.Raw != nil || q.page.Len() != 1 || q.page.Record(0).ID() != "1" {
		t.Errorf("queued page: raw %v, %d records", q.page.Raw, q.page.Len())
	}
	if len(pg.Raw) != 1 {
		t.Errorf("the fetcher's page lost its raw records")
	}
	for conc, want := range map[int]int{0: 16, 1: 16, 4: 16, 8: 32, 32: 128} {
		if got := queuePages(conc); got != want {
			t.Errorf("queuePages(%d) = %d, want %d", conc, got, want)
		}
	}
}

// gateSink holds the normalizer in its first Write until open is closed,
// and counts the rows.
type gateSink struct {
	open chan struct{}
	once sync.Once
	mu   sync.Mutex
	rows int
}

func (g *gateSink) Write(*normalize.Table, []any) error {
	g.once.Do(func() { <-g.open })
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rows++
	return nil
}
func (g *gateSink) Wait(context.Context) error { return nil }
func (g *gateSink) Close() error               { return nil }

// Pages wait for the normalizer up to queueBytes of response bodies, not
// only up to queuePages: a page of builds with a large pipeline YAML is
// tens of megabytes. A page larger than the bound still goes, alone.
func TestQueuedPagesHoldAtMostQueueBytes(t *testing.T) {
	ctx := context.Background()
	schema := normalize.NewSchema("codefresh")
	schema.EnsureRoot("builds", "builds", "merge", []string{"id"})
	sink := &gateSink{open: make(chan struct{})}
	x := Start(ctx, Config{Normalizer: normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"}), Sink: sink,
		Redactor: secrets.NewRedactor("canary-key-0123456789"), Concurrency: 8})
	res := codefresh.Resource{Name: "builds"}
	page := func(id string, bytes int) *codefresh.Page {
		return &codefresh.Page{Records: []map[string]any{{"id": id}}, Bytes: bytes}
	}
	// The normalizer takes the first page and stops in the sink, holding it.
	if err := x.emit(ctx, res, page("1", queueBytes/2+1)); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- x.emit(ctx, res, page("2", queueBytes/2+1)) }()
	select {
	case err := <-second:
		t.Fatalf("a second page of over half the bound was queued beside the first (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(sink.open)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if err := x.emit(ctx, res, page("3", 3*queueBytes)); err != nil {
		t.Fatal(err)
	}
	if err := x.Stop(); err != nil {
		t.Fatal(err)
	}
	if sink.rows != 3 {
		t.Errorf("%d rows normalized, want 3", sink.rows)
	}
}
