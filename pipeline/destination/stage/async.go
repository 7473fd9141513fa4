package stage

import (
	"context"
	"runtime"
	"sync"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Async writes rows to a Stage on goroutines of its own, one per lane of the
// stage (Stage.Lane), so the normalizer goes on with the next record while
// DuckDB's appenders copy and compress this one, and tables of different
// lanes are compressed in parallel: the appender was most of the normalizer
// goroutine's time, then of the one writer's (bench P1).
// It implements normalize.Sink for one caller; an error of the stage comes
// back from a later Write, Wait or Close.
type Async struct {
	s     *Stage
	lanes [lanes]*writer
	snaps map[*normalize.Table]*normalize.Table // the caller's table -> the columns last handed over

	mu  sync.Mutex
	err error
}

// writer is the goroutine of one lane and what waits for it.
type writer struct {
	queue chan *batch
	done  chan struct{}
	cur   *batch
	free  chan *batch
}

// batch is rows on their way to the stage: ops index into vals.
type batch struct {
	ops     []op
	vals    []any
	bytes   int           // of text, by rowBytes
	barrier chan struct{} // closed once every earlier row is written
}

type op struct {
	t      *normalize.Table // a snapshot
	off, n int
	size   int // rowBytes of the row
}

// Bounds of what waits for each lane's writer: 4 batches of up to 64 rows
// or about 512 KB of text (rowBytes), whichever comes first; usual builds
// rows (a few KB) fill a batch by rows, rows of builds with a large
// pipeline YAML by bytes. (32 batches let the lanes run more on their own:
// P1 3–7% faster, P4 at 1M builds +19 MB; not taken.)
const (
	batchRows    = 64
	batchBytes   = 512 << 10
	queueBatches = 4
)

var _ normalize.Sink = (*Async)(nil)

// NewAsync starts the writer goroutines; Close stops them.
func NewAsync(s *Stage) *Async {
	a := &Async{s: s, snaps: map[*normalize.Table]*normalize.Table{}}
	for i := range a.lanes {
		w := &writer{queue: make(chan *batch, queueBatches), done: make(chan struct{}),
			free: make(chan *batch, queueBatches+2)}
		w.cur = w.newBatch()
		a.lanes[i] = w
		go a.loop(w)
	}
	return a
}

func (a *Async) loop(w *writer) {
	// One OS thread per lane for the whole load: DuckDB's allocator keeps
	// caches and arenas per OS thread, and a goroutine that Go moves from
	// thread to thread leaves memory cached in each thread it appended on.
	// The thread ends with the goroutine (no unlock), returning its caches.
	runtime.LockOSThread()
	defer close(w.done)
	for b := range w.queue {
		if a.failed() == nil {
			for _, o := range b.ops {
				if err := a.s.write(o.t, b.vals[o.off:o.off+o.n], o.size); err != nil {
					a.fail(err)
					break
				}
			}
		}
		if b.barrier != nil {
			close(b.barrier)
			continue
		}
		clear(b.vals)
		b.ops, b.vals, b.bytes = b.ops[:0], b.vals[:0], 0
		select {
		case w.free <- b:
		default:
		}
	}
}

func (a *Async) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil {
		a.err = err
	}
}

func (a *Async) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (w *writer) newBatch() *batch {
	select {
	case b := <-w.free:
		return b
	default:
		return &batch{ops: make([]op, 0, batchRows), vals: make([]any, 0, batchRows*16)}
	}
}

// Write copies row and queues it for its table's lane. Checks that need no
// database are made here, so their errors come back from this call.
func (a *Async) Write(t *normalize.Table, row []any) error {
	if err := a.failed(); err != nil {
		return err
	}
	if len(row) > len(t.Columns) {
		return a.s.Write(t, row) // the stage's own error for it
	}
	sn := a.snaps[t]
	if sn == nil || len(sn.Columns) != len(t.Columns) {
		// Columns are only appended; a new snapshot leaves the one the
		// writer may be reading alone.
		sn = &normalize.Table{Name: t.Name, Parent: t.Parent, Columns: copyColumns(t.Columns)}
		a.snaps[t] = sn
	}
	w := a.lanes[Lane(t)]
	b := w.cur
	size := rowBytes(row)
	b.ops = append(b.ops, op{t: sn, off: len(b.vals), n: len(row), size: size})
	b.vals = append(b.vals, row...)
	b.bytes += size
	if len(b.ops) >= batchRows || b.bytes >= batchBytes {
		w.send()
	}
	return nil
}

// send queues the current batch, if it holds rows.
func (w *writer) send() {
	if len(w.cur.ops) > 0 {
		w.queue <- w.cur
		w.cur = w.newBatch()
	}
}

// Wait returns once every row written so far is in the stage, with the
// stage's first error.
func (a *Async) Wait(ctx context.Context) error {
	barriers := make([]chan struct{}, len(a.lanes))
	for i, w := range a.lanes {
		w.send()
		b := &batch{barrier: make(chan struct{})}
		w.queue <- b // the writers run until Close, so they take the barrier
		barriers[i] = b.barrier
	}
	for _, b := range barriers {
		select {
		case <-b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return a.failed()
}

// Close writes what is queued, stops the writers and returns the first
// error. It must not be called twice.
func (a *Async) Close() error {
	for _, w := range a.lanes {
		w.send()
		close(w.queue)
	}
	for _, w := range a.lanes {
		<-w.done
	}
	return a.failed()
}
