package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// The stdio transport serves every request on its own goroutine, so a call
// that blocks (a load_status wait, a slow query) holds nothing another call
// needs: mcp-go's StdioServer runs tool calls on a few workers and, once
// they are busy, on its read loop, where waits kept ping and cancel_load
// from being read. It also answers the calls it has read when stdin closes,
// where mcp-go cancels them.

// MaxLineBytes bounds one JSON-RPC message on stdin. A longer line is
// discarded as it is read (never held whole) and answered with an error.
const MaxLineBytes = 1 << 20

// Codes of the errors the transport answers itself.
const (
	codeRequestTooLarge = mcp.INVALID_REQUEST
	codeBusy            = -32000 // implementation-defined server error
	codeInterrupted     = mcp.REQUEST_INTERRUPTED
)

// stdioLimits are the transport's bounds; tests shorten them.
type stdioLimits struct {
	MaxLine  int           // bytes of one message
	InFlight int           // requests served at once; beyond, a request is answered busy
	Drain    time.Duration // how long calls read before stdin closed get to finish
	Grace    time.Duration // after cancelling the stragglers, how long they get to answer
}

func defaultStdioLimits() stdioLimits {
	return stdioLimits{
		MaxLine: MaxLineBytes,
		// Above the blocked waits the jobs allow (pipeline.MaxWaiters), so
		// that waits alone never make another call busy.
		InFlight: 256,
		// Longer than the longest a tool blocks by design (load_status waits
		// up to 50 s); running loads are cancelled at once, which ends the
		// waits on them sooner.
		Drain: 60 * time.Second,
		Grace: 5 * time.Second,
	}
}

// stdioTransport serves one MCP session on a pair of streams.
type stdioTransport struct {
	mcp    *mcpserver.MCPServer
	log    *slog.Logger
	limits stdioLimits
	// inputEnded runs when stdin ends, before the calls in flight are
	// awaited: it cancels load jobs, so that waits on them answer.
	inputEnded func()

	session *stdioSession
	out     *stdoutWriter
	slots   chan struct{} // one per request in flight

	mu    sync.Mutex
	calls map[uint64]*inflightCall
	seq   uint64
	wg    sync.WaitGroup
}

// inflightCall is a request being served.
type inflightCall struct {
	id       json.RawMessage
	method   string
	answered atomic.Bool // by the handler or, when it does not stop, by finish
}

// inputLine is one line read from stdin, or the error that ended it.
type inputLine struct {
	data    []byte // the whole line, or its first bytes when tooLong
	tooLong bool
	err     error
}

// serve reads requests from in and writes responses and notifications to
// out until in ends or ctx is cancelled; every request read gets a response.
func (t *stdioTransport) serve(ctx context.Context, in io.Reader, out io.Writer) error {
	t.session = newStdioSession()
	if err := t.mcp.RegisterSession(ctx, t.session); err != nil {
		return fmt.Errorf("register stdio session: %w", err)
	}
	defer t.mcp.UnregisterSession(ctx, t.session.SessionID())
	t.out = newStdoutWriter(out, t.session.notes, t.log)
	defer t.out.close()
	t.slots = make(chan struct{}, t.limits.InFlight)
	t.calls = map[uint64]*inflightCall{}

	// Calls run under reqCtx: cancelled by ctx (a signal), or after the drain when stdin ends.
	reqCtx, cancelCalls := context.WithCancel(t.mcp.WithContext(ctx, t.session))
	defer cancelCalls()

	stop := make(chan struct{})
	defer close(stop)
	lines := readLines(in, t.limits.MaxLine, stop)
	for {
		select {
		case <-ctx.Done():
			t.log.Info("stopping: cancelling the calls in flight", "in_flight", t.inFlight())
			t.finish(ctx, 0, cancelCalls, "the server is stopping")
			return nil
		case l := <-lines:
			if l.err != nil {
				t.log.Info("stdin closed: finishing the calls already received", "in_flight", t.inFlight())
				if t.inputEnded != nil {
					t.inputEnded()
				}
				t.finish(ctx, t.limits.Drain, cancelCalls, "stdin closed")
				if errors.Is(l.err, io.EOF) {
					return nil
				}
				return fmt.Errorf("read stdin: %w", l.err)
			}
			t.dispatch(reqCtx, l)
		}
	}
}

