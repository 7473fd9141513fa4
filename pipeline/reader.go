package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Reader opens the sandboxed reader of the project's loaded data on the
// configured destination: the DuckDB file, the Parquet folder or the
// PostgreSQL schema (password resolved as for loads, never shown). When
// the pipeline file names no destination and there is no DuckDB file but
// a Parquet dataset folder (a `load --destination parquet`), that is read.
func (p *Project) Reader(ctx context.Context) (dataset.Reader, error) {
	t := p.Config.DestinationType()
	if p.Config.Destination.Type == "" && p.Config.Destination.Path == "" {
		pq := Config{DatasetName: p.Config.DatasetName, Destination: DestinationConfig{Type: "parquet"}}
		if !exists(p.Config.DestinationPath(p.Dir)) && exists(filepath.Join(pq.DestinationPath(p.Dir), p.Config.Dataset())) {
			t = "parquet"
		}
	}
	drv, ok := destinations.Lookup(t)
	if !ok {
		return nil, fmt.Errorf("destination %q cannot be read: use duckdb, postgres or parquet", t)
	}
	c, err := p.openConfig(drv)
	if err != nil {
		return nil, err
	}
	return drv.OpenReader(ctx, c)
}

// OpenTarget opens the reader a query worker runs a query on: a DuckDB
// file or a Parquet folder (dataset.Isolatable readers are local).
func OpenTarget(ctx context.Context, t dataset.Target, h *dataset.Handles) (dataset.Reader, error) {
	drv, ok := destinations.Lookup(t.Kind)
	if !ok || !drv.Local {
		return nil, fmt.Errorf("query worker: unknown target %q", t.Kind)
	}
	return drv.OpenReader(ctx, destination.Config{Dataset: t.Dataset, Path: t.Path, Handles: h})
}

// postgresCredentials says where the PostgreSQL connection comes from: the
// pipeline file's [destination] fields, then .dlt/secrets.toml and the
// environment; the password is found when a connection is first made.
func (p *Project) postgresCredentials() secrets.PostgresOptions {
	return postgres.CredentialOptionsFor(p.destinationConfig())
}

// PostgresLocation is the PostgreSQL DSN without its password, or why it
// cannot be made from the settings.
func (p *Project) PostgresLocation() (string, error) {
	s, err := secrets.ResolvePostgresSettings(p.postgresCredentials())
	if err != nil {
		return "", err
	}
	return s.Location(), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
