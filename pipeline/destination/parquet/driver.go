package parquet

import (
	"context"
	"os"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

// Driver opens a Parquet folder of the project, to load into and to read.
var Driver = destination.Driver{
	Name:  "parquet",
	Local: true,
	Path: destination.LocalPath{
		Default:    "codefresh_parquet",
		Folder:     true,
		WrongShape: "is a file; Parquet needs a folder",
		// DuckDB writes the table files by path: <folder>/<dataset>/<table>/<load id>.parquet.
		LinkDepth: 3,
		Holds: func(path, dataset string) bool {
			_, err := os.Stat(filepath.Join(path, dataset))
			return err == nil
		},
	},
	Open: func(c destination.Config) (destination.Destination, error) {
		return New(c.Path, Options{Dataset: c.Dataset, Logger: c.Logger, LockWait: c.LockWait}), nil
	},
	OpenReader: func(ctx context.Context, c destination.Config) (dataset.Reader, error) {
		return destination.Reader(OpenReader(ctx, c.Path, c.Dataset, ReaderOptions{}))
	},
}
