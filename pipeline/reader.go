package pipeline

import (
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
)

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
