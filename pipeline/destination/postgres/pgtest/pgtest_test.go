//go:build unix

package pgtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// envChild makes the test binary a child that starts a throwaway server,
// prints its data folder and exits without stopping it.
const envChild = "PGTEST_CHILD_PRINTS_FOLDER"

// Without a named server, the test process starts its own cluster; when
// the process ends, however it ends, the server stops and its folder goes.
func TestThrowawayServerStartsAndGoesAway(t *testing.T) {
	if os.Getenv(envChild) != "" {
		t.Setenv(EnvDSN, "")
		dsn := DSN(t)
		os.Stdout.WriteString("FOLDER=" + dataDirectory(t, dsn) + "\n")
		return
	}
	if _, err := findBinDir(); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestThrowawayServerStartsAndGoesAway$", "-test.v")
	cmd.Env = append(os.Environ(), envChild+"=1", "CI=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, after, ok := bytes.Cut(out, []byte("FOLDER="))
	if !ok {
		t.Fatalf("child printed no folder:\n%s", out)
	}
	data := strings.TrimSpace(string(bytes.SplitN(after, []byte("\n"), 2)[0]))
	if filepath.Base(data) != "data" || !strings.HasPrefix(filepath.Base(filepath.Dir(data)), "cfmcp-pgtest-") {
		t.Fatalf("data folder %q is not a throwaway one", data)
	}
	// The watchdog removes the folder once it sees the child gone.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := os.Stat(filepath.Dir(data))
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists a minute after the test process ended (stat: %v)", filepath.Dir(data), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func dataDirectory(t *testing.T, dsn string) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var dir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A role made for a test logs in with its password, has the rights given,
// and is gone, with what it owned, after the test.
func TestRoleAndDataset(t *testing.T) {
	dsn := DSN(t)
	var name, roleDSN, ds string
	t.Run("make", func(t *testing.T) {
		ds = Dataset(t, dsn)
		Exec(t, dsn, `CREATE SCHEMA "`+ds+`"`, `CREATE SCHEMA "`+ds+`_ci"`)
		name, roleDSN = Role(t, dsn, "cfmcp_test_role_", "pw-it's", `GRANT CREATE ON SCHEMA "`+ds+`" TO {role}`)
		if !strings.Contains(roleDSN, name+":pw-it%27s@") {
			t.Fatalf("role DSN %s", roleDSN)
		}
		Exec(t, roleDSN, `CREATE TABLE "`+ds+`".t (a int)`)
		var owner string
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE schemaname = $1`, ds).Scan(&owner); err != nil || owner != name {
			t.Fatalf("owner %q, %v", owner, err)
		}
	})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_roles WHERE rolname = $1) + (SELECT count(*) FROM pg_namespace WHERE nspname IN ($2, $3))`, name, ds, ds+"_ci").Scan(&left); err != nil || left != 0 {
		t.Fatalf("after the test: %d of the role and schemas left (%v)", left, err)
	}
}
