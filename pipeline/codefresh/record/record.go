// Package record writes a debug record of a load's HTTP exchanges with
// Codefresh, sanitized so it can be attached to a bug report, and serves a
// record back as a stand-in API so the load replays with no account and no
// network.
//
// A record is JSON lines: a Header, then one Entry per HTTP attempt in the
// order they ended. It never holds a request header, a response header
// outside codefresh.SafeHeaders, the API key, or a field the catalog marks
// secret; a 2xx body that is not JSON is not kept, since secret fields
// cannot be found in it. Its bodies, error bodies included, stay within the
// bound given to Create. The log files build_logs reads from their storage
// host are entries of their own kind (codefresh.KindLogFile), named by the
// progress record that pointed at them: the signed URL is never kept.
package record

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Format names a record's first line.
const Format = "codefresh-mcp-record/1"

// Header is a record's first line.
type Header struct {
	Format    string    `json:"format"`
	Created   time.Time `json:"created"`
	LoadID    string    `json:"load_id,omitempty"`
	Resources []string  `json:"resources,omitempty"`
}

// Entry is one HTTP attempt.
type Entry struct {
	// Kind is "" for an API exchange, codefresh.KindLogFile for a log file
	// read from its storage host: Path is then the progress record that
	// named it (the signed URL is not kept).
	Kind     string              `json:"kind,omitempty"`
	Resource string              `json:"resource,omitempty"`
	Method   string              `json:"method"`
	Path     string              `json:"path"` // below the base URL, escaped
	Query    string              `json:"query,omitempty"`
	Attempt  int                 `json:"attempt"`
	Status   int                 `json:"status"` // 0: no HTTP response (network error)
	Header   map[string][]string `json:"header,omitempty"`
	Bytes    int                 `json:"bytes"`
	Body     string              `json:"body,omitempty"`
	// Omitted says why Body is missing or partial: "not JSON" (a cut body,
	// served back cut), "size cap" (the record reached its bound) or
	// "cut" (an error body longer than maxErrorBody: only its code, name and
	// the head of its message are kept).
	Omitted string `json:"omitted,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Omitted reasons.
const (
	OmittedNotJSON = "not JSON"
	OmittedSizeCap = "size cap"
	OmittedCut     = "cut"
)

// maxErrorBody bounds one error body kept whole; a longer one is cut to its
// fields (codefresh.ErrorBody). The last errorShare of the bound is left to
// error bodies: a failing load's record must still say how it failed.
const (
	maxErrorBody = 4 << 10
	errorShare   = 16
)

// Recorder writes a record. Safe for concurrent use.
type Recorder struct {
	path    string
	red     *secrets.Redactor // the key, in every spelling a body may carry it
	maxBody int64

	// Exchanges wait here for the one goroutine that sanitizes and writes
	// them, in the order observed: the fetcher that observed one has its
	// next request to send.
	queue   chan codefresh.Exchange
	pending sync.WaitGroup // exchanges observed and not yet written
	done    chan struct{}  // the writer goroutine ended
	sendMu  sync.RWMutex   // Close against a concurrent Observe
	closed  bool           // (sendMu) queue is closed

	mu        sync.Mutex
	guard     func(n int64) error // asked before n more bytes are written
	f         *os.File
	w         *bufio.Writer
	bodyBytes int64
	entries   int
	err       error
}

// Create starts a record at path. key is removed from everything written;
// maxBody bounds the body bytes kept, error bodies included (0: no bound).
func Create(path string, h Header, key string, maxBody int64) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create debug record: %w", err)
	}
	return Start(f, h, key, maxBody)
}

// Start is Create on a file the caller opened (through a confined root);
// the Recorder closes it.
func Start(f *os.File, h Header, key string, maxBody int64) (*Recorder, error) {
	r := &Recorder{path: f.Name(), red: secrets.NewRedactor(key), maxBody: maxBody, f: f, w: bufio.NewWriterSize(f, 256<<10),
		queue: make(chan codefresh.Exchange, queuedExchanges), done: make(chan struct{})}
	h.Format = Format
	if h.Created.IsZero() {
		h.Created = time.Now().UTC()
	}
	r.write(h)
	if r.err != nil {
		f.Close()
		return nil, r.err
	}
	go r.writeQueued()
	return r, nil
}

// queuedExchanges bounds the exchanges (their bodies) waiting to be written;
// past it Observe waits.
const queuedExchanges = 16

func (r *Recorder) writeQueued() {
	defer close(r.done)
	for ex := range r.queue {
		r.record(ex)
		r.pending.Done()
	}
}

// Guard sets a check asked before every write with its size: an error
// stops the record (Close returns it), so a caller can keep a record from
// filling the disk. Set it before the first Observe.
func (r *Recorder) Guard(check func(n int64) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.guard = check
}

// Path is where the record is written.
func (r *Recorder) Path() string { return r.path }

// Observe records one exchange; use it as codefresh.Options.Observe. It
// queues the exchange and returns: ex.Body must not change afterwards. An
// exchange observed after Close is not recorded.
func (r *Recorder) Observe(ex codefresh.Exchange) {
	r.sendMu.RLock()
	defer r.sendMu.RUnlock()
	if r.closed {
		return
	}
	r.pending.Add(1)
	r.queue <- ex
}

// record writes one exchange's entry.
func (r *Recorder) record(ex codefresh.Exchange) {
	e := Entry{
		Kind: ex.Kind, Resource: ex.Resource, Method: ex.Method, Path: ex.Path, Query: ex.Query,
		Attempt: ex.Attempt, Status: ex.Status, Header: ex.Header, Bytes: ex.Bytes,
		Error: r.redact(ex.Error),
	}
	failed := ex.Status < 200 || ex.Status >= 300
	// A log file's error is already its code and message alone.
	if failed && ex.Status != 0 && ex.Kind != codefresh.KindLogFile {
		if len(ex.Body) > maxErrorBody || ex.Bytes > len(ex.Body) {
			e.Omitted = OmittedCut
		}
		ex.Body = codefresh.ErrorBody(ex.Status, ex.Body, ex.Bytes, maxErrorBody, r.redact)
	}
	// Past the cap a body is not even sanitized: that decode and encode
	// would cost a large share of a load's CPU (bench P1 with a record).
	switch {
	case ex.Status == 0:
	case r.full(len(ex.Body), failed):
		e.Omitted = OmittedSizeCap
	default:
		body, omitted := r.body(ex)
		e.Body, e.Omitted = body, cmp.Or(omitted, e.Omitted)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Body != "" && r.overLocked(len(e.Body), failed) {
		e.Body, e.Omitted = "", OmittedSizeCap
	}
	r.bodyBytes += int64(len(e.Body))
	r.entries++
	r.writeLocked(e)
}

// full tells whether n more body bytes would pass the cap.
func (r *Recorder) full(n int, failed bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.overLocked(n, failed)
}

// overLocked tells whether n more body bytes would pass the cap: the whole
// bound for an error body, all but its last errorShare for a success body.
func (r *Recorder) overLocked(n int, failed bool) bool {
	limit := r.maxBody
	if !failed {
		limit -= r.maxBody / errorShare
	}
	return r.maxBody > 0 && r.bodyBytes+int64(n) > limit
}

// body is what of an exchange's body may be kept.
func (r *Recorder) body(ex codefresh.Exchange) (string, string) {
	if ex.Kind == codefresh.KindLogFile && ex.Status >= 200 && ex.Status < 300 {
		if clean, ok := maskLogFile(ex.Body, r.red); ok {
			return r.redact(string(clean)), ""
		}
		return "", OmittedNotJSON
	}
	res, known := codefresh.Lookup(ex.Resource)
	if !known {
		res = codefresh.Resource{DataSelector: "$"}
	}
	if clean, ok := res.SanitizeBody(ex.Body); ok {
		return r.redact(string(clean)), ""
	}
	if ex.Status >= 200 && ex.Status < 300 {
		return "", OmittedNotJSON
	}
	// An error page (a proxy's 502 text): no records, so no secret fields.
	return r.redact(string(ex.Body)), ""
}

func (r *Recorder) redact(s string) string { return r.red.Redact(s) }

func (r *Recorder) write(v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writeLocked(v)
}

func (r *Recorder) writeLocked(v any) {
	if r.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil && r.guard != nil {
		if err = r.guard(int64(len(b) + 1)); err != nil {
			r.err = err
			return
		}
	}
	if err == nil {
		b = append(b, '\n')
		_, err = r.w.Write(b)
	}
	if err != nil {
		r.err = fmt.Errorf("write debug record %s: %w", r.path, err)
	}
}

// Entries is how many exchanges were recorded, every one observed so far
// included.
func (r *Recorder) Entries() int {
	r.pending.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entries
}

// Close writes what was observed, flushes the record and reports the first
// write error.
func (r *Recorder) Close() error {
	r.sendMu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.sendMu.Unlock()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return r.err
	}
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = fmt.Errorf("write debug record %s: %w", r.path, err)
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("close debug record %s: %w", r.path, err)
	}
	r.f = nil
	return r.err
}
