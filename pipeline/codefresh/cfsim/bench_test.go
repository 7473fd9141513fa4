package cfsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps only the byte count, so the
// benchmark measures the simulator, not a recorder's buffer.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkListBuilds serves sequential 100-build pages of a 1M-build
// account through the handler (no network) and reports builds/s and bytes.
func BenchmarkListBuilds(b *testing.B) {
	s := New(Config{Seed: 1, Builds: 1_000_000, Pipelines: 200, Projects: 20, APIKey: canaryKey})
	h := s.Handler()
	var total int64
	page := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page++
		if page > 10_000 {
			page = 1
		}
		r := httptest.NewRequest(http.MethodGet, "/api/workflow?limit=100&page="+strconv.Itoa(page), nil)
		r.Header.Set("Authorization", canaryKey)
		r.Header.Set("X-Pagination-Session-Id", "bench")
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, r)
		total += int64(w.n)
		if i%1000 == 999 {
			s.ResetRequests()
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "builds/s")
	b.ReportMetric(float64(total)/float64(b.N)/100, "bytes/build")
}

// BenchmarkListBuildsHTTP is the same over loopback TCP with a real client.
func BenchmarkListBuildsHTTP(b *testing.B) {
	s := New(Config{Seed: 1, Builds: 1_000_000, Pipelines: 200, Projects: 20, APIKey: canaryKey})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, err := s.Start(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	page := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page++
		if page > 10_000 {
			page = 1
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/workflow?limit=100&page="+strconv.Itoa(page), nil)
		req.Header.Set("Authorization", canaryKey)
		req.Header.Set("X-Pagination-Session-Id", "bench")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i%1000 == 999 {
			s.ResetRequests()
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "builds/s")
}

// TestConcurrentListingsWhileAdvancing exercises the locks (run with -race):
// sessions page in parallel while the clock advances and builds arrive.
// The 1M-build benchmarks: go test -run - -bench ListBuilds ./pipeline/codefresh/cfsim
func TestConcurrentListingsWhileAdvancing(t *testing.T) {
	s := newTestServer(t, Config{Seed: 30, Builds: 2000, BuildsPerHour: 200})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			sess := "s" + strconv.Itoa(g)
			seen := map[string]bool{}
			for page := 1; page <= 20; page++ {
				code, body, _ := do(t, s, "/workflow?limit=50&page="+strconv.Itoa(page), "X-Pagination-Session-Id", sess)
				if code != 200 {
					errs <- sess + ": status " + strconv.Itoa(code) + " " + string(body)
					return
				}
				// The cursor is anchored: builds arriving meanwhile never
				// shift a page, so a listing sees no build twice.
				var v struct {
					Workflows struct {
						Docs []struct{ ID string } `json:"docs"`
					} `json:"workflows"`
				}
				if err := json.Unmarshal(body, &v); err != nil {
					errs <- err.Error()
					return
				}
				for _, d := range v.Workflows.Docs {
					if seen[d.ID] {
						errs <- sess + ": build seen twice: " + d.ID
						return
					}
					seen[d.ID] = true
				}
			}
		}(g)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			s.Advance(10 * time.Minute)
			do(t, s, "/builds/rebuild/"+s.BuildIDs()[0])
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if s.Count("builds") <= 2000 {
		t.Fatal("no builds arrived")
	}
}
