package duckdb

import (
	"context"
	"os"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

// Driver opens a DuckDB file of the project, to load into and to read.
var Driver = destination.Driver{
	Name:  "duckdb",
	Local: true,
	Path: destination.LocalPath{
		Default:    "codefresh.duckdb",
		WrongShape: "is a folder; DuckDB needs a file name such as codefresh.duckdb",
		Holds:      func(path, _ string) bool { return exists(path) },
	},
	Open: func(c destination.Config) (destination.Destination, error) {
		return New(c.Path, Options{Dataset: c.Dataset, LockWait: c.LockWait, Logger: c.Logger, Handles: c.Handles}), nil
	},
	OpenReader: func(ctx context.Context, c destination.Config) (dataset.Reader, error) {
		return destination.Reader(OpenReader(ctx, c.Path, c.Dataset, ReaderOptions{Handles: c.Handles}))
	},
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
