package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/jackc/pgx/v5"
	"github.com/zalando/go-keyring"
)

// Where a password can come from, first hit wins (as for the API key).
const (
	// EnvCredentials is dlt's variable: a full DSN
	// postgresql://user:password@host:port/database?sslmode=... or only the password.
	EnvCredentials = "DESTINATION__POSTGRES__CREDENTIALS"
	// EnvPassword is dlt's variable for the password field alone.
	EnvPassword = "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD"

	SourceKeyring     = "keyring"
	SourceSecretsTOML = ".dlt/secrets.toml"

	// KeyringService is the service name of every secret this program keeps;
	// a PostgreSQL password's user is KeyringUser().
	KeyringService = "codefresh-mcp"

	DefaultHost = "localhost"
	DefaultPort = 5432

	keyringTimeout = 5 * time.Second
	connectTimeout = 10 * time.Second
)

// Settings are the connection fields other than the password, as the
// pipeline file's [destination] section names them.
type Settings struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	SSLMode  string `json:"sslmode,omitempty"`
}

// KeyringUser is the keyring user under which this server's password is kept.
func (s Settings) KeyringUser() string {
	return fmt.Sprintf("postgres:%s:%d/%s", s.Host, s.Port, s.Database)
}

// Location is the DSN without the password, safe to show.
func (s Settings) Location() string {
	u := url.URL{Scheme: "postgresql", Host: s.Host + ":" + strconv.Itoa(s.Port), Path: "/" + s.Database}
	if s.User != "" {
		u.User = url.User(s.User)
	}
	if s.SSLMode != "" {
		u.RawQuery = "sslmode=" + url.QueryEscape(s.SSLMode)
	}
	return u.String()
}

// CredentialOptions say where to look for the connection and its password.
type CredentialOptions struct {
	Settings   Settings            // from the pipeline file; empty fields take other sources or defaults
	ProjectDir string              // where .dlt/secrets.toml is ("" = none)
	Env        func(string) string // nil = os.Getenv
	// Keyring reads one secret; nil = the OS keyring. It returns
	// keyring.ErrNotFound (or any error) when there is none.
	Keyring func(ctx context.Context, service, user string) (string, error)
}

// Credentials are a resolved connection. The password is reachable only
// through ConnConfig; String and JSON never carry it.
type Credentials struct {
	Settings
	PasswordSource string `json:"password_source,omitempty"` // "" when no source had one
	password       string
}

// String describes the connection without the password.
func (c Credentials) String() string {
	src := c.PasswordSource
	if src == "" {
		src = "none"
	}
	return c.Location() + " (password from " + src + ")"
}

// GoString keeps %#v from printing the password.
func (c Credentials) GoString() string { return "postgres.Credentials{" + c.String() + "}" }

// found is what one source said about the connection.
type found struct {
	source   string
	settings Settings // fields it names
	password string
}

// ResolveSettings resolves the connection fields without looking for a
// password in the keyring: pipeline file, overridden by .dlt/secrets.toml,
// overridden by the environment; then defaults. It never reads the keyring.
func ResolveSettings(opts CredentialOptions) (Settings, error) {
	s, _, _, err := resolve(opts)
	return s, err
}

// Resolve finds the connection and its password. Passwords: env
// DESTINATION__POSTGRES__CREDENTIALS (DSN or password) or
// DESTINATION__POSTGRES__CREDENTIALS__PASSWORD, then the OS keyring
// (service codefresh-mcp, user postgres:<host>:<port>/<database>), then
// .dlt/secrets.toml [destination.postgres.credentials]. No password at all
// is allowed (trust or peer authentication, ~/.pgpass).
func Resolve(ctx context.Context, opts CredentialOptions) (*Credentials, error) {
	s, env, file, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	c := &Credentials{Settings: s}
	switch {
	case env.password != "":
		c.password, c.PasswordSource = env.password, env.source
	default:
		if pw, err := readKeyring(ctx, opts, s.KeyringUser()); err == nil && pw != "" {
			c.password, c.PasswordSource = pw, SourceKeyring
		} else if file.password != "" {
			c.password, c.PasswordSource = file.password, SourceSecretsTOML
		}
	}
	return c, nil
}

func resolve(opts CredentialOptions) (Settings, found, found, error) {
	if opts.Env == nil {
		opts.Env = os.Getenv
	}
	file, err := readSecretsTOML(opts.ProjectDir)
	if err != nil {
		return Settings{}, found{}, found{}, err
	}
	env, err := readEnv(opts.Env)
	if err != nil {
		return Settings{}, found{}, found{}, err
	}
	s := opts.Settings
	for _, f := range []found{file, env} {
		s = overlay(s, f.settings)
	}
	if s.Host == "" {
		s.Host = DefaultHost
	}
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	switch {
	case s.Port < 0 || s.Port > 65535:
		return s, env, file, fmt.Errorf("postgres port %d: use 1 to 65535", s.Port)
	case s.Database == "":
		return s, env, file, errors.New("postgres: no database: set destination.database in codefresh_pipeline.toml (or give a DSN in " + EnvCredentials + ")")
	case s.User == "":
		return s, env, file, errors.New("postgres: no user: set destination.user in codefresh_pipeline.toml (or give a DSN in " + EnvCredentials + ")")
	}
	return s, env, file, nil
}

