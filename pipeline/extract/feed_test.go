package extract

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// A page waits for the normalizer without its records as received (they
// hold the response body, which nothing reads past the fetcher), while the
// fetcher's page keeps them; the queue holds four pages per request in
// flight, at least 16.
func TestEmitQueuesThePageWithoutItsRawRecords(t *testing.T) {
	x := &Extractor{cfg: Config{Redactor: secrets.NewRedactor("canary-key-0123456789")}, queue: make(chan queued, 1)}
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
