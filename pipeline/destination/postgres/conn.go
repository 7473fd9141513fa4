package postgres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// connectTimeout bounds opening a connection: a server that does not answer
// must not hang a load or a query.
const connectTimeout = 10 * time.Second

// connConfig is the pgx configuration of this connection, password set.
func connConfig(c *secrets.PostgresCredentials) (*pgx.ConnConfig, error) {
	kv := []string{
		"host=" + quoteValue(c.Host),
		"port=" + strconv.Itoa(c.Port),
		"dbname=" + quoteValue(c.Database),
		"user=" + quoteValue(c.User),
		"connect_timeout=" + strconv.Itoa(int(connectTimeout/time.Second)),
	}
	if c.SSLMode != "" {
		kv = append(kv, "sslmode="+quoteValue(c.SSLMode))
	}
	cfg, err := pgx.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("postgres connection %s: %w", c.Location(), err)
	}
	if pw := c.Password(); pw != "" {
		cfg.Password = pw
	}
	return cfg, nil
}

// redactPassword removes the password from a message, should a driver ever echo it.
func redactPassword(c *secrets.PostgresCredentials, err error) error {
	pw := c.Password()
	if err == nil || len(pw) < 4 || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "[password]"))
}

// quoteValue quotes a libpq keyword/value setting.
func quoteValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
