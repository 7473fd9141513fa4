package parquet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

const (
	pipelineName = conformance.Pipeline
	testDataset  = destination.DefaultDataset
	load1        = conformance.OrderLoad1
	load2        = conformance.OrderLoad2
	load3        = conformance.OrderLoad3
)

// Parquet folders do what every destination does.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Factory{
		Name: "parquet",
		New: func(t *testing.T, ds string) conformance.Instance {
			d := New(filepath.Join(t.TempDir(), "codefresh_parquet"), Options{Dataset: ds, LockWait: 300 * time.Millisecond})
			r, err := OpenReader(context.Background(), d.root, ds, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return conformance.Instance{Dest: d, Reader: r, Path: d.root,
				Other:  func(ds string) destination.Destination { return New(d.root, Options{Dataset: ds}) },
				Stored: func(t *testing.T) string { return files(t, d) },
			}
		},
		Types: map[normalize.DataType]string{normalize.Bigint: "BIGINT", normalize.Text: "VARCHAR", normalize.Double: "DOUBLE",
			normalize.Bool: "BOOLEAN", normalize.Timestamp: "TIMESTAMP WITH TIME ZONE", normalize.JSON: "JSON"},
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

func stageOrders(t *testing.T, s *normalize.Schema, loadID string, orders ...order) *stage.Stage {
	t.Helper()
	rows := make([]conformance.Order, len(orders))
	for i, o := range orders {
		rows[i] = conformance.Order{ID: o.id, Group: o.group, Items: o.items}
	}
	return conformance.StageOrders(t, "", s, loadID, rows...)
}

func pkgFor(s *normalize.Schema, st *stage.Stage, loadID, state string) *destination.Package {
	return conformance.OrderPackage(testDataset, s, st, loadID, state)
}

func newDest(t *testing.T) *Destination {
	return New(filepath.Join(t.TempDir(), "codefresh_parquet"), Options{LockWait: 300 * time.Millisecond})
}

func commit(t *testing.T, d *Destination, p *destination.Package) *destination.CommitStats {
	t.Helper()
	return conformance.MustCommit(t, d, p)
}

// query runs q over views of the committed files (schema codefresh_data),
// returning its rows as "a,b;c,d".
func query(t *testing.T, d *Destination, q string) string {
	t.Helper()
	ctx := context.Background()
	l, err := Scan(d.root, testDataset)
	if err != nil {
		t.Fatal(err)
	}
	db, err := duckfile.Open(ctx, "", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stmts := []string{"CREATE SCHEMA codefresh_data", "SET search_path = 'codefresh_data'"}
	for _, name := range l.TableNames() {
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW codefresh_data.%s AS SELECT * FROM %s", stage.QuoteIdent(name), readFiles(l.Tables[name])))
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return destinationtest.Query(t, conn, destinationtest.UTC, q)
}

// files lists every file under the destination, relative, with its size.
func files(t *testing.T, d *Destination) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.root, path)
		if e.IsDir() {
			out = append(out, rel+"/")
			return nil
		}
		if e.Name() == lockName {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d", rel, info.Size()))
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

func tableFiles(t *testing.T, d *Destination, table string) []string {
	t.Helper()
	l, err := Scan(d.root, testDataset)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range l.Tables[table] {
		out = append(out, filepath.Base(f))
	}
	return out
}

// A replace leaves only the new load's file in the folder, not only in
// the layout, and no journal.
func TestReplaceRemovesOldFiles(t *testing.T) {
	d := newDest(t)
	s := orderSchema("replace")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x", "y"}}, order{2, "b", nil}, order{3, "c", []string{"z"}}), load1, ""))
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{4, "d", []string{"w"}}, order{5, "e", nil}), load2, ""))
	if got, _ := os.ReadDir(filepath.Join(d.root, testDataset, "order")); len(got) != 1 || got[0].Name() != load2+".parquet" {
		t.Fatalf("order files = %v", got)
	}
	if _, err := os.Stat(filepath.Join(d.root, testDataset, journalName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("journal left behind: %v", err)
	}
}

func TestAppendAddsAFilePerLoad(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}, order{2, "b", nil}), load1, ""))
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{1, "a", []string{"x", "y"}}), load2, ""))
	if got := tableFiles(t, d, "order"); !slices.Equal(got, []string{load1 + ".parquet", load2 + ".parquet"}) {
		t.Fatalf("files = %v", got)
	}
}

// A merge that replaced rows rewrote the table into one file.
func TestMergeRewritesIntoOneFile(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"a1", "a2"}}, order{2, "b", []string{"b1", "b2", "b3"}}), load1, ""))
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "B", []string{"B1"}}, order{3, "c", []string{"c1"}}), load2, ""))
	commit(t, d, pkgFor(s, stageOrders(t, s, load3, order{2, "B", []string{"B1"}}, order{3, "c", []string{"c1"}}), load3, ""))
	if got := tableFiles(t, d, "order"); !slices.Equal(got, []string{load3 + ".parquet"}) {
		t.Fatalf("files = %v", got)
	}
	if got := query(t, d, `SELECT id, "group" FROM "order" ORDER BY id`); got != "1,a;2,B;3,c" {
		t.Fatalf("order = %s", got)
	}
}