// readLines reads stdin on its own goroutine (a read cannot be cancelled)
// and hands over lines until an error, which is the last item sent.
func readLines(in io.Reader, maxLine int, stop <-chan struct{}) <-chan inputLine {
	lines := make(chan inputLine)
	go func() {
		lr := lineReader{r: bufio.NewReaderSize(in, 64<<10), max: maxLine}
		for {
			data, tooLong, err := lr.next()
			select {
			case lines <- inputLine{data: data, tooLong: tooLong, err: err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return lines
}

// lineReader reads newline-terminated messages of at most max bytes,
// holding at most max bytes of any line: the rest of a longer one is discarded.
type lineReader struct {
	r   *bufio.Reader
	max int
}

// idPrefixBytes is how much of an over-long line is kept to find its id.
const idPrefixBytes = 4 << 10

func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !tooLong && len(line)+len(bytes.TrimRight(chunk, "\r\n")) > lr.max {
			tooLong = true
			line = line[:min(len(line), idPrefixBytes)]
		}
		if tooLong {
			// Only the first bytes, where the id usually is, are kept.
			chunk = chunk[:min(len(chunk), idPrefixBytes-len(line))]
		}
		line = append(line, chunk...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && (len(line) > 0 || tooLong):
			// A last line without its newline is still a message; the
			// error comes back on the next call.
			return line, tooLong, nil
		default:
			return line, tooLong, err
		}
	}
}

// dispatch routes one line: requests to their own goroutine, notifications
// and pings inline (they do no I/O), answers to our requests nowhere.
func (t *stdioTransport) dispatch(ctx context.Context, l inputLine) {
	if l.tooLong {
		t.log.Warn("discarded an over-long JSON-RPC line", "limit_bytes", t.limits.MaxLine)
		t.out.send(errorResponse(idFromPrefix(l.data), codeRequestTooLarge,
			fmt.Sprintf("message too large: a JSON-RPC line is limited to %d bytes; it was discarded unread", t.limits.MaxLine)))
		return
	}
	data := bytes.TrimSpace(l.data)
	if len(data) == 0 {
		return
	}
	var head struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		if json.Valid(data) {
			t.out.send(errorResponse(nil, mcp.INVALID_REQUEST, `Invalid request: a message is a JSON object whose "method" is a string`))
		} else {
			t.out.send(errorResponse(nil, mcp.PARSE_ERROR, "Parse error: "+err.Error()))
		}
		return
	}
	isRequest := len(head.ID) > 0 && string(head.ID) != "null"
	switch {
	case isRequest && head.Method == "":
		// A response to a request of ours: this server sends none.
		t.log.Debug("ignored a JSON-RPC response from the client", "id", string(head.ID))
	case !isRequest || head.Method == string(mcp.MethodPing):
		if resp := t.handle(ctx, head.ID, data); resp != nil {
			t.out.send(resp)
		}
	default:
		t.start(ctx, head.ID, head.Method, data)
	}
}

// start serves a request on its own goroutine, or answers busy when
// InFlight requests are already being served.
func (t *stdioTransport) start(ctx context.Context, id json.RawMessage, method string, data []byte) {
	select {
	case t.slots <- struct{}{}:
	default:
		t.out.send(errorResponse(id, codeBusy, fmt.Sprintf(
			"server busy: %d requests are already in flight, the most it serves at once; retry when some have answered", t.limits.InFlight)))
		return
	}
	c := &inflightCall{id: id, method: method}
	t.mu.Lock()
	t.seq++
	key := t.seq
	t.calls[key] = c
	t.mu.Unlock()
	t.wg.Go(func() {
		resp := t.handle(ctx, id, data)
		first := c.answered.CompareAndSwap(false, true)
		// The slot is free before the answer goes out: a client that sends
		// its next call on reading it must find room.
		t.mu.Lock()
		delete(t.calls, key)
		t.mu.Unlock()
		<-t.slots
		switch {
		case resp == nil:
		case first:
			t.out.send(resp)
		default:
			t.log.Info("dropped a late response: the transport already answered the call", "method", method, "id", string(id))
		}
	})
}

// handle runs mcp-go on one message; a panicking handler becomes an error response.
func (t *stdioTransport) handle(ctx context.Context, id json.RawMessage, data []byte) (resp mcp.JSONRPCMessage) {
	defer func() {
		if r := recover(); r != nil {
			t.log.Error("panic in a request handler", "panic", fmt.Sprint(r))
			if len(id) > 0 {
				resp = errorResponse(id, mcp.INTERNAL_ERROR, fmt.Sprintf("internal error: %v", r))
			}
		}
	}()
	return t.mcp.HandleMessage(ctx, data)
}

// finish lets the calls in flight answer for up to drain (cut short by
// ctx, a signal), then cancels them and gives them Grace to answer; the
// transport answers any still silent.
func (t *stdioTransport) finish(ctx context.Context, drain time.Duration, cancelCalls context.CancelFunc, why string) {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	if drain > 0 {
		select {
		case <-done:
			return
		case <-time.After(drain):
			t.log.Warn("calls still running after the drain: cancelling them", "in_flight", t.inFlight(), "drain", drain)
		case <-ctx.Done():
			t.log.Info("stopping: cancelling the calls in flight", "in_flight", t.inFlight())
		}
	}
	cancelCalls()
	select {
	case <-done:
		return
	case <-time.After(t.limits.Grace):
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.calls {
		if c.answered.CompareAndSwap(false, true) {
			t.log.Warn("answering a call that did not stop", "method", c.method, "id", string(c.id))
			t.out.send(errorResponse(c.id, codeInterrupted, fmt.Sprintf(
				"%s: %s was cancelled and did not stop within %s", why, c.method, t.limits.Grace)))
		}
	}
}

func (t *stdioTransport) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls)
}

