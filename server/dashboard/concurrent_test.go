package dashboard

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAnswersDuringLoad: pages keep answering while a load commits into the
// same DuckDB file, and the load is not held up by them: every read opens
// the file read-only and briefly.
func TestAnswersDuringLoad(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if err := demoLoad(ctx, dir, 1500, 1); err != nil {
		t.Fatal(err)
	}
	s := serve(t, dir, nil)

	loadErr := make(chan error, 1)
	go func() { loadErr <- demoLoad(ctx, dir, 1500, 2) }()
	var wg sync.WaitGroup
	var served, failed atomic.Int64
	var mu sync.Mutex
	var slowest time.Duration
	stop := make(chan struct{})
	// Two tabs reloading pages back to back: busier than any person.
	for _, paths := range [][]string{{"/", "/ci"}, {"/loads", "/schema"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				path := paths[served.Load()%2]
				began := time.Now()
				p := s.get(t, path)
				took := time.Since(began)
				mu.Lock()
				slowest = max(slowest, took)
				mu.Unlock()
				if p.StatusCode == 200 && !strings.Contains(p.Body, `data-testid="problem"`) {
					served.Add(1)
				} else {
					failed.Add(1)
					t.Errorf("%s during a load: %d %s", path, p.StatusCode, problem(p.Body))
				}
			}
		}()
	}
	var err error
	select {
	case err = <-loadErr:
	case <-time.After(5 * time.Minute):
		t.Fatal("the load did not finish")
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("load beside the dashboard: %v", err)
	}
	t.Logf("%d pages served during two loads, %d failed, slowest %s", served.Load(), failed.Load(), slowest.Round(time.Millisecond))
	if served.Load() < 2 {
		t.Errorf("only %d pages served during the load", served.Load())
	}
	if n := strings.Count(s.get(t, "/loads").Body, `data-testid="load"`); n != 3 {
		t.Errorf("after the loads the Loads page lists %d loads, want 3", n)
	}
}

func problem(body string) string {
	i := strings.Index(body, `data-testid="problem"`)
	if i < 0 {
		return ""
	}
	return body[i:min(len(body), i+400)]
}
