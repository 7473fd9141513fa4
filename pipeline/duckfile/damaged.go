package duckfile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// DamagedError says the database file cannot be read as a DuckDB database:
// truncated, overwritten, or failing its checksums. Detail is DuckDB's own
// words.
type DamagedError struct {
	Path   string
	Detail string
	Err    error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("database file %s is damaged: %s", e.Path, e.Detail)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// damageSigns are DuckDB's IO errors for a file that is not (or no longer)
// a whole database: a foreign or overwritten header, a cut file, a block
// whose checksum fails.
var damageSigns = []string{
	"not a valid DuckDB database file",
	"Could not read enough bytes from file",
	"Corrupt database file",
}

// Damaged returns err as a *DamagedError of the file at path when DuckDB
// says the file is damaged, else err unchanged. Opening finds a damaged
// header; a damaged block shows only when a query reads it. Only DuckDB's
// IO errors count: a query cannot raise one with words of its choosing.
func Damaged(path string, err error) error {
	var (
		de *DamagedError
		e  *duckdb.Error
	)
	if err == nil || path == "" || errors.As(err, &de) || !errors.As(err, &e) || e.Type != duckdb.ErrorTypeIO {
		return err
	}
	for _, sign := range damageSigns {
		if strings.Contains(e.Msg, sign) {
			return &DamagedError{Path: path, Detail: e.Msg, Err: err}
		}
	}
	return err
}
