package postgres

import (
	"context"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Driver opens a PostgreSQL schema, to load into and to read.
var Driver = destination.Driver{
	Name: "postgres",
	Open: func(c destination.Config) (destination.Destination, error) {
		return New(Options{Dataset: c.Dataset, Credentials: CredentialOptionsFor(c), Logger: c.Logger, LockWait: c.LockWait}), nil
	},
	OpenReader: func(ctx context.Context, c destination.Config) (dataset.Reader, error) {
		return destination.Reader(OpenReader(ctx, c.Dataset, ReaderOptions{Credentials: CredentialOptionsFor(c)}))
	},
	Location: func(c destination.Config) (string, error) {
		s, err := secrets.ResolvePostgresSettings(CredentialOptionsFor(c))
		if err != nil {
			return "", err
		}
		return s.Location(), nil
	},
}

// CredentialOptionsFor says where the connection of c comes from: its
// server settings, then .dlt/secrets.toml in its project and the
// environment; the password is found when a connection is first made.
func CredentialOptionsFor(c destination.Config) secrets.PostgresOptions {
	s := c.Server
	return secrets.PostgresOptions{
		Settings:   secrets.PostgresSettings{Host: s.Host, Port: s.Port, Database: s.Database, User: s.User, SSLMode: s.SSLMode},
		ProjectDir: c.ProjectDir,
		Env:        c.Env,
	}
}
