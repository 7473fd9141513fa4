package duckfile

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// RowGroupSize is the row group size every read-write open of a DuckDB file
// of this program uses (OpenWrite). DuckDB keeps no row group size in the
// file: a file opened with its default size has the row groups written with
// a smaller one merged back at its next checkpoint, rewriting the tables.
// Small row groups fill, and reach the file, while rows are still being
// appended, instead of all at once at COMMIT.
const RowGroupSize = 16384

// OpenWrite opens the file at path read-write as OpenInit does, but attached
// to an in-memory database with ROW_GROUP_SIZE RowGroupSize, under the
// catalog name DuckDB gives the file when it is opened by path, and made
// every connection's default (USE) before init runs on it. opts are the
// in-memory database's settings, which apply to the file as well; DuckDB
// spills next to the file, as it does for a file opened by path, unless opts
// set temp_directory.
func OpenWrite(ctx context.Context, path string, wait time.Duration, init Init, opts ...string) (*sql.DB, error) {
	if !slices.ContainsFunc(opts, func(o string) bool { return strings.HasPrefix(o, "temp_directory=") }) {
		opts = append(opts, "temp_directory="+url.QueryEscape(path+".tmp"))
	}
	attach := fmt.Sprintf("ATTACH '%s' (ROW_GROUP_SIZE %d)", strings.ReplaceAll(path, "'", "''"), RowGroupSize)
	return openInit(ctx, path, "", false, wait, attach, init, opts...)
}

// attachInit attaches the file once per database (attach) and makes it the
// default catalog of each connection, then runs init.
func attachInit(attach string, init Init) Init {
	var once sync.Once
	var alias string
	var attachErr error
	return func(ctx context.Context, conn driver.ExecerContext) error {
		once.Do(func() {
			if _, attachErr = conn.ExecContext(ctx, attach, nil); attachErr != nil {
				return
			}
			alias, attachErr = attachedName(ctx, conn)
		})
		if attachErr != nil {
			return attachErr
		}
		if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(alias), nil); err != nil {
			return err
		}
		if init != nil {
			return init(ctx, conn)
		}
		return nil
	}
}

// attachedName is the catalog name of the one file attached to an in-memory
// database.
func attachedName(ctx context.Context, conn driver.ExecerContext) (string, error) {
	q, ok := conn.(driver.QueryerContext)
	if !ok {
		return "", fmt.Errorf("duckdb connection cannot query")
	}
	rows, err := q.QueryContext(ctx, "SELECT database_name FROM duckdb_databases() WHERE NOT internal AND path IS NOT NULL AND path <> ''", nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		if err == io.EOF {
			return "", fmt.Errorf("attached database not found")
		}
		return "", err
	}
	name, ok := dest[0].(string)
	if !ok {
		return "", fmt.Errorf("attached database name: %T", dest[0])
	}
	return name, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
