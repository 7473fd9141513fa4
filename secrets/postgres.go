package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/zalando/go-keyring"
)

// Where a PostgreSQL password can come from, first hit wins (as for the API
// key); the keyring keeps it under KeyringService, user
// PostgresSettings.KeyringUser().
const (
	// EnvPostgresCredentials is dlt's variable: a full DSN
	// postgresql://user:password@host:port/database?sslmode=... or only the password.
	EnvPostgresCredentials = "DESTINATION__POSTGRES__CREDENTIALS"
	// EnvPostgresPassword is dlt's variable for the password field alone.
	EnvPostgresPassword = "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD"

	DefaultPostgresHost = "localhost"
	DefaultPostgresPort = 5432
)

// PostgresSettings are the connection fields other than the password, as the
// pipeline file's [destination] section names them.
type PostgresSettings struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	SSLMode  string `json:"sslmode,omitempty"`
}

// KeyringUser is the keyring user under which this server's password is kept.
func (s PostgresSettings) KeyringUser() string {
	return fmt.Sprintf("postgres:%s:%d/%s", s.Host, s.Port, s.Database)
}

// Location is the DSN without the password, safe to show.
func (s PostgresSettings) Location() string {
	u := url.URL{Scheme: "postgresql", Host: s.Host + ":" + strconv.Itoa(s.Port), Path: "/" + s.Database}
	if s.User != "" {
		u.User = url.User(s.User)
	}
	if s.SSLMode != "" {
		u.RawQuery = "sslmode=" + url.QueryEscape(s.SSLMode)
	}
	return u.String()
}

// PostgresOptions say where to look for the connection and its password.
type PostgresOptions struct {
	Settings   PostgresSettings    // from the pipeline file; empty fields take other sources or defaults
	ProjectDir string              // where .dlt/secrets.toml is ("" = none)
	Env        func(string) string // nil = os.Getenv
	// Keyring reads one secret; nil = the OS keyring. It returns
	// keyring.ErrNotFound (or any error) when there is none.
	Keyring func(ctx context.Context, service, user string) (string, error)
}

// PostgresCredentials are a resolved connection. The password is reachable
// only through Password(); String and JSON never carry it.
type PostgresCredentials struct {
	PostgresSettings
	PasswordSource string `json:"password_source,omitempty"` // "" when no source had one
	password       string
}

// String describes the connection without the password.
func (c PostgresCredentials) String() string {
	src := c.PasswordSource
	if src == "" {
		src = "none"
	}
	return c.Location() + " (password from " + src + ")"
}

// GoString keeps %#v from printing the password.
func (c PostgresCredentials) GoString() string { return "postgres.Credentials{" + c.String() + "}" }

// Password returns the password for the connection. Never log or return it.
func (c *PostgresCredentials) Password() string { return c.password }

// pgFound is what one source said about the connection.
type pgFound struct {
	source   string
	settings PostgresSettings // fields it names
	password string
}

// ResolvePostgresSettings resolves the connection fields without looking for a
// password in the keyring: pipeline file, overridden by .dlt/secrets.toml,
// overridden by the environment; then defaults. It never reads the keyring.
func ResolvePostgresSettings(opts PostgresOptions) (PostgresSettings, error) {
	s, _, _, err := resolvePostgres(opts)
	return s, err
}

// ResolvePostgres finds the connection and its password. Passwords: env
// DESTINATION__POSTGRES__CREDENTIALS (DSN or password) or
// DESTINATION__POSTGRES__CREDENTIALS__PASSWORD, then the OS keyring
// (service codefresh-mcp, user postgres:<host>:<port>/<database>), then
// .dlt/secrets.toml [destination.postgres.credentials]. No password at all
// is allowed (trust or peer authentication, ~/.pgpass).
func ResolvePostgres(ctx context.Context, opts PostgresOptions) (*PostgresCredentials, error) {
	if opts.Env == nil {
		opts.Env = os.Getenv
	}
	s, env, file, err := resolvePostgres(opts)
	if err != nil {
		return nil, err
	}
	c := &PostgresCredentials{PostgresSettings: s}
	switch {
	case env.password != "":
		c.password, c.PasswordSource = env.password, env.source
	default:
		if pw, err := readPostgresKeyring(ctx, opts, s.KeyringUser()); err == nil && pw != "" {
			c.password, c.PasswordSource = pw, SourceKeyring
		} else if file.password != "" {
			c.password, c.PasswordSource = file.password, SourceSecretsTOML
		}
	}
	return c, nil
}

func resolvePostgres(opts PostgresOptions) (PostgresSettings, pgFound, pgFound, error) {
	if opts.Env == nil {
		opts.Env = os.Getenv
	}
	file, err := readPostgresSecretsTOML(opts.ProjectDir)
	if err != nil {
		return PostgresSettings{}, pgFound{}, pgFound{}, err
	}
	env, err := readPostgresEnv(opts.Env)
	if err != nil {
		return PostgresSettings{}, pgFound{}, pgFound{}, err
	}
	s := opts.Settings
	for _, f := range []pgFound{file, env} {
		s = overlayPostgres(s, f.settings)
	}
	if s.Host == "" {
		s.Host = DefaultPostgresHost
	}
	if s.Port == 0 {
		s.Port = DefaultPostgresPort
	}
	switch {
	case s.Port < 0 || s.Port > 65535:
		return s, env, file, fmt.Errorf("postgres port %d: use 1 to 65535", s.Port)
	case s.Database == "":
		return s, env, file, errors.New("postgres: no database: set destination.database in codefresh_pipeline.toml (or give a DSN in " + EnvPostgresCredentials + ")")
	case s.User == "":
		return s, env, file, errors.New("postgres: no user: set destination.user in codefresh_pipeline.toml (or give a DSN in " + EnvPostgresCredentials + ")")
	}
	return s, env, file, nil
}

