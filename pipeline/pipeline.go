// Package pipeline runs loads: extract from Codefresh, normalize, commit to a
// destination; it also holds the project's pipeline file and load jobs.
package pipeline

import (
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// Progress is reported while a load runs.
type Progress struct {
	Phase    Phase  `json:"phase"`
	Resource string `json:"resource"` // the resource being extracted
	Pages    int    `json:"pages"`    // pages fetched so far, all resources
	Rows     int64  `json:"rows"`     // records extracted so far, all resources
}

// ResourceInfo is what a load did for one resource.
type ResourceInfo struct {
	Name   string               `json:"name"`
	Status trace.ResourceStatus `json:"status"`
	Reason string               `json:"reason,omitempty"`
	// Cause and NextStep classify a failure (see trace.Cause).
	Cause    trace.Cause `json:"cause,omitempty"`
	NextStep string      `json:"next_step,omitempty"`
	Pages    int         `json:"pages"`
	Records  int64       `json:"records"`
}

// LoadInfo is a load's result, like dlt's load_info.
type LoadInfo struct {
	LoadID string `json:"load_id"`
	// Status is trace.LoadSucceeded, or trace.LoadCompletedWithErrors when some resources
	// failed and the others were committed.
	Status      trace.LoadStatus                  `json:"status"`
	Pipeline    string                            `json:"pipeline"`
	Destination string                            `json:"destination"`
	Location    string                            `json:"location"` // file, folder or DSN without password
	Dataset     string                            `json:"dataset"`
	Resources   []ResourceInfo                    `json:"resources"`
	Tables      map[string]destination.TableStats `json:"tables"`
	NewTables   []string                          `json:"new_tables,omitempty"`
	NewColumns  []string                          `json:"new_columns,omitempty"` // "table.column" of tables that existed before
	Pages       int                               `json:"pages"`
	Requests    int                               `json:"http_requests"`
	Retries     int                               `json:"http_retries"`
	DryRun      bool                              `json:"dry_run,omitempty"`
	// Warnings are the ways the API answered differently from the catalog
	// and what was done instead; the load went on.
	Warnings []codefresh.Deviation `json:"warnings,omitempty"`
	// Record is the debug record of this load's HTTP exchanges, when one was
	// kept (asked for, or kept because resources failed).
	Record   string        `json:"record,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
}

// Options change one run.
type Options struct {
	Resources   []string       // a subset of the configured resources; empty = all enabled
	MaxPages    int            // pages per resource, 0 = all (a quick debug look)
	FullRefresh bool           // ignore incremental state, reload everything
	DryRun      bool           // extract and normalize, commit nothing
	Progress    func(Progress) // called from the running goroutine; keep it quick
	// Record writes a sanitized debug record of every HTTP exchange to this
	// file. Without it a bounded record is kept only when the load fails.
	Record string
}
