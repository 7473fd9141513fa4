package duckdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// serverPair is a destination and a reader of one file sharing a server's
// Handles, as a server's load job and its tools do.
func serverPair(t *testing.T) (*Destination, *Reader, *dataset.Handles) {
	t.Helper()
	h := dataset.NewHandles(0)
	t.Cleanup(func() { h.Close() })
	path := filepath.Join(t.TempDir(), "codefresh.duckdb")
	d := New(path, Options{Handles: h})
	r, err := OpenReader(context.Background(), path, testDataset, ReaderOptions{Handles: h})
	if err != nil {
		t.Fatal(err)
	}
	return d, r, h
}

// buildsPackage stages n builds (4n rows) as load loadID.
func buildsPackage(t *testing.T, loadID string, n int) *destination.Package {
	t.Helper()
	pkg, err := conformance.BuildRows(context.Background(), testDataset, t.TempDir(), loadID, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pkg.Stage.Close() })
	return pkg
}

// answer is one query of a loop: when it ran, how long, what it said.
type answer struct {
	start, end time.Time
	count      int64 // builds
	steps      int64
	err        error
}

// countLoop counts builds through r back to back until stop is closed.
func countLoop(r *Reader, stop chan struct{}) <-chan []answer {
	out := make(chan []answer, 1)
	go func() {
		var as []answer
		for {
			select {
			case <-stop:
				out <- as
				return
			default:
			}
			a := countBuilds(r)
			as = append(as, a)
		}
	}()
	return out
}

func countBuilds(r *Reader) answer {
	a := answer{start: time.Now()}
	res, err := r.Query(context.Background(), `SELECT count(*), (SELECT count(*) FROM builds__steps) FROM builds`, dataset.QueryOptions{NoProvenance: true})
	a.end, a.err = time.Now(), err
	if err == nil {
		if len(res.Rows) == 1 {
			a.count, _ = res.Rows[0][0].(int64)
			a.steps, _ = res.Rows[0][1].(int64)
		} else {
			a.err = errors.New("no row")
		}
	}
	if a.err == nil && a.steps != 3*a.count { // every build has three steps
		a.err = fmt.Errorf("%d builds with %d steps: a torn snapshot", a.count, a.steps)
	}
	return a
}

// durations are the answers' durations in ms, sorted.
func durations(as []answer) []float64 {
	ms := make([]float64, len(as))
	for i, a := range as {
		ms[i] = float64(a.end.Sub(a.start).Microseconds()) / 1000
	}
	slices.Sort(ms)
	return ms
}

// In a server, queries during a load's commit read the last committed
// snapshot from the commit's own database: none fails or waits for the
// lock, each sees the builds before or after the load whole, and inside
// the commit's transaction the builds before it. The second load merges
// over the first and keeps some of its builds, so its tables are written
// in place, and the steps it inserts fill more than one DuckDB row group
// (122,880 rows): a statement during such a COMMIT, even in a transaction
// begun before it, saw the inserted steps beside the steps it deletes until
// readers were held back for it (Handles.BeginCommit without Begin).
func TestQueriesDuringACommitReadTheLastSnapshot(t *testing.T) {
	// Builds; the second load merges over the first and keeps 1000 of them.
	const before, after = 46000, 46000
	d, r, h := serverPair(t)
	commit(t, d, buildsPackage(t, "1000.1", before))
	if a := countBuilds(r); a.err != nil || a.count != before {
		t.Fatalf("after the first load: %d, %v", a.count, a.err)
	}
	var idle []answer
	for range 20 {
		idle = append(idle, countBuilds(r))
	}
	second := buildsPackage(t, "2000.1", 45000)
	if err := second.Stage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	_, overlapping, inside := commitUnderQueries(t, d, r, second, before, after, func(step string) {
		if !h.Writing(d.path) {
			t.Errorf("after step %s the handles do not say the file is being written", step)
		}
	})
	id, ov := durations(idle), durations(overlapping)
	t.Logf("%d queries overlapped the commit: p50 %.1f ms, max %.1f ms (idle: p50 %.1f ms, max %.1f ms); %d queries inside its transaction",
		len(ov), ov[len(ov)/2], ov[len(ov)-1], id[len(id)/2], id[len(id)-1], inside)
}

// A load that replaces the tables it writes, by its replace disposition or
// by merging over every row they hold, creates them again in its
// transaction, so readers during its COMMIT read through connections whose
// transactions began before it instead of waiting: each sees the builds
// before or after the load whole, and none fails. How long the queries
// overlapping the commit took is logged, not asserted.
func TestQueriesDuringAReplaceReadASnapshot(t *testing.T) {
	for _, disposition := range []string{destination.Replace, destination.Merge} {
		t.Run(disposition, func(t *testing.T) { replaceDuringQueries(t, disposition) })
	}
}

func replaceDuringQueries(t *testing.T, disposition string) {
	const before, after = 2000, 45000
	d, r, _ := serverPair(t)
	commit(t, d, buildsPackage(t, "1000.1", before))
	second := buildsPackage(t, "2000.1", after)
	second.Table("builds").WriteDisposition = disposition
	if err := second.Stage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	stats, overlapping, _ := commitUnderQueries(t, d, r, second, before, after, nil)
	if got := stats.Tables["builds"]; got.Deleted != before || got.Inserted != after {
		t.Errorf("builds: %d deleted, %d inserted; want %d, %d", got.Deleted, got.Inserted, before, after)
	}
	if got := stats.Tables["builds__steps"]; got.Deleted != 3*before || got.Inserted != 3*after {
		t.Errorf("builds__steps: %d deleted, %d inserted; want %d, %d", got.Deleted, got.Inserted, 3*before, 3*after)
	}
	ov := durations(overlapping)
	t.Logf("%d queries overlapped the commit: p50 %.1f ms, max %.1f ms", len(ov), ov[len(ov)/2], ov[len(ov)-1])
}