// errorResponse is a JSON-RPC error with the request's id as it was sent (null when unknown).
func errorResponse(id json.RawMessage, code int, message string) mcp.JSONRPCMessage {
	var rid any
	if len(id) > 0 {
		rid = id
	}
	return mcp.JSONRPCError{
		JSONRPC: mcp.JSONRPC_VERSION,
		ID:      mcp.NewRequestId(rid),
		Error:   mcp.NewJSONRPCErrorDetails(code, message, nil),
	}
}

// idFromPrefix finds the top-level "id" in the first bytes of a message,
// so that the client can match the error to its request; nil if the id
// comes after what was kept.
func idFromPrefix(prefix []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
		if key == "id" && len(value) > 0 && (value[0] == '"' || value[0] == '-' || (value[0] >= '0' && value[0] <= '9')) {
			return value
		}
	}
	return nil
}

// stdoutWriter is the one writer of stdout: responses and notifications,
// one JSON message a line.
type stdoutWriter struct {
	out   io.Writer
	notes <-chan mcp.JSONRPCNotification
	log   *slog.Logger

	mu     sync.RWMutex // senders hold it shared; close holds it alone
	closed bool
	msgs   chan mcp.JSONRPCMessage
	done   chan struct{}
	failed bool // a write failed: the client is gone, later output is dropped
}

func newStdoutWriter(out io.Writer, notes <-chan mcp.JSONRPCNotification, log *slog.Logger) *stdoutWriter {
	w := &stdoutWriter{out: out, notes: notes, log: log, msgs: make(chan mcp.JSONRPCMessage), done: make(chan struct{})}
	go w.run()
	return w
}

// send queues a response; after close it is dropped.
func (w *stdoutWriter) send(m mcp.JSONRPCMessage) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return
	}
	w.msgs <- m
}

// close writes what was sent and stops the writer.
func (w *stdoutWriter) close() {
	w.mu.Lock()
	w.closed = true
	close(w.msgs)
	w.mu.Unlock()
	<-w.done
}

func (w *stdoutWriter) run() {
	defer close(w.done)
	for {
		select {
		case n := <-w.notes:
			w.write(n)
		case m, ok := <-w.msgs:
			if !ok {
				return
			}
			// A handler queues its notifications before returning its
			// response: write them first, so that none follows its answer.
			w.writePendingNotes()
			w.write(m)
		}
	}
}

func (w *stdoutWriter) writePendingNotes() {
	for {
		select {
		case n := <-w.notes:
			w.write(n)
		default:
			return
		}
	}
}

func (w *stdoutWriter) write(m any) {
	if w.failed {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		w.log.Error("cannot encode a JSON-RPC message", "error", err)
		return
	}
	if _, err := w.out.Write(append(b, '\n')); err != nil {
		w.failed = true
		w.log.Error("stdout write failed: dropping further output", "error", err)
	}
}

// stdioSession is the one client session of a stdio transport.
type stdioSession struct {
	notes       chan mcp.JSONRPCNotification
	initialized atomic.Bool

	mu   sync.Mutex
	info mcp.Implementation
	caps mcp.ClientCapabilities
}

// notesBuffer is how many notifications may wait for the writer; mcp-go drops one beyond.
const notesBuffer = 100

func newStdioSession() *stdioSession {
	return &stdioSession{notes: make(chan mcp.JSONRPCNotification, notesBuffer)}
}

func (s *stdioSession) SessionID() string { return "stdio" }

func (s *stdioSession) NotificationChannel() chan<- mcp.JSONRPCNotification { return s.notes }

func (s *stdioSession) Initialize() { s.initialized.Store(true) }

func (s *stdioSession) Initialized() bool { return s.initialized.Load() }

func (s *stdioSession) GetClientInfo() mcp.Implementation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

func (s *stdioSession) SetClientInfo(info mcp.Implementation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.info = info
}

func (s *stdioSession) GetClientCapabilities() mcp.ClientCapabilities {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps
}

func (s *stdioSession) SetClientCapabilities(caps mcp.ClientCapabilities) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caps = caps
}

var _ mcpserver.SessionWithClientInfo = (*stdioSession)(nil)
