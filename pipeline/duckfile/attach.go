package duckfile

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
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

// StorageVersion is the storage format of the files OpenWrite creates (an
// existing file keeps its own). DuckDB's default is a format from 0.10,
// which stores a string of over a few KB as is: builds with an 8 KB
// pipeline YAML took 505 MB for 30k builds. v1.4.0 (read by DuckDB 1.4,
// the long-term release, and later) compresses such strings with
// DICT_FSST or zstd, and stages a load with 9% less CPU (bench P1).
const StorageVersion = "v1.4.0"

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
	attach := fmt.Sprintf("ATTACH '%s' (ROW_GROUP_SIZE %d, STORAGE_VERSION '%s')", strings.ReplaceAll(path, "'", "''"), RowGroupSize, StorageVersion)
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

// DuckDB tells a second open of a file in this process by its path (its
// instance cache), but not a file attached to another database: the files
// this process holds are kept here, so that a file attached for writing is
// never open twice in it, and waited for as another process's lock is.
var holds = struct {
	sync.Mutex
	m map[string]*hold
}{m: map[string]*hold{}}

type hold struct{ attached, byPath int }

// claim records an open of path (attached: by OpenWrite), or reports that
// this process holds it in a way the open conflicts with.
func claim(path string, attached bool) (release func(), ok bool) {
	key := path
	if abs, err := filepath.Abs(path); err == nil {
		key = abs
	}
	holds.Lock()
	defer holds.Unlock()
	h := holds.m[key]
	if h == nil {
		h = &hold{}
		holds.m[key] = h
	}
	if h.attached > 0 || (attached && h.byPath > 0) {
		return nil, false
	}
	if attached {
		h.attached++
	} else {
		h.byPath++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			holds.Lock()
			defer holds.Unlock()
			if attached {
				h.attached--
			} else {
				h.byPath--
			}
			if h.attached == 0 && h.byPath == 0 {
				delete(holds.m, key)
			}
		})
	}, true
}

// releasing is a connector whose database, when closed, lets its claim go.
type releasing struct {
	driver.Connector
	release func()
}

func (c *releasing) Close() error {
	defer c.release()
	if cl, ok := c.Connector.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
