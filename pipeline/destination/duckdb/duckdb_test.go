package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile/duckfiletest"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

const (
	pipelineName = conformance.Pipeline
	testDataset  = destination.DefaultDataset
	load1        = conformance.OrderLoad1
	load2        = conformance.OrderLoad2
	load3        = conformance.OrderLoad3
)

// DuckDB files do what every destination does.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Factory{
		Name: "duckdb",
		New: func(t *testing.T, ds string) conformance.Instance {
			d := New(filepath.Join(t.TempDir(), "codefresh.duckdb"), Options{Dataset: ds, LockWait: 500 * time.Millisecond})
			r, err := OpenReader(context.Background(), d.path, ds, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return conformance.Instance{Dest: d, Reader: r, Path: d.path,
				Other:     func(ds string) destination.Destination { return New(d.path, Options{Dataset: ds}) },
				AfterStep: func(fn func(string)) { d.afterStep = fn },
				Stored:    func(t *testing.T) string { return snapshot(t, d) },
			}
		},
		Types: map[normalize.DataType]string{normalize.Bigint: "BIGINT", normalize.Text: "VARCHAR", normalize.Double: "DOUBLE",
			normalize.Bool: "BOOLEAN", normalize.Timestamp: "TIMESTAMP WITH TIME ZONE", normalize.JSON: "JSON"},
		NotNull:   true,
		CastError: "not a number",
	})
}

func col(name string, t normalize.DataType) *normalize.Column { return conformance.Col(name, t) }

// orderSchema is the conformance suite's order fixture.
func orderSchema(disposition string) *normalize.Schema { return conformance.OrderSchema(disposition) }

type order struct {
	id    int64
	group string
	items []string
}

// stageOrders stages orders (in this order) for schema s and load loadID.
func stageOrders(t *testing.T, s *normalize.Schema, loadID string, orders ...order) *stage.Stage {
	t.Helper()
	return stageOrdersIn(t, "main", s, loadID, orders...)
}

// stageOrdersIn is stageOrders with the staging tables in schema (the
// dataset's: a first commit then moves the stage into place).
func stageOrdersIn(t *testing.T, schema string, s *normalize.Schema, loadID string, orders ...order) *stage.Stage {
	t.Helper()
	rows := make([]conformance.Order, len(orders))
	for i, o := range orders {
		rows[i] = conformance.Order{ID: o.id, Group: o.group, Items: o.items}
	}
	return conformance.StageOrders(t, schema, s, loadID, rows...)
}

func pkgFor(s *normalize.Schema, st *stage.Stage, loadID string, state string) *destination.Package {
	return conformance.OrderPackage(testDataset, s, st, loadID, state)
}

func newDest(t *testing.T) *Destination {
	t.Helper()
	return New(filepath.Join(t.TempDir(), "codefresh.duckdb"), Options{LockWait: 500 * time.Millisecond})
}

func commit(t *testing.T, d *Destination, p *destination.Package) *destination.CommitStats {
	t.Helper()
	return conformance.MustCommit(t, d, p)
}

// query returns q's rows as "a,b;c,d" (NULL as <nil>), opening the file read-only.
func query(t *testing.T, d *Destination, q string, args ...any) string {
	t.Helper()
	db, err := duckfile.Open(context.Background(), d.path, true, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return destinationtest.Query(t, db, destinationtest.Sprint, q, args...)
}

// snapshot is every table of the file: its columns and all its rows.
func snapshot(t *testing.T, d *Destination) string {
	t.Helper()
	tables := query(t, d, `SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY ALL`)
	var b strings.Builder
	b.WriteString(query(t, d, `SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() ORDER BY ALL`))
	for _, name := range strings.Split(tables, ";") {
		if name == "" {
			continue
		}
		s, tbl, _ := strings.Cut(name, ".")
		fmt.Fprintf(&b, "\n%s: %s", name, query(t, d, fmt.Sprintf("SELECT * FROM %s ORDER BY ALL", qualify(s, tbl))))
	}
	return b.String()
}

func TestOddIdentifiers(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "it's.duckdb"), Options{Dataset: "my-data"})
	s := orderSchema("merge")
	p := pkgFor(s, stageOrders(t, s, load1, order{1, "g", []string{"x"}}), load1, `{}`)
	p.Dataset = "my-data"
	commit(t, d, p)
	if got := query(t, d, `SELECT "group", "we""ird col" FROM "my-data"."order"`); got != "g,0.5" {
		t.Fatalf("rows = %s", got)
	}
	if st, err := d.LastState(context.Background(), pipelineName); err != nil || string(st) != `{}` {
		t.Fatalf("state = %s, %v", st, err)
	}
}

// Another process holding the file: Commit and LastState give up after the
// wait with a *duckfile.LockedError that names the holder's PID.
func TestLockedByAnotherProcess(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, nil, load1, `{"v":1}`))

	holder, release := duckfiletest.Start(t, d.path, 0)
	pid := fmt.Sprintf("PID %d", holder)

	start := time.Now()
	_, err := d.Commit(context.Background(), pkgFor(s, stageOrders(t, s, load2, order{1, "a", nil}), load2, `{"v":2}`))
	var locked *duckfile.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("commit err = %v, want *duckfile.LockedError", err)
	}
	if !strings.Contains(locked.Holder, pid) || !strings.Contains(err.Error(), pid) {
		t.Fatalf("error does not name %s: %v", pid, err)
	}
	t.Logf("commit error: %v", err)
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waited %s for a 500ms lock wait", waited)
	}
	_, err = d.LastState(context.Background(), pipelineName)
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), pid) {
		t.Fatalf("LastState err = %v", err)
	}

	release()
	if st, err := d.LastState(context.Background(), pipelineName); err != nil || string(st) != `{"v":1}` {
		t.Fatalf("after release: %s, %v", st, err)
	}
}
