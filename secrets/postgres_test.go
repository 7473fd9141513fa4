package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

const pgCanary = "pw-CANARY-7f3a9d1e5b"

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// fakeKeyring holds secrets by user and records what was asked.
type fakeKeyring struct {
	secrets map[string]string
	asked   []string
}

func (k *fakeKeyring) get(_ context.Context, service, user string) (string, error) {
	k.asked = append(k.asked, service+"|"+user)
	if v, ok := k.secrets[user]; ok {
		return v, nil
	}
	return "", keyring.ErrNotFound
}

func writePGSecrets(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".dlt"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".dlt", "secrets.toml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

var fileSettings = PostgresSettings{Host: "db.internal", Port: 5433, Database: "analytics", User: "loader", SSLMode: "require"}

func TestResolveSources(t *testing.T) {
	none := &fakeKeyring{}
	inKeyring := &fakeKeyring{secrets: map[string]string{"postgres:db.internal:5433/analytics": pgCanary + "-keyring"}}
	secretsTable := "[destination.postgres.credentials]\npassword = \"" + pgCanary + "-file\"\n"
	for _, tc := range []struct {
		name       string
		env        func(string) string
		ring       *fakeKeyring
		secrets    string
		wantSource string
		wantPW     string
		wantLoc    string
	}{
		{"env password", envOf(EnvPostgresCredentials, pgCanary), inKeyring, secretsTable, "env:" + EnvPostgresCredentials, pgCanary,
			"postgresql://loader@db.internal:5433/analytics?sslmode=require"},
		{"env DSN overrides fields", envOf(EnvPostgresCredentials, "postgresql://etl:"+pgCanary+"@10.0.0.5:6543/warehouse?sslmode=disable"), none, "", "env:" + EnvPostgresCredentials, pgCanary,
			"postgresql://etl@10.0.0.5:6543/warehouse?sslmode=disable"},
		{"env DSN without password falls through", envOf(EnvPostgresCredentials, "postgres://etl@db.internal:5433/analytics"), none, secretsTable, SourceSecretsTOML, pgCanary + "-file",
			"postgresql://etl@db.internal:5433/analytics?sslmode=require"},
		{"dlt password variable", envOf(EnvPostgresPassword, pgCanary), none, "", "env:" + EnvPostgresPassword, pgCanary, ""},
		{"keyring before secrets.toml", envOf(), inKeyring, secretsTable, SourceKeyring, pgCanary + "-keyring", ""},
		{"secrets.toml table", envOf(), none, secretsTable, SourceSecretsTOML, pgCanary + "-file", ""},
		{"secrets.toml fields", envOf(), none, "[destination.postgres.credentials]\nhost = \"pg\"\nport = 7000\nusername = \"dlt\"\ndatabase = \"d\"\npassword = \"" + pgCanary + "\"\n",
			SourceSecretsTOML, pgCanary, "postgresql://dlt@pg:7000/d?sslmode=require"},
		{"secrets.toml DSN string", envOf(), none, "[destination.postgres]\ncredentials = \"postgresql://u:" + pgCanary + "@h:1/db\"\n",
			SourceSecretsTOML, pgCanary, "postgresql://u@h:1/db?sslmode=require"},
		{"nothing", envOf(), none, "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := ""
			if tc.secrets != "" {
				dir = writePGSecrets(t, tc.secrets)
			}
			opts := PostgresOptions{Settings: fileSettings, ProjectDir: dir, Env: tc.env, Keyring: tc.ring.get}
			c, err := ResolvePostgres(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.PasswordSource != tc.wantSource || c.password != tc.wantPW {
				t.Fatalf("password from %q (%d chars), want %q", c.PasswordSource, len(c.password), tc.wantSource)
			}
			if tc.wantLoc != "" && c.Location() != tc.wantLoc {
				t.Fatalf("location = %s, want %s", c.Location(), tc.wantLoc)
			}
			s, err := ResolvePostgresSettings(opts)
			if err != nil || s != c.PostgresSettings {
				t.Fatalf("ResolveSettings = %+v, %v; Resolve gave %+v", s, err, c.PostgresSettings)
			}
			if c.Password() != tc.wantPW {
				t.Fatalf("Password() is not the password from %s", c.PasswordSource)
			}
			for _, text := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), c.Location()} {
				if strings.Contains(text, pgCanary) {
					t.Fatalf("password shown: %s", text)
				}
			}
		})
	}
	// The keyring is asked under the documented service and user.
	if len(inKeyring.asked) == 0 || inKeyring.asked[0] != "codefresh-mcp|postgres:db.internal:5433/analytics" {
		t.Fatalf("keyring asked %v", inKeyring.asked)
	}
}

func TestResolveDefaultsAndErrors(t *testing.T) {
	c, err := ResolvePostgres(context.Background(), PostgresOptions{Settings: PostgresSettings{Database: "d", User: "u"}, Env: envOf(), Keyring: (&fakeKeyring{}).get})
	if err != nil {
		t.Fatal(err)
	}
	if c.Location() != "postgresql://u@localhost:5432/d" {
		t.Fatalf("defaults: %s", c.Location())
	}
	for _, tc := range []struct {
		opts PostgresOptions
		want string
	}{
		{PostgresOptions{Settings: PostgresSettings{User: "u"}}, "postgres: no database: set destination.database"},
		{PostgresOptions{Settings: PostgresSettings{Database: "d"}}, "postgres: no user: set destination.user"},
		{PostgresOptions{Settings: PostgresSettings{Database: "d", User: "u", Port: 70000}}, "postgres port 70000: use 1 to 65535"},
		{PostgresOptions{Env: envOf(EnvPostgresCredentials, "postgresql://u:"+pgCanary+"@h:port/d")}, "env DESTINATION__POSTGRES__CREDENTIALS: not a valid postgresql:// URL"},
		{PostgresOptions{ProjectDir: writePGSecrets(t, "[destination.postgres.credentials]\npassword = \""+pgCanary+"\n")}, ".dlt/secrets.toml is not valid TOML (line 2)"},
	} {
		tc.opts.Keyring = (&fakeKeyring{}).get
		if tc.opts.Env == nil {
			tc.opts.Env = envOf()
		}
		_, err := ResolvePostgres(context.Background(), tc.opts)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), pgCanary) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// A keyring that errors or hangs is skipped: the next source is used.
func TestKeyringFailureFallsThrough(t *testing.T) {
	dir := writePGSecrets(t, "[destination.postgres.credentials]\npassword = \""+pgCanary+"\"\n")
	broken := func(context.Context, string, string) (string, error) { return "", errors.New("dbus: no reply") }
	c, err := ResolvePostgres(context.Background(), PostgresOptions{Settings: fileSettings, ProjectDir: dir, Env: envOf(), Keyring: broken})
	if err != nil || c.PasswordSource != SourceSecretsTOML {
		t.Fatalf("source = %v, %v", c, err)
	}
}
