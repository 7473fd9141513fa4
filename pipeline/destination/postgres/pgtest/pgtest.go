// Package pgtest gives tests the PostgreSQL server named by
// CODEFRESH_MCP_TEST_PG_DSN (CI's .ci/postgres.sh starts a throwaway one).
// Without it tests skip, except on CI (CI=true), where they fail; a named
// server that does not answer fails them everywhere.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// EnvDSN names the test server: postgres://user@127.0.0.1:port/db?sslmode=disable.
const EnvDSN = "CODEFRESH_MCP_TEST_PG_DSN"

// DSN returns the test server's DSN after checking that it answers; the
// test skips without one, or fails on CI.
func DSN(t testing.TB) string {
	t.Helper()
	dsn, why := Lookup(t)
	if dsn == "" {
		t.Skip(why)
	}
	return dsn
}

// Lookup returns the test server's DSN when it answers. With none set it
// returns "" and why, or fails the test on CI (CI=true): CI must test
// PostgreSQL. A server that is set but does not answer fails the test.
func Lookup(t testing.TB) (dsn, why string) {
	t.Helper()
	dsn = os.Getenv(EnvDSN)
	onCI := os.Getenv("CI") == "true"
	if dsn == "" {
		if onCI {
			t.Fatalf("%s is not set: CI must start PostgreSQL (.ci/postgres.sh)", EnvDSN)
		}
		return "", EnvDSN + " is not set: no PostgreSQL to test against"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		// A server named but gone is a broken setup, not a missing one.
		t.Fatalf("PostgreSQL from %s does not answer: %v", EnvDSN, err)
	}
	return dsn, ""
}

// Dataset is a fresh schema name for one test; the schema is dropped when
// the test ends.
func Dataset(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "cfmcp_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop test schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS "`+name+`" CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", name, err)
		}
	})
	return name
}

// Env is an environment holding only the DSN as dlt's credentials variable.
func Env(dsn string) func(string) string {
	return func(k string) string {
		if k == "DESTINATION__POSTGRES__CREDENTIALS" {
			return dsn
		}
		return ""
	}
}

// Settings are the parts of dsn a pipeline file's [destination] names
// (the password stays in the DSN).
func Settings(t testing.TB, dsn string) secrets.PostgresSettings {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	port, _ := strconv.Atoi(u.Port())
	return secrets.PostgresSettings{Host: u.Hostname(), Port: port, Database: strings.TrimPrefix(u.Path, "/"),
		User: u.User.Username(), SSLMode: u.Query().Get("sslmode")}
}
