package pipeline

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// Trace is what one load did, kept in the project (the last keepTraces
// loads) for `info` and the explain_load tool: per resource the requests,
// their outcome, the workarounds taken and the error with its cause. It holds
// no header value, key or record body.
type Trace struct {
	LoadID    string                `json:"load_id"`
	Pipeline  string                `json:"pipeline"`
	Status    LoadStatus            `json:"status"`
	Started   time.Time             `json:"started"`
	Duration  Millis                `json:"duration_ms"`
	Options   JobOpts               `json:"options"`
	Error     *TraceError           `json:"error,omitempty"` // why the load as a whole failed
	Record    string                `json:"record,omitempty"`
	Warnings  []codefresh.Deviation `json:"warnings,omitempty"`
	Resources []*ResourceTrace      `json:"resources"`
	Requests  int                   `json:"http_requests"`
	Retries   int                   `json:"http_retries"`

	// RecordDropped says why a failed load kept no debug record (disk space, a write error).
	RecordDropped string `json:"record_dropped,omitempty"`
}

// ResourceTrace is one resource's part of a load.
type ResourceTrace struct {
	Name     string         `json:"name"`
	Status   ResourceStatus `json:"status"`
	Pages    int            `json:"pages"`
	Rows     int64          `json:"rows"`
	Requests int            `json:"requests"`
	Retries  int            `json:"retries"`
	Bytes    int64          `json:"bytes"`
	Time     Millis         `json:"request_time_ms"` // summed over requests, which may overlap
	Statuses map[string]int `json:"statuses"`        // HTTP status (or "network") -> attempts
	// RetryReasons counts why attempts were tried again.
	RetryReasons map[string]int `json:"retry_reasons,omitempty"`
	// Requests kept: the first few and every attempt that failed, bounded.
	Sample  []RequestTrace `json:"sample_requests,omitempty"`
	Dropped int            `json:"sample_dropped,omitempty"`
	Error   *TraceError    `json:"error,omitempty"`
	last    *RequestTrace  // the latest attempt, for an error no attempt shows (a repeated page)
}

// RequestTrace is one HTTP attempt: method, path and query, never a header.
type RequestTrace struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Query    string `json:"query,omitempty"`
	Attempt  int    `json:"attempt"`
	Status   int    `json:"status"`
	Bytes    int    `json:"bytes"`
	Time     Millis `json:"time_ms"`
	Retry    string `json:"retry,omitempty"`
	WaitMS   Millis `json:"wait_ms,omitempty"`
	Error    string `json:"error,omitempty"`
	Resource string `json:"-"`
}

// TraceError is an error with its cause and what to do about it.
type TraceError struct {
	Message  string        `json:"message"`
	Cause    Cause         `json:"cause"`
	NextStep string        `json:"next_step"`
	Request  *RequestTrace `json:"request,omitempty"` // the last failed attempt of the resource
}

// Millis is a duration shown in whole milliseconds.
type Millis int64

func ms(d time.Duration) Millis { return Millis(d.Milliseconds()) }

// Bounds of a trace.
const (
	keepTraces      = 20 // traces kept in the project
	sampleFirst     = 3  // first attempts kept per resource
	sampleFailedMax = 20 // failed attempts kept per resource
)

// tracer collects a load's trace from the client's exchanges. Safe for
// concurrent use.
type tracer struct {
	mu        sync.Mutex
	t         *Trace
	byName    map[string]*ResourceTrace
	deviation map[string]bool
}

func newTracer(loadID, pipelineName string, started time.Time, opts Options, names []string) *tracer {
	tr := &tracer{
		t:      &Trace{LoadID: loadID, Pipeline: pipelineName, Started: started, Options: jobOpts(opts)},
		byName: map[string]*ResourceTrace{}, deviation: map[string]bool{},
	}
	for _, n := range names {
		rt := &ResourceTrace{Name: n, Status: StatusNotReached, Statuses: map[string]int{}}
		tr.t.Resources = append(tr.t.Resources, rt)
		tr.byName[n] = rt
	}
	return tr
}

func jobOpts(o Options) JobOpts {
	return JobOpts{Resources: slices.Clone(o.Resources), MaxPages: o.MaxPages, FullRefresh: o.FullRefresh, DryRun: o.DryRun, Record: o.Record}
}

