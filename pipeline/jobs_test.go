package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// fakeRun is a controllable runner: it reports progress, then waits for
// release or cancellation.
type fakeRun struct {
	key     string
	release chan struct{}
	err     error
	started chan struct{}
	once    sync.Once
}

func newFakeRun(key string) *fakeRun {
	return &fakeRun{key: key, release: make(chan struct{}), started: make(chan struct{})}
}

func (f *fakeRun) DatabaseKey() string { return f.key }

func (f *fakeRun) Run(ctx context.Context, opts Options) (*LoadInfo, error) {
	opts.Progress(Progress{Phase: "extract", Resource: "builds", Pages: 3, Rows: 300})
	f.once.Do(func() { close(f.started) })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-f.release:
	}
	if f.err != nil {
		return nil, f.err
	}
	return &LoadInfo{LoadID: "1749667187.541553", Pages: 3}, nil
}

func waitDone(t *testing.T, j *Job) JobStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := j.Wait(ctx)
	if !s.Done() {
		t.Fatalf("job %s still %s", j.ID(), s.State)
	}
	return s
}

func TestJobSucceedsWithProgressAndInfo(t *testing.T) {
	js := NewJobs()
	f := newFakeRun("/p/codefresh.duckdb")
	var seen []Progress
	var mu sync.Mutex
	j, err := js.start(f, "/p", Options{Resources: []string{"builds"}, MaxPages: 3, Progress: func(p Progress) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-f.started
	s := j.Status()
	if s.State != trace.LoadRunning || s.Progress.Pages != 3 || s.Progress.Rows != 300 || s.Progress.Resource != "builds" {
		t.Fatalf("running status = %+v", s)
	}
	if !strings.HasPrefix(s.ID, "load_") || s.Options.MaxPages != 3 || s.Options.Resources[0] != "builds" {
		t.Fatalf("status fields = %+v", s)
	}
	close(f.release)
	s = waitDone(t, j)
	if s.State != trace.LoadSucceeded || s.Info == nil || s.Info.LoadID != "1749667187.541553" || s.Error != "" {
		t.Fatalf("final status = %+v", s)
	}
	if s.Ended.Before(s.Started) {
		t.Fatalf("ended %v before started %v", s.Ended, s.Started)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Rows != 300 {
		t.Fatalf("caller's Progress got %+v", seen)
	}
}

func TestOneJobPerDatabase(t *testing.T) {
	js := NewJobs()
	a := newFakeRun("/p/codefresh.duckdb")
	ja, err := js.start(a, "/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.start(newFakeRun("/p/codefresh.duckdb"), "/p", Options{})
	var busy *BusyError
	if !errors.As(err, &busy) || busy.JobID != ja.ID() || !strings.Contains(err.Error(), ja.ID()) {
		t.Fatalf("second start error = %v, want BusyError naming %s", err, ja.ID())
	}
	// Another database is independent.
	other := newFakeRun("/q/codefresh.duckdb")
	jo, err := js.start(other, "/q", Options{})
	if err != nil {
		t.Fatalf("start on another database: %v", err)
	}
	close(a.release)
	close(other.release)
	waitDone(t, ja)
	waitDone(t, jo)
	// Once the first has finished, the database is free again.
	again := newFakeRun("/p/codefresh.duckdb")
	jb, err := js.start(again, "/p", Options{})
	if err != nil {
		t.Fatalf("start after finish: %v", err)
	}
	close(again.release)
	waitDone(t, jb)
	list := js.List()
	if len(list) != 3 || list[0].ID != jb.ID() || list[2].ID != ja.ID() {
		t.Fatalf("List order = %v", list)
	}
}

func TestCancelStopsJob(t *testing.T) {
	js := NewJobs()
	f := newFakeRun("k")
	j, err := js.start(f, "/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	<-f.started
	s, err := js.Cancel(j.ID(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != trace.LoadCancelled || s.Info != nil || s.Ended.IsZero() {
		t.Fatalf("after cancel: %+v", s)
	}
	if _, ok := js.Running("k"); ok {
		t.Fatal("cancelled job still registered as running")
	}
	// Cancelling a finished job changes nothing.
	s2, err := js.Cancel(j.ID(), time.Second)
	if err != nil || s2.State != trace.LoadCancelled {
		t.Fatalf("second cancel: %+v, %v", s2, err)
	}
	if _, err := js.Cancel("load_nope", time.Second); !errors.Is(err, ErrNoJob) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestFailedJobErrorIsRedacted(t *testing.T) {
	js := NewJobs()
	js.Redact = func(s string) string { return strings.ReplaceAll(s, "cfk-CANARY-7f3a9d1e5b", "[REDACTED]") }
	f := newFakeRun("k")
	f.err = errors.New("GET /workflow: 401 with key cfk-CANARY-7f3a9d1e5b")
	j, err := js.start(f, "/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	close(f.release)
	s := waitDone(t, j)
	if s.State != trace.LoadFailed || s.Error != "GET /workflow: 401 with key [REDACTED]" {
		t.Fatalf("failed status = %+v", s)
	}
}

func TestCloseCancelsRunningJobs(t *testing.T) {
	js := NewJobs()
	f := newFakeRun("k")
	j, err := js.start(f, "/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := j.Status(); s.State != trace.LoadCancelled {
		t.Fatalf("after Close: %+v", s)
	}
}

func TestFinishedJobsAreBounded(t *testing.T) {
	js := NewJobs()
	var first string
	for i := 0; i < keepFinished+5; i++ {
		f := newFakeRun("k")
		close(f.release)
		j, err := js.start(f, "/p", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = j.ID()
		}
		waitDone(t, j)
	}
	if n := len(js.List()); n > keepFinished+1 {
		t.Fatalf("remembered %d jobs", n)
	}
	if _, ok := js.Get(first); ok {
		t.Fatal("oldest job not forgotten")
	}
}

// Concurrent status reads, starts and cancels must be race-free (go test -race).
func TestJobsConcurrentUse(t *testing.T) {
	js := NewJobs()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := newFakeRun("shared")
			j, err := js.start(f, "/p", Options{})
			if err != nil {
				return // another goroutine's job holds the database
			}
			for k := 0; k < 20; k++ {
				_ = j.Status()
				_ = js.List()
			}
			if _, err := js.Cancel(j.ID(), 5*time.Second); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, s := range js.List() {
		if s.State != trace.LoadCancelled {
			t.Fatalf("job %s is %s", s.ID, s.State)
		}
	}
}

func TestReserveWaitHoldsAtMostMaxWaiters(t *testing.T) {
	js := NewJobs()
	var releases []func()
	for range MaxWaiters {
		release, ok := js.ReserveWait()
		if !ok {
			t.Fatalf("place %d refused", len(releases)+1)
		}
		releases = append(releases, release)
	}
	if _, ok := js.ReserveWait(); ok || js.Waiters() != MaxWaiters {
		t.Fatalf("a place beyond %d granted (ok %v, waiters %d)", MaxWaiters, ok, js.Waiters())
	}
	releases[0]()
	releases[0]() // releasing twice gives back one place only
	if js.Waiters() != MaxWaiters-1 {
		t.Fatalf("waiters after one release = %d", js.Waiters())
	}
	if _, ok := js.ReserveWait(); !ok {
		t.Fatal("the released place was not granted again")
	}
}

func TestCancelAllCancelsWithoutWaiting(t *testing.T) {
	js := NewJobs()
	f := newFakeRun("/p/codefresh.duckdb")
	j, err := js.start(f, "/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	<-f.started
	js.CancelAll()
	if s := waitDone(t, j); s.State != trace.LoadCancelled {
		t.Fatalf("state = %s", s.State)
	}
}

// Over HTTP each client is an owner: another owner's job is neither listed,
// found, cancelled nor named, and its load still blocks the database.
func TestJobsOfAnotherOwnerAreInvisible(t *testing.T) {
	js := NewJobs()
	a := newFakeRun("/p/codefresh.duckdb")
	ja, err := js.startFor("alice", a, "/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	<-a.started
	if _, ok := js.GetFor("bob", ja.ID()); ok {
		t.Fatal("bob found alice's job")
	}
	if _, ok := js.Get(ja.ID()); ok {
		t.Fatal("the owner \"\" found alice's job")
	}
	if got := js.ListFor("bob"); len(got) != 0 {
		t.Fatalf("bob's list = %v", got)
	}
	if _, ok := js.RunningFor("bob", "/p/codefresh.duckdb"); ok {
		t.Fatal("bob sees alice's running job")
	}
	if _, err := js.CancelFor("bob", ja.ID(), time.Second); !errors.Is(err, ErrNoJob) {
		t.Fatalf("bob's cancel = %v, want ErrNoJob", err)
	}
	if s := ja.Status(); s.State != trace.LoadRunning {
		t.Fatalf("after bob's cancel alice's job is %s", s.State)
	}
	_, err = js.startFor("bob", newFakeRun("/p/codefresh.duckdb"), "/p", Options{})
	var busy *BusyError
	if !errors.As(err, &busy) || busy.JobID != "" || strings.Contains(err.Error(), ja.ID()) {
		t.Fatalf("bob's start on the busy database = %v, want a BusyError without alice's job id", err)
	}
	if got := js.ListFor("alice"); len(got) != 1 || got[0].ID != ja.ID() {
		t.Fatalf("alice's list = %v", got)
	}
	if j, ok := js.RunningFor("alice", "/p/codefresh.duckdb"); !ok || j != ja {
		t.Fatal("alice does not see her running job")
	}
	s, err := js.CancelFor("alice", ja.ID(), 5*time.Second)
	if err != nil || s.State != trace.LoadCancelled {
		t.Fatalf("alice's cancel = %+v, %v", s, err)
	}
}
