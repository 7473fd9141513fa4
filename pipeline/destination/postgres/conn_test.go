package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

const canary = "pw-CANARY-7f3a9d1e5b"

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// noKeyring is a keyring without entries.
func noKeyring(context.Context, string, string) (string, error) { return "", keyring.ErrNotFound }

// The pgx configuration carries the resolved connection and its password.
func TestConnConfig(t *testing.T) {
	fields := secrets.PostgresSettings{Host: "db.internal", Port: 5433, Database: "analytics", User: "loader", SSLMode: "require"}
	for _, tc := range []struct {
		name string
		opts secrets.PostgresOptions
		pw   string
	}{
		{"env password", secrets.PostgresOptions{Settings: fields, Env: envOf(secrets.EnvPostgresCredentials, canary)}, canary},
		{"env DSN", secrets.PostgresOptions{Env: envOf(secrets.EnvPostgresCredentials, "postgresql://etl:"+canary+"@10.0.0.5:6543/warehouse?sslmode=disable")}, canary},
		{"quotes in fields", secrets.PostgresOptions{Settings: secrets.PostgresSettings{Host: "h", Database: `it's`, User: `a\b`}, Env: envOf(secrets.EnvPostgresPassword, canary)}, canary},
		{"no password", secrets.PostgresOptions{Settings: fields, Env: envOf()}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Keyring = noKeyring
			c, err := secrets.ResolvePostgres(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := connConfig(c)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Password != tc.pw || cfg.Host != c.Host || int(cfg.Port) != c.Port || cfg.Database != c.Database || cfg.User != c.User {
				t.Fatalf("conn config %s@%s:%d/%s does not match %s", cfg.User, cfg.Host, cfg.Port, cfg.Database, c.Location())
			}
		})
	}
}

// A refused connection names the server, not the password.
func TestConnectErrorHidesPassword(t *testing.T) {
	d := New(Options{Credentials: secrets.PostgresOptions{
		Settings: secrets.PostgresSettings{Host: "127.0.0.1", Port: 1, Database: "d", User: "u", SSLMode: "disable"},
		Env:      envOf(secrets.EnvPostgresCredentials, canary), Keyring: noKeyring,
	}})
	_, err := d.LastState(context.Background(), "p")
	if err == nil {
		t.Fatal("connected to port 1")
	}
	if strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "postgresql://u@127.0.0.1:1/d") {
		t.Fatalf("err = %v", err)
	}
	if d.Location() != "postgresql://u@127.0.0.1:1/d?sslmode=disable" {
		t.Fatalf("location = %s", d.Location())
	}
}
