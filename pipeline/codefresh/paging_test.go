package codefresh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// collect pages a resource and returns every record and page.
func collect(t *testing.T, c *codefresh.Client, name string, opt codefresh.PageOptions) ([]map[string]any, []*codefresh.Page, error) {
	t.Helper()
	r, ok := codefresh.Lookup(name)
	if !ok {
		t.Fatalf("no resource %s", name)
	}
	var recs []map[string]any
	var pages []*codefresh.Page
	err := c.Pages(context.Background(), r, opt, func(p *codefresh.Page) error {
		recs = append(recs, p.Records...)
		pages = append(pages, p)
		return nil
	})
	return recs, pages, err
}

func intParam(q url.Values, k string, def int) int {
	if v, err := strconv.Atoi(q.Get(k)); err == nil {
		return v
	}
	return def
}

// pageListing is what a limit/offset test server serves: n records made by
// rec, pages of at most capAt (0: no cap), the total as "count" when
// counted, and every page from the start when it ignores the offset.
type pageListing struct {
	n, capAt     int
	counted      bool
	ignoreOffset bool
	rec          func(i int) any
}

// listServer serves l as {"docs": [...]}; it counts requests.
func listServer(t *testing.T, l pageListing) (string, *int) {
	var mu sync.Mutex
	calls := 0
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		q := r.URL.Query()
		limit, off := intParam(q, "limit", 25), intParam(q, "offset", 0)
		if l.capAt > 0 {
			limit = min(limit, l.capAt)
		}
		if l.ignoreOffset {
			off = 0
		}
		docs := []any{}
		for i := off; i < min(off+limit, l.n); i++ {
			docs = append(docs, l.rec(i))
		}
		page := map[string]any{"docs": docs}
		if l.counted {
			page["count"] = l.n
		}
		writeJSON(w, 200, page)
	})
	return base, &calls
}

// offsetServer serves n pipelines with limit/offset; it counts requests.
func offsetServer(t *testing.T, n int, ignoreOffset bool) (string, *int) {
	return listServer(t, pageListing{n: n, counted: true, ignoreOffset: ignoreOffset, rec: func(i int) any {
		return map[string]any{"metadata": map[string]any{"id": fmt.Sprintf("p%03d", i), "revision": i}}
	}})
}

