package duckfile

import (
	"errors"
	"testing"
)

// Each way DuckDB says the file is held counts as a lock conflict, with the
// holder named where DuckDB names it; other errors do not.
func TestIsLockConflict(t *testing.T) {
	for _, c := range []struct {
		msg, holder string
		locked      bool
	}{
		{`IO Error: Could not set lock on file "x.duckdb": Conflicting lock is held in /usr/bin/codefresh-mcp (PID 4242). See also https://duckdb.org/docs/connect/concurrency`, "/usr/bin/codefresh-mcp (PID 4242)", true},
		{`IO Error: Could not set lock on file "x.duckdb": Resource temporarily unavailable`, "holder unknown", true},
		{`Connection Error: Can't open a connection to same database file with a different configuration than existing connections`, "this process", true},
		{`Binder Error: Unique file handle conflict: Cannot attach "codefresh" - the database file "x.duckdb" is already attached by database "codefresh"`, "this process", true},
		{`IO Error: The file "x.duckdb" exists, but it is not a valid DuckDB database file!`, "", false},
	} {
		holder, locked := isLockConflict(errors.New(c.msg))
		if holder != c.holder || locked != c.locked {
			t.Errorf("%.60s: got (%q, %v), want (%q, %v)", c.msg, holder, locked, c.holder, c.locked)
		}
	}
}
