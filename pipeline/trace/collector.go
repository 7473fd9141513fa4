package trace

import (
	"strconv"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// Bounds of the requests a trace keeps per resource.
const (
	sampleFirst     = 3  // first attempts kept
	sampleFailedMax = 20 // failed attempts kept
)

// Collector builds a load's trace from the client's exchanges while the
// load runs. Safe for concurrent use.
type Collector struct {
	mu        sync.Mutex
	t         *Trace
	byName    map[string]*Resource
	deviation map[string]bool
}

// NewCollector starts the trace of a load that reads resources, in order.
func NewCollector(loadID, pipelineName string, started time.Time, opts Options, resources []string) *Collector {
	c := &Collector{
		t:      &Trace{LoadID: loadID, Pipeline: pipelineName, Started: started, Options: opts},
		byName: map[string]*Resource{}, deviation: map[string]bool{},
	}
	for _, n := range resources {
		rt := &Resource{Name: n, Status: StatusNotReached, Statuses: map[string]int{}}
		c.t.Resources = append(c.t.Resources, rt)
		c.byName[n] = rt
	}
	return c
}

// resource finds (or adds) a resource's trace; the caller holds mu.
func (c *Collector) resource(name string) *Resource {
	if name == "" {
		name = "(other)"
	}
	rt := c.byName[name]
	if rt == nil {
		rt = &Resource{Name: name, Status: StatusNotReached, Statuses: map[string]int{}}
		c.byName[name] = rt
		c.t.Resources = append(c.t.Resources, rt)
	}
	return rt
}

// Observe takes one exchange (codefresh.Options.Observe).
func (c *Collector) Observe(ex codefresh.Exchange) {
	rq := Request{Method: ex.Method, Path: ex.Path, Query: ex.Query, Attempt: ex.Attempt, Status: ex.Status,
		Bytes: ex.Bytes, Time: ms(ex.Duration), Retry: ex.Retry, WaitMS: ms(ex.Wait), Error: ex.Error}
	c.mu.Lock()
	defer c.mu.Unlock()
	rt := c.resource(ex.Resource)
	rt.Requests++
	c.t.Requests++
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
		c.t.Retries++
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

// Deviate records a workaround, once per resource and kind.
func (c *Collector) Deviate(d codefresh.Deviation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := d.Resource + "\x00" + d.Kind
	if c.deviation[k] {
		return
	}
	c.deviation[k] = true
	c.t.Warnings = append(c.t.Warnings, d)
}

// Finish sets a resource's outcome. An error is given the request it came
// from: the resource's last failed attempt, else, when blameLast says the
// error is about a request at all, the latest attempt.
func (c *Collector) Finish(name string, status ResourceStatus, pages int, rows int64, err *Error, blameLast bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rt := c.resource(name)
	rt.Status, rt.Pages, rt.Rows = status, pages, rows
	if err != nil {
		for i := len(rt.Sample) - 1; i >= 0; i-- {
			if s := rt.Sample[i]; s.Error != "" || s.Status >= 300 || s.Status == 0 {
				err.Request = &s
				break
			}
		}
		if err.Request == nil && rt.last != nil && blameLast {
			last := *rt.last // every attempt succeeded: the last one is where it went wrong
			err.Request = &last
		}
		rt.Error = err
	}
}

// Done ends the trace.
func (c *Collector) Done(status LoadStatus, loadErr *Error, record string) *Trace {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t.Status, c.t.Error, c.t.Record = status, loadErr, record
	c.t.Duration = ms(time.Since(c.t.Started))
	return c.t
}