func TestOffsetPaging(t *testing.T) {
	for _, tc := range []struct{ n, wantCalls int }{{250, 3}, {200, 2}, {0, 1}, {99, 1}} { // 200: the count says page 2 was the last
		base, calls := offsetServer(t, tc.n, false)
		c, _ := newClient(t, base)
		recs, pages, err := collect(t, c, "pipelines", codefresh.PageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != tc.n || *calls != tc.wantCalls {
			t.Errorf("n=%d: got %d records in %d requests, want %d requests", tc.n, len(recs), *calls, tc.wantCalls)
		}
		if tc.n > 0 {
			if pages[0].Selector != "docs" || pages[0].Number != 1 {
				t.Errorf("page: %+v", pages[0])
			}
			// Numbers arrive as json.Number.
			if _, ok := recs[0]["metadata"].(map[string]any)["revision"].(json.Number); !ok {
				t.Errorf("revision is %T", recs[0]["metadata"].(map[string]any)["revision"])
			}
			if last := recs[len(recs)-1]; codefresh.RecordID(last) != fmt.Sprintf("p%03d", tc.n-1) {
				t.Errorf("last record %v", last)
			}
		}
	}
}

func TestPageOptionsMaxPagesAndSize(t *testing.T) {
	base, calls := offsetServer(t, 250, false)
	c, _ := newClient(t, base)
	recs, _, err := collect(t, c, "pipelines", codefresh.PageOptions{PageSize: 10, MaxPages: 2})
	if err != nil || len(recs) != 20 || *calls != 2 {
		t.Errorf("err=%v records=%d calls=%d", err, len(recs), *calls)
	}
}

func TestLoopGuard(t *testing.T) {
	base, calls := offsetServer(t, 500, true)
	c, _ := newClient(t, base)
	_, _, err := collect(t, c, "pipelines", codefresh.PageOptions{})
	var le *codefresh.LoopError
	if !errors.As(err, &le) || le.Page != 2 || *calls != 2 {
		t.Fatalf("err = %v after %d calls, want LoopError at page 2", err, *calls)
	}
	// Endless distinct full pages: the client's MaxPages bound stops them.
	base = serve(t, func(w http.ResponseWriter, r *http.Request) {
		off := intParam(r.URL.Query(), "offset", 0)
		docs := make([]any, intParam(r.URL.Query(), "limit", 1))
		for i := range docs {
			docs[i] = map[string]any{"metadata": map[string]any{"id": strconv.Itoa(off + i)}}
		}
		writeJSON(w, 200, map[string]any{"docs": docs})
	})
	c, _ = newClient(t, base, func(o *codefresh.Options) { o.MaxPages = 3 })
	_, pages, err := collect(t, c, "step_types", codefresh.PageOptions{PageSize: 5})
	if !errors.As(err, &le) || len(pages) != 3 || !strings.Contains(err.Error(), "more than 3 pages") {
		t.Fatalf("err = %v after %d pages", err, len(pages))
	}
}

func TestServerIgnoringLimitEndsListing(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		docs := make([]any, 150)
		for i := range docs {
			docs[i] = map[string]any{"_id": strconv.Itoa(i)}
		}
		writeJSON(w, 200, docs) // bare array, everything at once
	})
	c, _ := newClient(t, base)
	recs, pages, err := collect(t, c, "images", codefresh.PageOptions{})
	if err != nil || len(recs) != 150 || len(pages) != 1 || pages[0].Selector != "$" {
		t.Errorf("err=%v records=%d pages=%d", err, len(recs), len(pages))
	}
}

func TestSelectorsAndShapes(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/user":
			writeJSON(w, 200, map[string]any{"_id": "u1", "userName": "jdoe"})
		case "/projects": // bare array, as PostHog reports
			writeJSON(w, 200, []any{map[string]any{"id": "p1"}, map[string]any{"id": "p2"}})
		case "/step-types":
			writeJSON(w, 200, map[string]any{"things": []any{}, "count": 0})
		case "/runtime-environments": // an envelope no source reports
			writeJSON(w, 200, map[string]any{"items": []any{map[string]any{"metadata": map[string]any{"name": "re1"}}}})
		case "/builds/b1":
			writeJSON(w, 200, []any{})
		case "/pipelines/names": // shape unverified: a list of strings is wrapped
			writeJSON(w, 200, []any{"a/b", "a/c"})
		}
	})
	c, _ := newClient(t, base)
	recs, pages, err := collect(t, c, "user", codefresh.PageOptions{})
	if err != nil || len(recs) != 1 || len(pages) != 1 || pages[0].Selector != "" || recs[0]["userName"] != "jdoe" {
		t.Errorf("user: err=%v recs=%v", err, recs)
	}
	recs, pages, err = collect(t, c, "projects", codefresh.PageOptions{})
	if err != nil || len(recs) != 2 || pages[0].Selector != "$" {
		t.Errorf("projects bare array: err=%v recs=%d", err, len(recs))
	}
	_, _, err = collect(t, c, "step_types", codefresh.PageOptions{})
	var se *codefresh.ShapeError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "[count things]") || !strings.Contains(err.Error(), "an array at docs") {
		t.Errorf("step_types shape: %v", err)
	}
	var devs []codefresh.Deviation
	recs, pages, err = collect(t, c, "runtime_environments", codefresh.PageOptions{OnDeviation: func(d codefresh.Deviation) { devs = append(devs, d) }})
	if err != nil || len(recs) != 1 || pages[0].Selector != "items" {
		t.Errorf("runtime_environments items: err=%v recs=%d", err, len(recs))
	}
	if len(devs) != 1 || devs[0].Kind != codefresh.DeviationEnvelope || devs[0].Resource != "runtime_environments" ||
		devs[0].Expected != "a bare array" || devs[0].Got != "an array at items" {
		t.Errorf("deviations %+v", devs)
	}
	_, _, err = collect(t, c, "builds_by_id", codefresh.PageOptions{PathParams: map[string]string{"id": "b1"}})
	if !errors.As(err, &se) {
		t.Errorf("builds_by_id array: %v", err)
	}
	recs, _, err = collect(t, c, "pipelines_names", codefresh.PageOptions{})
	if err != nil || len(recs) != 2 || recs[1]["value"] != "a/c" {
		t.Errorf("pipelines_names strings: %v %v", err, recs)
	}
}

