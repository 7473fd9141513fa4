package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// DuckDB's memory_limit bounds its buffer manager, not a single value a
// statement builds (repeat('x', 2000000000), list_value(range(1e8))): such
// a value took gigabytes and ran far past the timeout, as the interrupt is
// only checked between vectors. So untrusted SQL on a DuckDB engine runs in
// a worker process whose address space is bounded (an allocation over it
// fails as DuckDB's "Out of Memory Error") and which is killed when the
// timeout passes by workerGrace.

// ErrMemoryLimit is a query that went over the memory its worker may use.
var ErrMemoryLimit = errors.New("the query went over its memory limit")

// TimeoutError is a query interrupted at its timeout.
type TimeoutError struct{ Timeout time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("query interrupted after the %s timeout: filter with WHERE, aggregate, or add LIMIT", e.Timeout)
}

func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Worker bounds.
const (
	// workerGrace is how long after its timeout a worker that has not
	// answered is killed.
	workerGrace = 2 * time.Second
	// workerStderr bounds what of a worker's stderr an error quotes.
	workerStderr = 4 << 10
)

// WorkerMemory is the address space a worker may map: DuckDB's 1 GB
// memory_limit, the runtime, and a thread stack per core.
func WorkerMemory() int64 { return 2<<30 + int64(runtime.NumCPU())*(16<<20) }

// Isolation runs queries in worker processes. Command starts one: the same
// binary running ServeWorker (a hidden subcommand), killed with ctx. A
// worker serves one query after another (its Handles keep the file open
// while it is used), and is killed when a query passes its timeout or the
// worker dies. Safe for concurrent use: each query has a worker to itself.
type Isolation struct {
	Command func(ctx context.Context) *exec.Cmd

	mu     sync.Mutex
	ctx    context.Context // the workers' life
	stop   context.CancelFunc
	idle   []*worker
	closed bool
}

// maxIdleWorkers is how many workers wait for the next query.
const maxIdleWorkers = 2

// worker is one worker process.
type worker struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *capBuffer
}

// take returns an idle worker or starts one.
func (iso *Isolation) take() (*worker, error) {
	iso.mu.Lock()
	defer iso.mu.Unlock()
	if iso.closed {
		return nil, errors.New("query isolation is closed")
	}
	if n := len(iso.idle); n > 0 {
		w := iso.idle[n-1]
		iso.idle = iso.idle[:n-1]
		return w, nil
	}
	if iso.ctx == nil {
		iso.ctx, iso.stop = context.WithCancel(context.Background())
	}
	cmd := iso.Command(iso.ctx)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("query worker: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("query worker: %w", err)
	}
	w := &worker{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10), stderr: &capBuffer{max: workerStderr}}
	cmd.Stderr = w.stderr
	// glibc's per-thread arenas would reserve the address space in 64 MB steps.
	cmd.Env = append(cmd.Environ(), "MALLOC_ARENA_MAX=2")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start query worker: %w", err)
	}
	return w, nil
}

// give puts a worker that answered back for the next query.
func (iso *Isolation) give(w *worker) {
	iso.mu.Lock()
	defer iso.mu.Unlock()
	if iso.closed || len(iso.idle) >= maxIdleWorkers {
		w.close()
		return
	}
	iso.idle = append(iso.idle, w)
}

// close ends a worker: stdin closed, it exits; kill makes sure.
func (w *worker) close() {
	w.in.Close()
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
}

// Close ends every worker.
func (iso *Isolation) Close() {
	iso.mu.Lock()
	idle := iso.idle
	iso.idle, iso.closed = nil, true
	if iso.stop != nil {
		iso.stop()
	}
	iso.mu.Unlock()
	for _, w := range idle {
		w.close()
	}
}

// Target is what a worker opens: a DuckDB file or a Parquet folder.
type Target struct {
	Kind    string `json:"kind"` // "duckdb" or "parquet"
	Path    string `json:"path"`
	Dataset string `json:"dataset"`
}

// Isolatable is a Reader whose queries a worker can run.
type Isolatable interface {
	Target() Target
}

// workerRequest is what a worker reads on stdin.
type workerRequest struct {
	Target      Target       `json:"target"`
	SQL         string       `json:"sql"`
	Options     QueryOptions `json:"options"`
	MemoryBytes int64        `json:"memory_bytes"`
}

// workerResponse is what a worker writes on stdout.
type workerResponse struct {
	Result *Result      `json:"result,omitempty"`
	Error  *workerError `json:"error,omitempty"`
}

// workerError carries an error's kind across the process boundary.
type workerError struct {
	Kind    string              `json:"kind"` // refused, table_not_found, no_data, timeout, memory, other
	Message string              `json:"message"`
	Table   *TableNotFoundError `json:"table,omitempty"`
}

