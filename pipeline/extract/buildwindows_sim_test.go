package extract_test

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/extract"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// idSink keeps the id of every builds row the normalizer writes.
type idSink struct {
	mu  sync.Mutex
	ids []string
}

func (s *idSink) Write(t *normalize.Table, row []any) error {
	if t.Name != "builds" {
		return nil
	}
	for i, c := range t.Columns {
		if c.Name == "id" && i < len(row) {
			s.mu.Lock()
			s.ids = append(s.ids, row[i].(string))
			s.mu.Unlock()
		}
	}
	return nil
}
func (s *idSink) Wait(context.Context) error { return nil }
func (s *idSink) Close() error               { return nil }

// listed is one /workflow response as the test saw it.
type listed struct {
	start, end, page, limit string
	records                 int
}

// A first load of a long history lists every build once, in date windows
// that neither overlap nor come back empty, each ending on at most one
// partly filled page, never more requests at once than the concurrency, and
// the same requests on a second load of the same data (a replay matches).
func TestFirstLoadListsEveryBuildOnceInWindowsThatAllHoldBuilds(t *testing.T) {
	const builds, conc = 4_000, 4
	sim := cfsim.New(cfsim.Config{Seed: 3, Pipelines: 10, Projects: 2, Builds: builds, APIKey: canary, Latency: 2 * time.Millisecond})
	var inFlight, most atomic.Int64
	var mu sync.Mutex
	var seen []listed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		var body struct {
			Workflows struct{ Docs []json.RawMessage } `json:"workflows"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s: %v", r.URL, err)
		}
		q := r.URL.Query()
		mu.Lock()
		seen = append(seen, listed{q.Get("startDate"), q.Get("endDate"), q.Get("page"), q.Get("limit"), len(body.Workflows.Docs)})
		mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	defer srv.Close()
	c, err := codefresh.New(codefresh.Options{BaseURL: srv.URL + "/api", APIKey: canary, RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := codefresh.Lookup("builds")
	load := func() []listed {
		mu.Lock()
		seen = nil
		mu.Unlock()
		schema := normalize.NewSchema("codefresh")
		schema.EnsureRoot("builds", "builds", "merge", res.PrimaryKey)
		sink := &idSink{}
		ctx := context.Background()
		x := extract.Start(ctx, extract.Config{
			Client: c, Normalizer: normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"}), Sink: sink,
			Redactor: secrets.NewRedactor(canary), Cursors: memCursors{}, Resources: []codefresh.Resource{res}, Concurrency: conc,
		})
		_, recs, err := x.Resource(ctx, res)
		if err == nil {
			err = x.Stop()
		}
		if err != nil || recs != builds {
			t.Fatalf("%v, %d records of %d", err, recs, builds)
		}
		slices.Sort(sink.ids)
		if n := len(slices.Compact(sink.ids)); n != builds || len(sink.ids) != builds {
			t.Fatalf("%d rows with %d distinct ids, want %d", len(sink.ids), n, builds)
		}
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
	first := load()
	if m := most.Load(); m > conc {
		t.Errorf("%d requests at once, concurrency %d", m, conc)
	}
	type dates struct{ start, end string }
	pages := map[dates][]listed{}
	for _, l := range first {
		if l.limit != "1" && l.start != "" && l.end != "" {
			pages[dates{l.start, l.end}] = append(pages[dates{l.start, l.end}], l)
		}
	}
	var windows []dates
	for w, ls := range pages {
		windows = append(windows, w)
		slices.SortFunc(ls, func(a, b listed) int { return cmp.Compare(atoi(a.page), atoi(b.page)) })
		for i, l := range ls {
			if l.records == 0 {
				t.Errorf("window %s..%s page %s came back empty", w.start, w.end, l.page)
			}
			if l.records < 100 && i != len(ls)-1 {
				t.Errorf("window %s..%s page %s holds %d records before its last page", w.start, w.end, l.page, l.records)
			}
		}
	}
	slices.SortFunc(windows, func(a, b dates) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(windows); i++ {
		if windows[i].start <= windows[i-1].end {
			t.Errorf("windows %v and %v overlap", windows[i-1], windows[i])
		}
	}
	if len(windows) < conc {
		t.Errorf("%d windows for %d workers", len(windows), conc)
	}
	second := load()
	key := func(l listed) string { return l.start + " " + l.end + " " + l.page + " " + l.limit }
	a, b := make([]string, len(first)), make([]string, len(second))
	for i := range first {
		a[i] = key(first[i])
	}
	for i := range second {
		b[i] = key(second[i])
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("a second load of the same data made other requests:\n%v\n%v", a, b)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