// overlayPostgres sets the fields of s that o names.
func overlayPostgres(s, o PostgresSettings) PostgresSettings {
	if o.Host != "" {
		s.Host = o.Host
	}
	if o.Port != 0 {
		s.Port = o.Port
	}
	if o.Database != "" {
		s.Database = o.Database
	}
	if o.User != "" {
		s.User = o.User
	}
	if o.SSLMode != "" {
		s.SSLMode = o.SSLMode
	}
	return s
}

func readPostgresEnv(env func(string) string) (pgFound, error) {
	f := pgFound{source: "env:" + EnvPostgresCredentials}
	if v := strings.TrimSpace(env(EnvPostgresCredentials)); v != "" {
		if isPostgresDSN(v) {
			s, pw, err := parsePostgresDSN(v)
			if err != nil {
				return f, fmt.Errorf("env %s: %w", EnvPostgresCredentials, err)
			}
			f.settings, f.password = s, pw
		} else {
			f.password = v
		}
	}
	if f.password == "" {
		if v := env(EnvPostgresPassword); v != "" {
			f.source, f.password = "env:"+EnvPostgresPassword, v
		}
	}
	return f, nil
}

func isPostgresDSN(v string) bool {
	return strings.HasPrefix(v, "postgresql://") || strings.HasPrefix(v, "postgres://")
}

// parsePostgresDSN reads a postgresql:// URL. Its errors never quote the URL: it
// may hold the password.
func parsePostgresDSN(dsn string) (PostgresSettings, string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return PostgresSettings{}, "", errors.New("not a valid postgresql:// URL")
	}
	var s PostgresSettings
	s.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return PostgresSettings{}, "", errors.New("the URL's port is not a number")
		}
	}
	s.Database = strings.TrimPrefix(u.Path, "/")
	var pw string
	if u.User != nil {
		s.User = u.User.Username()
		pw, _ = u.User.Password()
	}
	s.SSLMode = u.Query().Get("sslmode")
	return s, pw, nil
}

// pgSecretsFile is the part of dlt's secrets.toml read here: credentials as
// a DSN string or as a table of fields (dlt names the user "username").
type pgSecretsFile struct {
	Destination struct {
		Postgres struct {
			Credentials any `toml:"credentials"`
		} `toml:"postgres"`
	} `toml:"destination"`
}

func readPostgresSecretsTOML(projectDir string) (pgFound, error) {
	f := pgFound{source: SourceSecretsTOML}
	if projectDir == "" {
		return f, nil
	}
	data, err := os.ReadFile(SecretsTOMLPath(projectDir))
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read %s: %w", SourceSecretsTOML, err)
	}
	var sf pgSecretsFile
	if _, err := toml.Decode(string(data), &sf); err != nil {
		// TOML errors can quote the text around them: say the line only.
		if line, ok := tomlErrorLine(err); ok {
			return f, fmt.Errorf("%s is not valid TOML (line %d)", SourceSecretsTOML, line)
		}
		return f, fmt.Errorf("%s is not valid TOML", SourceSecretsTOML)
	}
	switch c := sf.Destination.Postgres.Credentials.(type) {
	case nil:
	case string:
		if !isPostgresDSN(strings.TrimSpace(c)) {
			f.password = c
			break
		}
		s, pw, err := parsePostgresDSN(strings.TrimSpace(c))
		if err != nil {
			return f, fmt.Errorf("%s [destination.postgres] credentials: %w", SourceSecretsTOML, err)
		}
		f.settings, f.password = s, pw
	case map[string]any:
		str := func(k string) string { v, _ := c[k].(string); return v }
		f.settings = PostgresSettings{Host: str("host"), Database: str("database"), User: str("username"), SSLMode: str("sslmode")}
		if f.settings.User == "" {
			f.settings.User = str("user")
		}
		switch p := c["port"].(type) {
		case int64:
			f.settings.Port = int(p)
		case string:
			f.settings.Port, _ = strconv.Atoi(p)
		}
		f.password = str("password")
	default:
		return f, fmt.Errorf("%s: [destination.postgres] credentials must be a DSN string or a table", SourceSecretsTOML)
	}
	return f, nil
}

// readPostgresKeyring asks the keyring with a deadline; a box without a
// Secret Service is skipped before any call (see keyringUsable). A Keyring
// given in the options (tests) is asked as is.
func readPostgresKeyring(ctx context.Context, opts PostgresOptions, user string) (string, error) {
	get := func(context.Context) (string, error) { return keyring.Get(KeyringService, user) }
	if opts.Keyring != nil {
		get = func(ctx context.Context) (string, error) { return opts.Keyring(ctx, KeyringService, user) }
	} else if err := keyringUsable(opts.Env); err != nil {
		return "", err
	}
	v, err := keyringDeadline(ctx, get)
	return strings.TrimSpace(v), err
}
