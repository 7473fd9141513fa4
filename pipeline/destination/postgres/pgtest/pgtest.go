// Package pgtest gives tests a PostgreSQL server: the one named by
// CODEFRESH_MCP_TEST_PG_DSN, else a throwaway cluster this test process
// starts itself (initdb and pg_ctl in a temporary folder) when the
// postgresql package's programs are installed. Without either, tests skip
// naming the package to install, except on CI (CI=true), where they fail;
// a named server that does not answer fails them everywhere.
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

// Lookup returns the test server's DSN when it answers: the named one, else
// the throwaway cluster of this process (started on first use). With
// neither it returns "" and why, or fails the test on CI (CI=true): CI must
// test PostgreSQL. A server that is set but does not answer fails the test.
func Lookup(t testing.TB) (dsn, why string) {
	t.Helper()
	dsn = os.Getenv(EnvDSN)
	if dsn == "" {
		var err error
		if dsn, err = throwaway(); err != nil {
			why = EnvDSN + " is not set and no throwaway PostgreSQL could be started: " + err.Error()
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s: CI must test PostgreSQL (.ci/postgres.sh)", why)
			}
			return "", why
		}
	}
	if err := ping(dsn); err != nil {
		// A server named but gone is a broken setup, not a missing one.
		t.Fatalf("PostgreSQL of the tests does not answer: %v", err)
	}
	return dsn, ""
}

func ping(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	return err
}

// Exec runs statements on the server of dsn, failing the test on an error.
func Exec(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// HoldAdvisoryLock takes the transaction advisory lock keyed by key (as
// hashtext(key)::bigint) in a session of its own named app, as another
// process's load does, and returns the session's backend PID and a release
// (also run when t ends).
func HoldAdvisoryLock(t testing.TB, dsn, key, app string) (pid int32, release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, `SELECT set_config('application_name', $1, false)`, app)
	}
	if err == nil {
		_, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1)::bigint)`, key)
	}
	if err == nil {
		err = tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
	}
	if err != nil {
		conn.Close(ctx)
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			tx.Rollback(ctx)
			conn.Close(ctx)
		}
	}
	t.Cleanup(release)
	return pid, release
}

// unique is prefix followed by random hex: names of schemas and roles that
// tests running in parallel on one server do not share.
func unique(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Dataset is a fresh schema name for one test; the schema and its CI views
// schema (<name>_ci) are dropped when the test ends.
func Dataset(t testing.TB, dsn string) string {
	t.Helper()
	name := unique("cfmcp_test_")
	t.Cleanup(func() { drop(t, dsn, `DROP SCHEMA IF EXISTS "`+name+`", "`+name+`_ci" CASCADE`) })
	return name
}

// Role creates a login role for one test, named prefix + random hex, with
// password; grants are statements the server's own user runs, each with
// every {role} replaced by the role's name. It returns the name and a DSN
// that logs in as the role. The role, what it owns and its rights are
// dropped when the test ends.
func Role(t testing.TB, dsn, prefix, password string, grants ...string) (name, roleDSN string) {
	t.Helper()
	name = unique(prefix)
	stmts := []string{`CREATE ROLE "` + name + `" LOGIN PASSWORD '` + strings.ReplaceAll(password, "'", "''") + `'`}
	for _, g := range grants {
		stmts = append(stmts, strings.ReplaceAll(g, "{role}", `"`+name+`"`))
	}
	t.Cleanup(func() { drop(t, dsn, `DROP OWNED BY "`+name+`" CASCADE`, `DROP ROLE IF EXISTS "`+name+`"`) })
	Exec(t, dsn, stmts...)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	u.User = url.UserPassword(name, password)
	return name, u.String()
}

// drop runs cleanup statements; a failure is reported, not fatal.
func drop(t testing.TB, dsn string, stmts ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("clean up test server: %v", err)
		return
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Errorf("clean up test server: %s: %v", s, err)
		}
	}
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