func TestRawIsStrippedAndOrdered(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"pipeline":"p1","event":"registry:x","filters":{"tag":"<v>"},"event-data":{"uri":"registry:x","secret":"S3CRET","endpoint":"https://h/?secret=S3CRET","status":"active"}}]`))
	})
	c, _ := newClient(t, base)
	recs, pages, err := collect(t, c, "triggers", codefresh.PageOptions{})
	if err != nil || len(recs) != 1 {
		t.Fatal(err)
	}
	want := `{"pipeline":"p1","event":"registry:x","filters":{"tag":"<v>"},"event-data":{"uri":"registry:x","status":"active"}}`
	if string(pages[0].Raw[0]) != want {
		t.Errorf("raw = %s\nwant  %s", pages[0].Raw[0], want)
	}
	if b, _ := json.Marshal(recs[0]); strings.Contains(string(b), "S3CRET") {
		t.Errorf("record keeps a secret: %s", b)
	}
}

// cursorServer imitates /workflow: a cursor per (key, session id), page 1
// resets, only the next page may follow; a jump is a 400.
type cursorServer struct {
	mu       sync.Mutex
	total    int
	cursors  map[string]int
	sessions map[string][]int // session -> pages asked, in order
	resets   map[string]bool
	bad      []string
}

func (s *cursorServer) handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sid := r.Header.Get(codefresh.SessionHeader)
	page, limit := intParam(q, "page", 1), intParam(q, "limit", 25)
	s.mu.Lock()
	cur := s.cursors[sid]
	ok := page == 1 || page == cur+1
	if page == 1 && q.Get("paginationReset") != "true" {
		s.bad = append(s.bad, "page 1 without paginationReset")
	}
	if page > 1 && q.Has("paginationReset") {
		s.bad = append(s.bad, "paginationReset on page "+strconv.Itoa(page))
	}
	if ok {
		s.cursors[sid] = page
		s.sessions[sid] = append(s.sessions[sid], page)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 400, map[string]any{"message": "invalid pagination operation"})
		return
	}
	time.Sleep(time.Millisecond) // let two listings interleave
	docs := []any{}
	start := (page - 1) * limit
	for i := start; i < min(start+limit, s.total); i++ {
		docs = append(docs, map[string]any{"id": fmt.Sprintf("b%04d", i), "created": "2024-05-06T07:00:00.000Z"})
	}
	writeJSON(w, 200, map[string]any{"workflows": map[string]any{"docs": docs},
		"pagination": map[string]any{"page": page, "pageSize": limit, "nextPage": start+limit < s.total}})
}

func TestConcurrentBuildListingsUseSeparateSessions(t *testing.T) {
	s := &cursorServer{total: 95, cursors: map[string]int{}, sessions: map[string][]int{}, resets: map[string]bool{}}
	base := serve(t, s.handle)
	c, _ := newClient(t, base)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs, _, err := collect(t, c, "builds", codefresh.PageOptions{PageSize: 10})
			if err != nil {
				t.Error(err)
			}
			counts[i] = len(recs)
		}()
	}
	wg.Wait()
	if counts[0] != 95 || counts[1] != 95 {
		t.Errorf("records per listing = %v, want 95 each", counts)
	}
	if len(s.sessions) != 2 {
		t.Fatalf("session ids used: %d, want 2 (one per listing)", len(s.sessions))
	}
	for sid, pages := range s.sessions {
		if sid == "" {
			t.Error("a listing sent no X-Pagination-Session-Id")
		}
		for i, p := range pages {
			if p != i+1 {
				t.Errorf("session %s asked pages %v, want 1..10 in order", sid, pages)
				break
			}
		}
	}
	if len(s.bad) > 0 {
		t.Errorf("protocol errors: %v", s.bad)
	}
}

func TestCursorStopsOnNextPageFalse(t *testing.T) {
	s := &cursorServer{total: 20, cursors: map[string]int{}, sessions: map[string][]int{}, resets: map[string]bool{}}
	base := serve(t, s.handle)
	c, _ := newClient(t, base)
	recs, pages, err := collect(t, c, "builds", codefresh.PageOptions{PageSize: 10})
	// 20 records in full pages of 10: nextPage=false on page 2 saves a third request.
	if err != nil || len(recs) != 20 || len(pages) != 2 {
		t.Errorf("err=%v records=%d pages=%d", err, len(recs), len(pages))
	}
	for _, p := range s.sessions {
		if len(p) != 2 {
			t.Errorf("requests: %v", p)
		}
	}
}

func TestPagePaging(t *testing.T) {
	var asked []string
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		asked = append(asked, q.Get("page")+"/"+q.Get("limit"))
		page, limit := intParam(q, "page", 1), intParam(q, "limit", 10)
		data := []any{}
		for i := (page - 1) * limit; i < min(page*limit, 23); i++ {
			data = append(data, map[string]any{"id": i + 1, "action": "run"})
		}
		writeJSON(w, 200, map[string]any{"data": data})
	})
	c, _ := newClient(t, base)
	recs, _, err := collect(t, c, "audit", codefresh.PageOptions{PageSize: 10})
	if err != nil || len(recs) != 23 || strings.Join(asked, ",") != "1/10,2/10,3/10" {
		t.Errorf("err=%v records=%d asked=%v", err, len(recs), asked)
	}
}

func TestRawWalkerTrickyJSON(t *testing.T) {
	body := "[ {\"event\" : \"a\\\"}]{[\" , \"pipe\\u006cine\":\"p\",\n\"event-data\":{ \"secret\":\"x}\\\\\",\"uri\":\"u,]\" , \"endpoint\" : null },\"n\":[1.5e3,[],{}],\"t\":true} ,\t{\"event\":\"b\",\"pipeline\":\"q\"} ]"
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
	c, _ := newClient(t, base)
	recs, pages, err := collect(t, c, "triggers", codefresh.PageOptions{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("err=%v records=%d", err, len(recs))
	}
	want := `{"event":"a\"}]{[","pipe\u006cine":"p","event-data":{"uri":"u,]"},"n":[1.5e3,[],{}],"t":true}`
	if got := string(pages[0].Raw[0]); got != want {
		t.Errorf("raw = %s\nwant  %s", got, want)
	}
	if recs[0]["pipeline"] != "p" || recs[0]["event"] != "a\"}]{[" || recs[1]["pipeline"] != "q" {
		t.Errorf("records = %v", recs)
	}
	var v any
	if err := json.Unmarshal(pages[0].Raw[0], &v); err != nil {
		t.Errorf("stripped raw is not JSON: %v", err)
	}
}

// cappedServer serves n step types with limit/offset but never more than
// cap per page, and no count: a short first page is all the client sees.
func cappedServer(t *testing.T, n, capAt int) (string, *int) {
	return listServer(t, pageListing{n: n, capAt: capAt, rec: func(i int) any {
		return map[string]any{"_id": fmt.Sprintf("s%03d", i)}
	}})
}

func TestCappedLimitPagedOnWhatComes(t *testing.T) {
	for _, tc := range []struct{ n, capAt, wantCalls int }{
		{120, 25, 5}, // 4 full pages of 25, then an empty page (no count to say so)
		{110, 25, 5}, // the short fifth page ends it
		{20, 25, 2},  // a short first page of a cap-like size: one request more tells
		{7, 25, 1},   // 7 is no cap: the first page was all
	} {
		base, calls := cappedServer(t, tc.n, tc.capAt)
		c, _ := newClient(t, base)
		var devs []codefresh.Deviation
		recs, _, err := collect(t, c, "step_types", codefresh.PageOptions{OnDeviation: func(d codefresh.Deviation) { devs = append(devs, d) }})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, r := range recs {
			ids[codefresh.RecordID(r)] = true
		}
		if len(recs) != tc.n || len(ids) != tc.n || *calls != tc.wantCalls {
			t.Errorf("n=%d cap=%d: %d records (%d distinct) in %d requests, want %d requests", tc.n, tc.capAt, len(recs), len(ids), *calls, tc.wantCalls)
		}
		if wantDev := tc.n > tc.capAt; wantDev != (len(devs) == 1) {
			t.Errorf("n=%d: deviations %+v", tc.n, devs)
		} else if wantDev && (devs[0].Kind != codefresh.DeviationPageSize || devs[0].Got != "pages of 25 records" || devs[0].Expected != "pages of 100 records (limit=100)") {
			t.Errorf("n=%d: deviation %+v", tc.n, devs[0])
		}
	}
}

// A server with a bigger page than asked that honours offsets is paged on
// its own size; one that ignores paging altogether gives its first page as
// the whole listing (two requests, no error).
func TestLargerPagesThanAsked(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		off := intParam(r.URL.Query(), "offset", 0)
		docs := []any{}
		for i := off; i < min(off+40, 100); i++ {
			docs = append(docs, map[string]any{"_id": strconv.Itoa(i)})
		}
		writeJSON(w, 200, docs)
	})
	c, _ := newClient(t, base)
	var devs []codefresh.Deviation
	recs, pages, err := collect(t, c, "step_types", codefresh.PageOptions{PageSize: 10, OnDeviation: func(d codefresh.Deviation) { devs = append(devs, d) }})
	if err != nil || len(recs) != 100 || len(pages) != 3 {
		t.Fatalf("err=%v records=%d pages=%d", err, len(recs), len(pages))
	}
	if !slicesHasKind(devs, codefresh.DeviationPageSize) {
		t.Errorf("deviations %+v", devs)
	}
}

func slicesHasKind(devs []codefresh.Deviation, kind string) bool {
	for _, d := range devs {
		if d.Kind == kind {
			return true
		}
	}
	return false
}

// A cursor that cycles (A, B, A, ...) is caught when a page comes back that
// the listing already had, not only when two pages in a row are equal.
func TestPageLoopCaught(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		page := intParam(r.URL.Query(), "page", 1)
		docs := make([]any, 100)
		for i := range docs {
			docs[i] = map[string]any{"id": fmt.Sprintf("b%d-%d", (page-1)%2, i)}
		}
		writeJSON(w, 200, map[string]any{"workflows": map[string]any{"docs": docs}, "pagination": map[string]any{"nextPage": true}})
	})
	c, _ := newClient(t, base)
	_, pages, err := collect(t, c, "builds", codefresh.PageOptions{})
	var le *codefresh.LoopError
	if !errors.As(err, &le) || le.Page != 3 || len(pages) != 2 || !strings.Contains(err.Error(), "page 3 repeats page 1") {
		t.Fatalf("err = %v after %d pages", err, len(pages))
	}
}
