// Package destination defines what every destination (DuckDB, PostgreSQL,
// Parquet files) does with a load package.
package destination

import (
	"context"
	"encoding/json"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Package is one load: the rows staged for it and what to record with them.
type Package struct {
	LoadID       string // dlt-style: unix time with fraction, e.g. "1749667187.541553"
	PipelineName string // "codefresh_pipeline"
	Dataset      string // schema name in the database, "codefresh_data"
	Schema       *normalize.Schema
	Stage        *stage.Stage // one staging table per target table that has rows
	// Resources are the root tables whose extraction completed in this load.
	// A replace-disposition root in this list (and its child tables) is
	// emptied before its staged rows go in, even when it staged no rows.
	Resources []string
	State     json.RawMessage // pipeline state after this load (incremental cursors, ...)
}

// TableStats are what a commit did to one table.
type TableStats struct {
	Inserted int64 `json:"inserted"`
	Deleted  int64 `json:"deleted"` // rows replaced (merge) or removed (replace)
}

// CommitStats are what a commit did, per table.
type CommitStats struct {
	Tables map[string]TableStats `json:"tables"`
}

// Destination is where loads go. Commit is atomic: all tables, the state and
// the _dlt_loads row are written together or not at all.
type Destination interface {
	Kind() string // "duckdb", "postgres", "parquet"
	// LastState is the state of the last committed load of the pipeline; nil if none.
	LastState(ctx context.Context, pipelineName string) (json.RawMessage, error)
	// StoredSchema is the last committed schema; nil if none.
	StoredSchema(ctx context.Context, schemaName string) (*normalize.Schema, error)
	Commit(ctx context.Context, pkg *Package) (*CommitStats, error)
	Close() error
}

// IdentifierLimiter is a destination whose names have a length limit
// (PostgreSQL: 63 bytes). Normalize with that MaxIdentifierLength so that
// longer names are shortened as dlt shortens them, instead of refused.
type IdentifierLimiter interface {
	MaxIdentifierLength() int
}