// overlay sets the fields of s that o names.
func overlay(s, o Settings) Settings {
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

func readEnv(env func(string) string) (found, error) {
	f := found{source: "env:" + EnvCredentials}
	if v := strings.TrimSpace(env(EnvCredentials)); v != "" {
		if isDSN(v) {
			s, pw, err := parseDSN(v)
			if err != nil {
				return f, fmt.Errorf("env %s: %w", EnvCredentials, err)
			}
			f.settings, f.password = s, pw
		} else {
			f.password = v
		}
	}
	if f.password == "" {
		if v := env(EnvPassword); v != "" {
			f.source, f.password = "env:"+EnvPassword, v
		}
	}
	return f, nil
}

func isDSN(v string) bool {
	return strings.HasPrefix(v, "postgresql://") || strings.HasPrefix(v, "postgres://")
}

// parseDSN reads a postgresql:// URL. Its errors never quote the URL: it
// may hold the password.
func parseDSN(dsn string) (Settings, string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return Settings{}, "", errors.New("not a valid postgresql:// URL")
	}
	var s Settings
	s.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return Settings{}, "", errors.New("the URL's port is not a number")
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

// secretsFile is the part of dlt's secrets.toml read here: credentials as
// a DSN string or as a table of fields (dlt names the user "username").
type secretsFile struct {
	Destination struct {
		Postgres struct {
			Credentials any `toml:"credentials"`
		} `toml:"postgres"`
	} `toml:"destination"`
}

func readSecretsTOML(projectDir string) (found, error) {
	f := found{source: SourceSecretsTOML}
	if projectDir == "" {
		return f, nil
	}
	path := filepath.Join(projectDir, ".dlt", "secrets.toml")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read %s: %w", SourceSecretsTOML, err)
	}
	var sf secretsFile
	if _, err := toml.Decode(string(data), &sf); err != nil {
		// TOML errors can quote the text around them: say the line only.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return f, fmt.Errorf("%s is not valid TOML (line %d)", SourceSecretsTOML, pe.Position.Line)
		}
		return f, fmt.Errorf("%s is not valid TOML", SourceSecretsTOML)
	}
	switch c := sf.Destination.Postgres.Credentials.(type) {
	case nil:
	case string:
		if !isDSN(strings.TrimSpace(c)) {
			f.password = c
			break
		}
		s, pw, err := parseDSN(strings.TrimSpace(c))
		if err != nil {
			return f, fmt.Errorf("%s [destination.postgres] credentials: %w", SourceSecretsTOML, err)
		}
		f.settings, f.password = s, pw
	case map[string]any:
		str := func(k string) string { v, _ := c[k].(string); return v }
		f.settings = Settings{Host: str("host"), Database: str("database"), User: str("username"), SSLMode: str("sslmode")}
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

// readKeyring asks the keyring with a deadline; a box without a Secret
// Service (no D-Bus session bus) is skipped before any call, as go-keyring
// would otherwise try to start one.
func readKeyring(ctx context.Context, opts CredentialOptions, user string) (string, error) {
	get := opts.Keyring
	if get == nil {
		if !keyringUsable(opts.Env) {
			return "", errors.New("no keyring on this machine")
		}
		get = osKeyring
	}
	ctx, cancel := context.WithTimeout(ctx, keyringTimeout)
	defer cancel()
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := get(ctx, KeyringService, user)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return strings.TrimSpace(r.v), r.err
	case <-ctx.Done():
		return "", fmt.Errorf("keyring did not answer: %w", ctx.Err())
	}
}

func osKeyring(_ context.Context, service, user string) (string, error) {
	return keyring.Get(service, user)
}

func keyringUsable(env func(string) string) bool {
	switch runtime.GOOS {
	case "darwin", "windows", "ios":
		return true
	}
	if env == nil {
		env = os.Getenv
	}
	if env("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	_, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus")
	return err == nil
}

// ConnConfig is the pgx configuration of this connection, password set.
func (c *Credentials) ConnConfig() (*pgx.ConnConfig, error) {
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
	if c.password != "" {
		cfg.Password = c.password
	}
	return cfg, nil
}

// redact removes the password from a message, should a driver ever echo it.
func (c *Credentials) redact(err error) error {
	if err == nil || len(c.password) < 4 || !strings.Contains(err.Error(), c.password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.password, "[password]"))
}

// quoteValue quotes a libpq keyword/value setting.
func quoteValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
