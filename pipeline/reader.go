package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
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
	switch t {
	case "duckdb":
		path, err := p.destinationPath(p.Config)
		if err != nil {
			return nil, err
		}
		return dataset.OpenDuckDB(ctx, path, p.Config.Dataset(), dataset.DuckDBOptions{Handles: p.Handles})
	case "parquet":
		c := p.Config
		c.Destination.Type = "parquet"
		path, err := p.destinationPath(c)
		if err != nil {
			return nil, err
		}
		return dataset.OpenParquet(ctx, path, p.Config.Dataset(), dataset.ParquetOptions{})
	case "postgres":
		return dataset.OpenPostgres(ctx, p.Config.Dataset(), dataset.PostgresOptions{Credentials: p.postgresCredentials()})
	default:
		return nil, fmt.Errorf("destination %q cannot be read: use duckdb, postgres or parquet", t)
	}
}

// postgresCredentials says where the PostgreSQL connection comes from: the
// pipeline file's [destination] fields, then .dlt/secrets.toml and the
// environment; the password is found when a connection is first made.
func (p *Project) postgresCredentials() secrets.PostgresOptions {
	d := p.Config.Destination
	return secrets.PostgresOptions{
		Settings:   secrets.PostgresSettings{Host: d.Host, Port: d.Port, Database: d.Database, User: d.User, SSLMode: d.SSLMode},
		ProjectDir: p.Dir,
		Env:        p.Env,
	}
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
