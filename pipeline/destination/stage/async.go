package stage

import (
	"context"
	"sync"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Async writes rows to a Stage on a goroutine of its own, so the normalizer
// goes on with the next record while DuckDB's appender copies and compresses
// this one: the appender was most of the normalizer goroutine's time (bench P1).
// It implements normalize.Sink for one caller; an error of the stage comes
// back from a later Write, Wait or Close.
type Async struct {
	s     *Stage
	queue chan *batch
	done  chan struct{}
	snaps map[*normalize.Table]*normalize.Table // the caller's table -> the columns last handed over
	cur   *batch
	free  chan *batch

	mu  sync.Mutex
	err error
}

// batch is rows on their way to the stage: ops index into vals.
type batch struct {
	ops     []op
	vals    []any
	barrier chan struct{} // closed once every earlier row is written
}

type op struct {
	t      *normalize.Table // a snapshot: the writer never sees the schema change
	off, n int
}

// Bounds of what waits for the writer: 4 batches of 256 rows.
const (
	batchRows    = 256
	queueBatches = 4
)

var _ normalize.Sink = (*Async)(nil)

// NewAsync starts the writer goroutine; Close stops it.
func NewAsync(s *Stage) *Async {
	a := &Async{s: s, queue: make(chan *batch, queueBatches), done: make(chan struct{}),
		snaps: map[*normalize.Table]*normalize.Table{}, free: make(chan *batch, queueBatches+2)}
	a.cur = a.newBatch()
	go a.loop()
	return a
}

func (a *Async) loop() {
	defer close(a.done)
	for b := range a.queue {
		if a.failed() == nil {
			for _, o := range b.ops {
				if err := a.s.Write(o.t, b.vals[o.off:o.off+o.n]); err != nil {
					a.mu.Lock()
					a.err = err
					a.mu.Unlock()
					break
				}
			}
		}
		if b.barrier != nil {
			close(b.barrier)
			continue
		}
		clear(b.vals)
		b.ops, b.vals = b.ops[:0], b.vals[:0]
		select {
		case a.free <- b:
		default:
		}
	}
}

func (a *Async) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *Async) newBatch() *batch {
	select {
	case b := <-a.free:
		return b
	default:
		return &batch{ops: make([]op, 0, batchRows), vals: make([]any, 0, batchRows*16)}
	}
}

// Write copies row and queues it. Checks that need no database are made
// here, so their errors come back from this call.
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
		sn = &normalize.Table{Name: t.Name, Columns: copyColumns(t.Columns)}
		a.snaps[t] = sn
	}
	b := a.cur
	b.ops = append(b.ops, op{t: sn, off: len(b.vals), n: len(row)})
	b.vals = append(b.vals, row...)
	if len(b.ops) >= batchRows {
		a.send()
	}
	return nil
}

// send queues the current batch, if it holds rows.
func (a *Async) send() {
	if len(a.cur.ops) > 0 {
		a.queue <- a.cur
		a.cur = a.newBatch()
	}
}

// Wait returns once every row written so far is in the stage, with the
// stage's first error.
func (a *Async) Wait(ctx context.Context) error {
	a.send()
	b := &batch{barrier: make(chan struct{})}
	a.queue <- b // the writer runs until Close, so it takes the barrier
	select {
	case <-b.barrier:
	case <-ctx.Done():
		return ctx.Err()
	}
	return a.failed()
}

// Close writes what is queued, stops the writer and returns the first error.
// It must not be called twice.
func (a *Async) Close() error {
	a.send()
	close(a.queue)
	<-a.done
	return a.failed()
}