// resource finds (or adds) a resource's trace; the caller holds mu.
func (tr *tracer) resource(name string) *ResourceTrace {
	if name == "" {
		name = "(other)"
	}
	rt := tr.byName[name]
	if rt == nil {
		rt = &ResourceTrace{Name: name, Status: StatusNotReached, Statuses: map[string]int{}}
		tr.byName[name] = rt
		tr.t.Resources = append(tr.t.Resources, rt)
	}
	return rt
}

// observe takes one exchange (codefresh.Options.Observe).
func (tr *tracer) observe(ex codefresh.Exchange) {
	rq := RequestTrace{Method: ex.Method, Path: ex.Path, Query: ex.Query, Attempt: ex.Attempt, Status: ex.Status,
		Bytes: ex.Bytes, Time: ms(ex.Duration), Retry: ex.Retry, WaitMS: ms(ex.Wait), Error: ex.Error}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	rt := tr.resource(ex.Resource)
	rt.Requests++
	tr.t.Requests++
	rt.Bytes += int64(ex.Bytes)
	rt.Time += rq.Time
	st := "network"
	if ex.Status != 0 {
		st = strconv.Itoa(ex.Status)
	}
	rt.Statuses[st]++
	rt.last = &rq
	if ex.Retry != "" {
		rt.Retries++
		tr.t.Retries++
		if rt.RetryReasons == nil {
			rt.RetryReasons = map[string]int{}
		}
		rt.RetryReasons[ex.Retry]++
	}
	failed := ex.Error != "" || ex.Status >= 300 || ex.Status == 0
	switch {
	case rt.Requests <= sampleFirst:
		rt.Sample = append(rt.Sample, rq)
	case failed && len(rt.Sample) < sampleFirst+sampleFailedMax:
		rt.Sample = append(rt.Sample, rq)
	case failed:
		rt.Sample[len(rt.Sample)-1] = rq // keep the latest failure
		rt.Dropped++
	default:
		rt.Dropped++
	}
}

// deviate records a workaround, once per resource and kind.
func (tr *tracer) deviate(d codefresh.Deviation) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	k := d.Resource + "\x00" + d.Kind
	if tr.deviation[k] {
		return
	}
	tr.deviation[k] = true
	tr.t.Warnings = append(tr.t.Warnings, d)
}

func (tr *tracer) warnings() []codefresh.Deviation {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.t.Warnings)
}

// finish sets a resource's outcome.
func (tr *tracer) finish(ri ResourceInfo, err *TraceError) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	rt := tr.resource(ri.Name)
	rt.Status, rt.Pages, rt.Rows = ri.Status, ri.Pages, ri.Records
	if err != nil {
		for i := len(rt.Sample) - 1; i >= 0; i-- {
			if s := rt.Sample[i]; s.Error != "" || s.Status >= 300 || s.Status == 0 {
				err.Request = &s
				break
			}
		}
		if err.Request == nil && rt.last != nil && err.Cause != CauseAuth && err.Cause != CauseScope && err.Cause != CauseNotFound {
			last := *rt.last // every attempt succeeded: the last one is where it went wrong
			err.Request = &last
		}
		rt.Error = err
	}
}

// done ends the trace.
func (tr *tracer) done(status LoadStatus, loadErr *TraceError, record string) *Trace {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.t.Status, tr.t.Error, tr.t.Record = status, loadErr, record
	tr.t.Duration = ms(time.Since(tr.t.Started))
	return tr.t
}

// Compact is the trace without its sampled requests (each error keeps its
// failing request): what an agent reads first.
func (t *Trace) Compact() *Trace {
	c := *t
	c.Resources = make([]*ResourceTrace, len(t.Resources))
	for i, rt := range t.Resources {
		cr := *rt
		cr.Dropped += len(cr.Sample)
		cr.Sample = nil
		c.Resources[i] = &cr
	}
	return &c
}

// Problems lists the resources that failed or were skipped, with why and
// what to do next: the part of a trace to act on.
func (t *Trace) Problems() []*ResourceTrace {
	var out []*ResourceTrace
	for _, rt := range t.Resources {
		if rt.Error != nil {
			out = append(out, rt)
		}
	}
	return out
}
