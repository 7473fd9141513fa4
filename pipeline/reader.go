package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/duckdb"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/parquet"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
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
	switch t {
	case "duckdb":
		path, err := p.destinationPath(p.Config)
		if err != nil {
			return nil, err
		}
		return reader(duckdb.OpenReader(ctx, path, p.Config.Dataset(), duckdb.ReaderOptions{Handles: p.Handles}))
	case "parquet":
		c := p.Config
		c.Destination.Type = "parquet"
		path, err := p.destinationPath(c)
		if err != nil {
			return nil, err
		}
		return reader(parquet.OpenReader(ctx, path, p.Config.Dataset(), parquet.ReaderOptions{}))
	case "postgres":
		return reader(postgres.OpenReader(ctx, p.Config.Dataset(), postgres.ReaderOptions{Credentials: p.postgresCredentials()}))
	default:
		return nil, fmt.Errorf("destination %q cannot be read: use duckdb, postgres or parquet", t)
	}
}

// OpenTarget opens the reader a query worker runs a query on.
func OpenTarget(ctx context.Context, t dataset.Target, h *dataset.Handles) (dataset.Reader, error) {
	switch t.Kind {
	case "duckdb":
		return reader(duckdb.OpenReader(ctx, t.Path, t.Dataset, duckdb.ReaderOptions{Handles: h}))
	case "parquet":
		return reader(parquet.OpenReader(ctx, t.Path, t.Dataset, parquet.ReaderOptions{}))
	}
	return nil, fmt.Errorf("query worker: unknown target %q", t.Kind)
}

// reader is r as a dataset.Reader: nil, not a nil pointer, on err.
func reader[R dataset.Reader](r R, err error) (dataset.Reader, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}

// postgresCredentials says where the PostgreSQL connection comes from: the
// pipeline file's [destination] fields, then .dlt/secrets.toml and the
// environment; the password is found when a connection is first made.
func (p *Project) postgresCredentials() postgres.CredentialOptions {
	d := p.Config.Destination
	return postgres.CredentialOptions{
		Settings:   postgres.Settings{Host: d.Host, Port: d.Port, Database: d.Database, User: d.User, SSLMode: d.SSLMode},
		ProjectDir: p.Dir,
		Env:        p.Env,
	}
}

// PostgresLocation is the PostgreSQL DSN without its password, or why it
// cannot be made from the settings.
func (p *Project) PostgresLocation() (string, error) {
	s, err := postgres.ResolveSettings(p.postgresCredentials())
	if err != nil {
		return "", err
	}
	return s.Location(), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
