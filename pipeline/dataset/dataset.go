// Package dataset reads loaded data: what tables a dataset has, how they
// join, which loads wrote them, and sandboxed read-only SQL over them.
//
// The layout read is dlt's: one schema (the dataset) with a table per
// resource, child tables parent__child joined by _dlt_parent_id = parent
// _dlt_id, _dlt_load_id on every row, and the system tables _dlt_loads,
// _dlt_pipeline_state and _dlt_version.
package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Reader reads one dataset of one destination; each destination's package
// implements it.
type Reader interface {
	// Query runs one untrusted SELECT statement within the caps of opts.
	Query(ctx context.Context, sql string, opts QueryOptions) (*Result, error)
	// Info summarises the dataset: tables, recent loads, pipeline state.
	Info(ctx context.Context) (*Info, error)
	// Describe tells one table's columns, size and joins.
	Describe(ctx context.Context, table string) (*TableInfo, error)
	Close() error
}

// Defaults for QueryOptions fields left zero.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRows      = 500
	DefaultMaxBytes     = 64 << 10 // JSON-encoded rows
	DefaultMaxStringLen = 2000     // characters per string value
)

// QueryOptions bound one query; zero fields take the defaults above.
type QueryOptions struct {
	Timeout      time.Duration
	MaxRows      int
	MaxBytes     int
	MaxStringLen int
	// WideStringLen, when set, is MaxStringLen for results of more than one
	// column: a single column is read to see its values whole.
	WideStringLen int
	// SummarizeDocuments replaces JSON and YAML values (text holding a
	// document, and nested lists, structs and maps) longer than
	// DocumentSummaryLen by a one-line summary when the result has more than
	// one column: a pipeline's YAML would otherwise fill a wide result alone.
	SummarizeDocuments bool
	// NoProvenance skips naming the tables and loads read (a statement of our own
	// about loads, such as Freshness's, needs none).
	NoProvenance bool
}

// DocumentSummaryLen is the length from which SummarizeDocuments summarises.
const DocumentSummaryLen = 120

// WithDefaults fills the zero fields.
func (o QueryOptions) WithDefaults() QueryOptions {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxStringLen <= 0 {
		o.MaxStringLen = DefaultMaxStringLen
	}
	return o
}

// Result is a query's (possibly truncated) rows. Values are JSON-friendly:
// timestamps RFC 3339 strings, blobs base64, decimals and huge integers
// strings, lists and structs kept as JSON arrays and objects.
type Result struct {
	Columns    []string  `json:"columns"`
	Types      []string  `json:"types"`
	Rows       [][]any   `json:"rows"`
	RowCount   int       `json:"row_count"`
	Truncated  bool      `json:"truncated"`
	Hint       string    `json:"hint,omitempty"`
	Provenance []LoadRef `json:"provenance,omitempty"`
	// TablesRead are the dataset tables the statement reads (views followed
	// to their tables), for Freshness.
	TablesRead []string `json:"tables_read,omitempty"`
	// Freshness is how current each table read is; readers leave it empty,
	// front ends fill it from TablesRead with Freshness.
	Freshness []TableFreshness `json:"freshness,omitempty"`
	ElapsedMS int64            `json:"elapsed_ms"`
}

// LoadRef names a load whose rows a query read.
type LoadRef struct {
	Table    string    `json:"table"`
	LoadID   string    `json:"load_id"`
	LoadedAt time.Time `json:"loaded_at"`
}

// Info summarises a dataset.
type Info struct {
	Destination    string          `json:"destination"` // "duckdb"
	Location       string          `json:"location"`    // file path (or DSN without password)
	Dataset        string          `json:"dataset"`
	Tables         []TableSummary  `json:"tables"` // data tables first, then system tables
	Loads          []Load          `json:"loads"`  // newest first
	PipelineStates []PipelineState `json:"pipeline_states,omitempty"`
	Schemas        []SchemaVersion `json:"schemas,omitempty"`
	// Views are the CI views over the dataset, in their own schema.
	Views []ViewSummary `json:"views,omitempty"`
}

// TableSummary is one table in Info.
type TableSummary struct {
	Name    string `json:"name"`
	Rows    int64  `json:"rows"`
	Columns int    `json:"columns"`
	Parent  string `json:"parent,omitempty"`
	System  bool   `json:"system,omitempty"` // a _dlt_ bookkeeping table
}

// Load is a row of _dlt_loads.
type Load struct {
	LoadID            string    `json:"load_id"`
	SchemaName        string    `json:"schema_name"`
	Status            int64     `json:"status"` // 0 = complete
	InsertedAt        time.Time `json:"inserted_at"`
	SchemaVersionHash string    `json:"schema_version_hash,omitempty"`
}

// PipelineState is the newest _dlt_pipeline_state row of one pipeline; the
// incremental cursors live in State.
type PipelineState struct {
	PipelineName  string          `json:"pipeline_name"`
	Version       int64           `json:"version"`
	EngineVersion int64           `json:"engine_version"`
	CreatedAt     time.Time       `json:"created_at"`
	LoadID        string          `json:"load_id"`
	State         json.RawMessage `json:"state"`
}

// SchemaVersion is the newest _dlt_version row of one schema (without its body).
type SchemaVersion struct {
	SchemaName    string    `json:"schema_name"`
	Version       int64     `json:"version"`
	EngineVersion int64     `json:"engine_version"`
	VersionHash   string    `json:"version_hash"`
	InsertedAt    time.Time `json:"inserted_at"`
}

// TableInfo describes one table.
type TableInfo struct {
	Name    string `json:"name"`
	Dataset string `json:"dataset"`
	Rows    int64  `json:"rows"`
	System  bool   `json:"system,omitempty"`
	// View is a CI view (Dataset is then the views' schema), described.
	View        bool         `json:"view,omitempty"`
	Description string       `json:"description,omitempty"`
	Columns     []ColumnInfo `json:"columns"`
	PrimaryKey  []string     `json:"primary_key,omitempty"`
	Parent      *Join        `json:"parent,omitempty"`
	Root        *Join        `json:"root,omitempty"` // the top table, when it is not the parent
	Children    []Join       `json:"children,omitempty"`
}

// ColumnInfo is one column of a table.
type ColumnInfo struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Nullable   bool   `json:"nullable"`
	PrimaryKey bool   `json:"primary_key,omitempty"`
	Doc        string `json:"doc,omitempty"` // a CI view column's meaning
}

// Join says how a related table joins this one, as SQL.
type Join struct {
	Table string `json:"table"`
	On    string `json:"on"` // e.g. builds__annotations._dlt_parent_id = builds._dlt_id
}

// ErrNoData says there is nothing to read yet: no file, or no such dataset.
var ErrNoData = errors.New("no load has run yet")

// RefusedError is a statement the sandbox will not run; Reason says what is allowed.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// TableNotFoundError names an unknown table and the ones that exist.
type TableNotFoundError struct {
	Table, Dataset string
	Known          []string
}

func (e *TableNotFoundError) Error() string {
	const show = 30
	known := e.Known
	more := ""
	if len(known) > show {
		more = ", ..."
		known = known[:show]
	}
	list := strings.Join(known, ", ")
	if list == "" {
		list = "(none)"
	}
	return "table " + e.Table + " not found in dataset " + e.Dataset + "; tables: " + list + more
}