// A merge of new keys only adds a file: nothing stored is rewritten.
func TestMergeOfNewKeysAddsAFile(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"a1"}}), load1, ""))
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "b", []string{"b1"}}), load2, ""))
	if stats.Tables["order"] != (destination.TableStats{Inserted: 1}) || stats.Tables["order__items"] != (destination.TableStats{Inserted: 1}) {
		t.Fatalf("stats = %+v", stats.Tables)
	}
	if got := tableFiles(t, d, "order"); !slices.Equal(got, []string{load1 + ".parquet", load2 + ".parquet"}) {
		t.Fatalf("files = %v", got)
	}
	if got := query(t, d, `SELECT id FROM "order" ORDER BY id`); got != "1;2" {
		t.Fatalf("order = %s", got)
	}
}

// A process killed at any step of a commit leaves the dataset readable as
// either the old or the new load, never a mix; the next commit tidies up.
func TestCrashAtEveryStep(t *testing.T) {
	steps := []string{"written", "journal", "renamed order", "renamed order__items", "renamed _dlt_version", "renamed _dlt_pipeline_state", "committed", "deleted"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			d := newDest(t)
			s := orderSchema("merge")
			commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"a1"}}, order{2, "b", []string{"b1"}}), load1, `{"v":1}`))
			const oldView = "1,a,a1;2,b,b1"
			s2 := orderSchema("merge")
			s2.VersionHash = "h2"
			d.crashAt = func(at string) bool { return at == step }
			_, err := d.Commit(context.Background(), pkgFor(s2, stageOrders(t, s2, load2, order{2, "B", []string{"B1"}}, order{3, "c", nil}), load2, `{"v":2}`))
			d.crashAt = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("err = %v", err)
			}
			view := query(t, d, `SELECT r.id, r."group", i.value FROM "order" r LEFT JOIN order__items i ON i._dlt_root_id = r._dlt_id ORDER BY ALL`)
			state, err := d.LastState(context.Background(), pipelineName)
			if err != nil {
				t.Fatal(err)
			}
			committed := slices.Index(steps, step) >= slices.Index(steps, "committed")
			wantView, wantState := oldView, `{"v":1}`
			if committed {
				wantView, wantState = "1,a,a1;2,B,B1;3,c,<nil>", `{"v":2}`
			}
			if view != wantView || string(state) != wantState {
				t.Fatalf("after a crash at %q: rows %s, state %s; want %s, %s", step, view, state, wantView, wantState)
			}
			// The next load finishes or undoes the crashed one and leaves no debris.
			commit(t, d, pkgFor(s2, stageOrders(t, s2, load3, order{4, "d", nil}), load3, `{"v":3}`))
			wantView += ";4,d,<nil>"
			if got := query(t, d, `SELECT r.id, r."group", i.value FROM "order" r LEFT JOIN order__items i ON i._dlt_root_id = r._dlt_id ORDER BY ALL`); got != wantView {
				t.Fatalf("after the next load: %s, want %s", got, wantView)
			}
			l, err := Scan(d.root, testDataset)
			if err != nil {
				t.Fatal(err)
			}
			live := map[string]bool{filepath.Join(d.root, testDataset, lockName): true}
			for _, fs := range l.Tables {
				for _, f := range fs {
					live[f] = true
				}
			}
			var debris []string
			filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() && !live[path] {
					debris = append(debris, path)
				}
				return nil
			})
			if len(debris) > 0 {
				t.Fatalf("files left behind: %v", debris)
			}
		})
	}
}

func TestLockedByAnotherCommit(t *testing.T) {
	d := newDest(t)
	dir := filepath.Join(d.root, testDataset)
	// Another holder of the lock: a second Destination on the same folder,
	// stopped in the middle of its commit.
	other := New(d.root, Options{})
	hold, err := other.lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s := orderSchema("append")
	_, err = d.Commit(context.Background(), pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
	var locked *duckfile.LockedError
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Fatalf("err = %v", err)
	}
	hold()
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
}

func TestRejectsBadNamesAndRepeatedLoads(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
	if _, err := d.Commit(context.Background(), pkgFor(s, nil, load1, "")); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Fatalf("repeated load: %v", err)
	}
	for _, p := range []*destination.Package{pkgFor(s, nil, "../x", ""), {LoadID: load2, PipelineName: pipelineName, Dataset: "../up", Schema: s}} {
		if _, err := d.Commit(context.Background(), p); err == nil || !strings.Contains(err.Error(), "cannot be a") {
			t.Fatalf("bad name accepted: %v", err)
		}
	}
	bad := orderSchema("append")
	bad.Tables[0].Name = "a/b"
	if _, err := d.Commit(context.Background(), pkgFor(bad, nil, load2, "")); err == nil || !strings.Contains(err.Error(), "cannot be a folder name") {
		t.Fatalf("bad table name: %v", err)
	}
}

// Builds with a large pipeline YAML: a merge of rows of 80 KB of text. The
// commit ran out of its 256 MB, picking the last row of each key through
// a table of whole rows and then writing row groups of them; it now picks
// by rowid and takes the memory and row groups large rows need.
func TestMergeOfLargeRows(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 0.5 GB of text")
	}
	const n, size = 6000, 80_000
	d := newDest(t)
	s := orderSchema("merge")
	text := strings.Repeat("steps: [build, test, deploy]\n", size/29+1)[:size]
	orders := make([]order, n)
	for i := range orders {
		orders[i] = order{int64(i), fmt.Sprint(text, i), nil}
	}
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, orders...), load1, ""))
	want := fmt.Sprint(n, ",", n)
	if got := query(t, d, fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE length("group") = %d + length(id::VARCHAR)) FROM "order"`, size)); got != want {
		t.Fatalf("rows, rows whole = %s, want %s", got, want)
	}
}
