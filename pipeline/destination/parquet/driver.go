package parquet

import (
	"context"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

// Driver opens a Parquet folder of the project, to load into and to read.
var Driver = destination.Driver{
	Name:  "parquet",
	Local: true,
	Open: func(c destination.Config) (destination.Destination, error) {
		return New(c.Path, Options{Dataset: c.Dataset, Logger: c.Logger}), nil
	},
	OpenReader: func(ctx context.Context, c destination.Config) (dataset.Reader, error) {
		return destination.Reader(OpenReader(ctx, c.Path, c.Dataset, ReaderOptions{}))
	},
}