// Query runs sql on t in a worker and returns what Reader.Query would.
func (iso *Isolation) Query(ctx context.Context, t Target, sql string, opts QueryOptions) (*Result, error) {
	opts = opts.WithDefaults()
	req, err := json.Marshal(workerRequest{Target: t, SQL: sql, Options: opts, MemoryBytes: WorkerMemory()})
	if err != nil {
		return nil, fmt.Errorf("encode query for the worker: %w", err)
	}
	w, err := iso.take()
	if err != nil {
		return nil, err
	}
	answer := make(chan []byte, 1)
	failed := make(chan error, 1)
	go func() {
		if _, err := w.in.Write(append(req, '\n')); err != nil {
			failed <- err
			return
		}
		line, err := w.out.ReadBytes('\n')
		if err != nil {
			failed <- err
			return
		}
		answer <- line
	}()
	timer := time.NewTimer(opts.Timeout + workerGrace)
	defer timer.Stop()
	var line []byte
	select {
	case line = <-answer:
		iso.give(w)
	case <-ctx.Done():
		w.close()
		return nil, fmt.Errorf("query canceled: %w", ctx.Err())
	case <-timer.C:
		w.close()
		return nil, &TimeoutError{Timeout: opts.Timeout}
	case err := <-failed:
		w.close()
		if strings.Contains(w.stderr.String(), "out of memory") {
			// The Go runtime itself could not allocate under the limit.
			return nil, memoryError(WorkerMemory())
		}
		return nil, fmt.Errorf("query worker (pid %d) failed: %w (%s): %s", w.cmd.Process.Pid, err, w.cmd.ProcessState, strings.TrimSpace(w.stderr.String()))
	}
	var resp workerResponse
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber() // numbers pass through as written
	if err := dec.Decode(&resp); err != nil {
		return nil, fmt.Errorf("query worker answer: %w", err)
	}
	if resp.Error != nil {
		return nil, resp.Error.err(opts)
	}
	if resp.Result == nil {
		return nil, errors.New("query worker answered neither a result nor an error")
	}
	return resp.Result, nil
}

func memoryError(limit int64) error {
	return fmt.Errorf("%w (%d MiB): aggregate, filter or add LIMIT, and do not build huge values (repeat, string_agg, lists of ranges)", ErrMemoryLimit, limit>>20)
}

// err rebuilds the worker's error as the error Reader.Query returns.
func (e *workerError) err(opts QueryOptions) error {
	switch e.Kind {
	case "refused":
		return &RefusedError{Reason: e.Message}
	case "table_not_found":
		if e.Table != nil {
			return e.Table
		}
	case "no_data":
		return fmt.Errorf("%w%s", ErrNoData, strings.TrimPrefix(e.Message, ErrNoData.Error()))
	case "timeout":
		return &TimeoutError{Timeout: opts.Timeout}
	case "memory":
		return fmt.Errorf("%w: %s", memoryError(WorkerMemory()), e.Message)
	}
	return errors.New(e.Message)
}

// classify is the worker's side of workerError.
func classify(err error) *workerError {
	var (
		refused *RefusedError
		nf      *TableNotFoundError
		te      *TimeoutError
	)
	switch {
	case errors.As(err, &refused):
		return &workerError{Kind: "refused", Message: refused.Reason}
	case errors.As(err, &nf):
		return &workerError{Kind: "table_not_found", Message: err.Error(), Table: nf}
	case errors.Is(err, ErrNoData):
		return &workerError{Kind: "no_data", Message: err.Error()}
	case errors.As(err, &te):
		return &workerError{Kind: "timeout", Message: err.Error()}
	case strings.Contains(err.Error(), "Out of Memory Error"):
		return &workerError{Kind: "memory", Message: firstLine(err.Error())}
	}
	return &workerError{Kind: "other", Message: err.Error()}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// OpenTarget opens the reader a worker runs a query on; handles keeps a
// DuckDB file open between the worker's queries.
type OpenTarget func(ctx context.Context, t Target, handles *Handles) (Reader, error)

// ServeWorker is a worker's whole life: it reads requests from in, one JSON
// line each, opens their targets with open, runs them and writes each
// answer as a line to out, until in ends. The first request bounds its
// address space.
func ServeWorker(ctx context.Context, in io.Reader, out io.Writer, open OpenTarget) error {
	handles := NewHandles(0)
	defer handles.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	limited := false
	for sc.Scan() {
		var req workerRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return fmt.Errorf("read query request: %w", err)
		}
		if !limited {
			if err := limitAddressSpace(req.MemoryBytes); err != nil {
				return err
			}
			limited = true
		}
		resp := serveQuery(ctx, req, handles, open)
		b, err := json.Marshal(resp)
		if err != nil {
			return fmt.Errorf("encode query answer: %w", err)
		}
		if _, err := out.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("write query answer: %w", err)
		}
	}
	return sc.Err()
}

// serveQuery runs one request.
func serveQuery(ctx context.Context, req workerRequest, handles *Handles, open OpenTarget) workerResponse {
	var resp workerResponse
	r, err := open(ctx, req.Target, handles)
	if err == nil {
		resp.Result, err = r.Query(ctx, req.SQL, req.Options)
		r.Close()
	}
	if err != nil {
		resp.Error = classify(err)
	}
	return resp
}

// capBuffer keeps at most max bytes and notes that more came.
type capBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
