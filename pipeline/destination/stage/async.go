package stage

import (
	"context"
	"sync"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Async writes rows to a Stage on goroutines of its own, one per lane of the
// stage, so the normalizer goes on with the next record while DuckDB's
// appenders copy and compress this one (P1: the appender was 9.8 of the
// normalizer goroutine's 14 s). It implements normalize.Sink for one
// caller; an error of the stage comes back from a later Write, Wait or Close.
type Async struct {
	s     *Stage
	lanes [2]*asyncLane
	snaps map[*normalize.Table]*normalize.Table // the caller's table -> the columns last handed over
	wg    sync.WaitGroup

	mu  sync.Mutex
	err error
}

// asyncLane feeds one lane of the stage.
type asyncLane struct {
	queue chan *batch
	free  chan *batch
	cur   *batch
}

// batch is rows on their way to the stage: ops index into vals.
type batch struct {
	ops     []op
	vals    []any
	barrier chan struct{} // closed once every earlier row of the lane is written
}

type op struct {
	t      *normalize.Table // a snapshot: the writer never sees the schema change
	off, n int
}

// Bounds of what waits for a lane's writer: 4 batches of 256 rows.
const (
	batchRows    = 256
	queueBatches = 4
)

var _ normalize.Sink = (*Async)(nil)

// NewAsync starts the writer goroutines; Close stops them.
func NewAsync(s *Stage) *Async {
	a := &Async{s: s, snaps: map[*normalize.Table]*normalize.Table{}}
	for i := range a.lanes {
		l := &asyncLane{queue: make(chan *batch, queueBatches), free: make(chan *batch, queueBatches+2)}
		l.cur = l.newBatch()
		a.lanes[i] = l
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.loop(l) }()
	}
	return a
}

func (a *Async) loop(l *asyncLane) {
	for b := range l.queue {
		if a.failed() == nil {
			for _, o := range b.ops {
				if err := a.s.Write(o.t, b.vals[o.off:o.off+o.n]); err != nil {
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
		b.ops, b.vals = b.ops[:0], b.vals[:0]
		select {
		case l.free <- b:
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

func (l *asyncLane) newBatch() *batch {
	select {
	case b := <-l.free:
		return b
	default:
		return &batch{ops: make([]op, 0, batchRows), vals: make([]any, 0, batchRows*16)}
	}
}

// send queues the lane's current batch, if it holds rows.
func (l *asyncLane) send() {
	if len(l.cur.ops) > 0 {
		l.queue <- l.cur
		l.cur = l.newBatch()
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
	l := a.lanes[laneOf(t.Name)]
	b := l.cur
	b.ops = append(b.ops, op{t: sn, off: len(b.vals), n: len(row)})
	b.vals = append(b.vals, row...)
	if len(b.ops) >= batchRows {
		l.send()
	}
	return nil
}

// Wait returns once every row written so far is in the stage, with the
// stage's first error.
func (a *Async) Wait(ctx context.Context) error {
	var barriers []chan struct{}
	for _, l := range a.lanes {
		l.send()
		b := &batch{barrier: make(chan struct{})}
		l.queue <- b
		barriers = append(barriers, b.barrier)
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
// error. It must be called once, after the last Write.
func (a *Async) Close() error {
	for _, l := range a.lanes {
		l.send()
		close(l.queue)
	}
	a.wg.Wait()
	return a.failed()
}
