// Package trace is what one load did, kept in the project so people and
// agents can tell why a load went as it did: the trace types, the collector
// that builds a trace from the client's exchanges while a load runs, and the
// store that keeps the last traces in the project folder.
package trace

import (
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// Trace is what one load did, kept in the project (the last few loads): per
// resource the requests, their outcome, the workarounds taken and the error
// with its cause. It holds no header value, key or record body.
type Trace struct {
	LoadID    string                `json:"load_id"`
	Pipeline  string                `json:"pipeline"`
	Status    LoadStatus            `json:"status"`
	Started   time.Time             `json:"started"`
	Duration  Millis                `json:"duration_ms"`
	Options   Options               `json:"options"`
	Error     *Error                `json:"error,omitempty"` // why the load as a whole failed
	Record    string                `json:"record,omitempty"`
	Warnings  []codefresh.Deviation `json:"warnings,omitempty"`
	Resources []*Resource           `json:"resources"`
	Requests  int                   `json:"http_requests"`
	Retries   int                   `json:"http_retries"`

	// RecordDropped says why a failed load kept no debug record (disk space, a write error).
	RecordDropped string `json:"record_dropped,omitempty"`
}

// Options is the part of a load's options a trace (and a load job's status) shows.
type Options struct {
	Resources   []string `json:"resources,omitempty"`
	MaxPages    int      `json:"max_pages,omitempty"`
	FullRefresh bool     `json:"full_refresh,omitempty"`
	DryRun      bool     `json:"dry_run,omitempty"`
	Record      string   `json:"record,omitempty"`
}

// Resource is one resource's part of a load.
type Resource struct {
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
	Sample  []Request `json:"sample_requests,omitempty"`
	Dropped int       `json:"sample_dropped,omitempty"`
	Error   *Error    `json:"error,omitempty"`
	last    *Request  // the latest attempt, for an error no attempt shows (a repeated page)
}

// Request is one HTTP attempt: method, path and query, never a header.
type Request struct {
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

// Error is an error with its cause and what to do about it.
type Error struct {
	Message  string   `json:"message"`
	Cause    Cause    `json:"cause"`
	NextStep string   `json:"next_step"`
	Request  *Request `json:"request,omitempty"` // the last failed attempt of the resource
}

// Millis is a duration shown in whole milliseconds.
type Millis int64

func ms(d time.Duration) Millis { return Millis(d.Milliseconds()) }

// Compact is the trace without its sampled requests (each error keeps its
// failing request): what an agent reads first.
func (t *Trace) Compact() *Trace {
	c := *t
	c.Resources = make([]*Resource, len(t.Resources))
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
func (t *Trace) Problems() []*Resource {
	var out []*Resource
	for _, rt := range t.Resources {
		if rt.Error != nil {
			out = append(out, rt)
		}
	}
	return out
}
