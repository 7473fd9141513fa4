package duckfile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// FileMode is the mode of a database file and its WAL: they hold the loaded
// data, as private as the project's other state files. DuckDB creates both
// with the process's umask (usually 0644).
const FileMode fs.FileMode = 0o600

// Restrict gives the database file at path, and its WAL when there is one,
// FileMode.
func Restrict(path string) error {
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Chmod(p, FileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("make %s private: %w", p, err)
		}
	}
	return nil
}

// walProbe is the table whose creation and removal make DuckDB start a WAL.
const walProbe = "cfmcp_wal_probe"

// PrivateWAL makes DuckDB create the WAL of the database at path (open for
// writing through conn) now, with a catalog change that undoes itself, and
// restricts it and the database file. DuckDB creates the WAL with the umask
// when a transaction first commits, and keeps appending to it: made private
// first, it never holds a committed row where others can read it.
func PrivateWAL(ctx context.Context, conn *sql.Conn, path string) error {
	if err := Restrict(path); err != nil {
		return err
	}
	if _, err := os.Stat(path + ".wal"); errors.Is(err, fs.ErrNotExist) {
		q := fmt.Sprintf("CREATE TABLE main.%[1]s (x INTEGER); DROP TABLE main.%[1]s", walProbe)
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("start the WAL of %s: %w", path, err)
		}
	}
	return Restrict(path)
}