// commitUnderQueries commits second into d while a loop of queries runs on
// r, and checks what each reader saw: in the commit's transaction (after
// each step, where onStep, when set, checks more) the before builds; during
// the commit the before or after builds whole and no error; after it the
// after builds. It returns the commit's stats, the loop's queries that
// overlapped the commit and how many queries ran inside it. The commit's
// duration is logged, not asserted.
func commitUnderQueries(t *testing.T, d *Destination, r *Reader, second *destination.Package, before, after int64, onStep func(step string)) (*destination.CommitStats, []answer, int) {
	t.Helper()
	var mu sync.Mutex
	var inside []answer
	d.afterStep = func(step string) {
		a := countBuilds(r)
		mu.Lock()
		inside = append(inside, a)
		mu.Unlock()
		if onStep != nil {
			onStep(step)
		}
	}
	stop := make(chan struct{})
	loop := countLoop(r, stop)
	time.Sleep(50 * time.Millisecond) // the loop is running
	commitStart := time.Now()
	stats := commit(t, d, second)
	commitEnd := time.Now()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	during := <-loop

	if len(inside) == 0 {
		t.Fatal("no commit step ran a query")
	}
	for _, a := range inside {
		if a.err != nil || a.count != before {
			t.Errorf("inside the commit: %d builds, %v; want the %d committed before", a.count, a.err, before)
		}
	}
	var overlapping []answer
	for _, a := range during {
		if a.err != nil || (a.count != before && a.count != after) {
			t.Errorf("query during the commit: %d builds, %v; want %d or %d", a.count, a.err, before, after)
		}
		if a.end.After(commitStart) && a.start.Before(commitEnd) {
			overlapping = append(overlapping, a)
		}
	}
	if len(overlapping) == 0 {
		t.Fatal("no query of the loop ran during the commit")
	}
	if a := countBuilds(r); a.err != nil || a.count != after {
		t.Fatalf("after the second load: %d, %v", a.count, a.err)
	}
	t.Logf("commit %s", commitEnd.Sub(commitStart).Round(time.Millisecond))
	return stats, overlapping, len(inside)
}

// A first load is committed by moving its stage into place: a reader before
// the move finds no data yet, after it every build, and never an error.
func TestReaderDuringTheMove(t *testing.T) {
	const n = 3000
	d, r, _ := serverPair(t)
	pkg := buildsPackage(t, "1000.1", n)
	var mu sync.Mutex
	var inside []answer
	d.afterStep = func(string) {
		a := countBuilds(r)
		mu.Lock()
		inside = append(inside, a)
		mu.Unlock()
	}
	stop := make(chan struct{})
	loop := countLoop(r, stop)
	commit(t, d, pkg)
	time.Sleep(50 * time.Millisecond)
	close(stop)
	during := <-loop
	if _, err := os.Stat(pkg.Stage.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stage was not moved into place: %v", err)
	}
	if len(inside) == 0 {
		t.Fatal("no commit step ran a query")
	}
	for _, a := range inside {
		if !errors.Is(a.err, dataset.ErrNoData) {
			t.Errorf("before the move: %d builds, %v; want no data yet", a.count, a.err)
		}
	}
	answered := 0
	for _, a := range append(during, countBuilds(r)) {
		switch {
		case errors.Is(a.err, dataset.ErrNoData):
		case a.err == nil && a.count == n:
			answered++
		default:
			t.Errorf("query around the move: %d builds, %v; want no data yet or %d", a.count, a.err, n)
		}
	}
	if answered == 0 {
		t.Error("no query read the moved file")
	}
	t.Logf("%d queries around the move, %d read the new file", len(during)+1, answered)
}

// A server's destination passes the conformance suite on the database its
// readers share.
func TestConformanceShared(t *testing.T) {
	conformance.Run(t, conformance.Factory{
		Name: "duckdb", // the same destination: the same golden answers
		New: func(t *testing.T, ds string) conformance.Instance {
			h := dataset.NewHandles(0)
			t.Cleanup(func() { h.Close() })
			d := New(filepath.Join(t.TempDir(), "codefresh.duckdb"), Options{Dataset: ds, LockWait: 500 * time.Millisecond, Handles: h})
			r, err := OpenReader(context.Background(), d.path, ds, ReaderOptions{Handles: h})
			if err != nil {
				t.Fatal(err)
			}
			return conformance.Instance{Dest: d, Reader: r, Path: d.path,
				Other:     func(ds string) destination.Destination { return New(d.path, Options{Dataset: ds, Handles: h}) },
				AfterStep: func(fn func(string)) { d.afterStep = fn },
				Stored:    func(t *testing.T) string { return snapshot(t, d) },
			}
		},
		Types: map[normalize.DataType]string{normalize.Bigint: "BIGINT", normalize.Text: "VARCHAR", normalize.Double: "DOUBLE",
			normalize.Bool: "BOOLEAN", normalize.Timestamp: "TIMESTAMP WITH TIME ZONE", normalize.JSON: "JSON"},
		NotNull:   true,
		CastError: "not a number",
	})
}
