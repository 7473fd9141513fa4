package duckdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// A first load into a file that does not exist yet, staged in the dataset's
// schema, is committed by finishing the staging file in place (system tables,
// dispositions, constraints) and linking it to the destination path: its rows
// are written once, and no lock on the destination is ever held. The result
// is the file the copying commit would have made (TestMovedCommitAsCopied).

// movable tells whether pkg can be committed by moving its stage into place.
func (d *Destination) movable(dataset string, pkg *destination.Package) bool {
	if pkg.Stage == nil || pkg.Stage.Schema() != dataset || len(pkg.Stage.Tables()) == 0 {
		return false
	}
	for _, p := range []string{d.path, d.path + ".wal"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	// Staged columns must be the first columns of the table the copying
	// commit would create, in its order, so that the layouts match.
	for _, name := range pkg.Stage.Tables() {
		t := pkg.Table(name)
		if t == nil {
			return false
		}
		want, have := pkg.Columns(t), pkg.Staged(name)
		if len(have) > len(want) {
			return false
		}
		for i, c := range have {
			if c.Name != want[i].Name || c.DataType != want[i].DataType {
				return false
			}
		}
	}
	return true
}

// commitByMove finishes the stage as the destination file and links it into
// place. moved is false when another process created the file meanwhile: the
// caller then commits by copying, from the same (still valid) stage.
func (d *Destination) commitByMove(ctx context.Context, dataset string, pkg *destination.Package) (stats *destination.CommitStats, moved bool, err error) {
	if stats, err = d.finishStage(ctx, dataset, pkg); err != nil {
		return nil, false, err
	}
	if err := pkg.Stage.MoveTo(ctx, d.path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return stats, true, nil
}

func (d *Destination) finishStage(ctx context.Context, dataset string, pkg *destination.Package) (_ *destination.CommitStats, err error) {
	if err := pkg.Stage.Flush(ctx); err != nil {
		return nil, err
	}
	db, err := duckfile.OpenWrite(ctx, pkg.Stage.Path(), d.wait, nil, "memory_limit="+commitMemory)
	if err != nil {
		return nil, err
	}
	// Closing checkpoints the file, so that it is whole without its WAL.
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close stage: %w", cerr)
		}
	}()
	conn, catalog, err := connect(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Statements commit one by one: the file is private until it is linked,
	// so a failure only discards it, and DuckDB refuses a DELETE and an
	// ALTER of one table in one transaction.
	c := &committer{tx: conn, catalog: catalog, dataset: dataset, pkg: pkg, afterStep: d.afterStep,
		stats: &destination.CommitStats{Tables: map[string]destination.TableStats{}}}
	if err := c.systemRows().Commit(ctx, c.createTables, c.keepRows, c.afterStep); err != nil {
		return nil, err
	}
	return c.stats, nil
}

// keepRows is moveRows for a stage that becomes the destination: the target
// tables are the staging tables and were empty before this load, so replace
// and append keep every row, merge keeps the last staged row of each key
// with its children, and rows of resources that did not complete go.
func (c *committer) keepRows(ctx context.Context) error {
	writes, err := c.pkg.Plan()
	if err != nil {
		return err
	}
	planned := map[string]bool{}
	for _, w := range writes {
		if w.Disposition == destination.Merge {
			if err := c.keepLast(ctx, w.Tables, w.Keys); err != nil {
				return fmt.Errorf("resource %s (%s): %w", w.Root.Name, w.Root.WriteDisposition, err)
			}
		}
		for _, t := range w.Tables {
			planned[t.Name] = true
		}
	}
	// The file is new: a staged table of a resource that did not complete
	// goes whole, as the copying commit would not have created it.
	for _, name := range c.pkg.Stage.Tables() {
		if !planned[name] {
			if _, err := c.exec(ctx, "DROP TABLE "+c.target(name)); err != nil {
				return fmt.Errorf("drop table of incomplete %s: %w", name, err)
			}
			delete(c.columns, name) // the CI views must not read it
		}
	}
	if err := c.notNull(ctx, planned); err != nil {
		return err
	}
	for _, w := range writes {
		for _, t := range w.Tables {
			var n int64
			if err := c.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+c.target(t.Name)).Scan(&n); err != nil {
				return fmt.Errorf("count %s: %w", t.Name, err)
			}
			c.count(t.Name, n, 0)
		}
	}
	return nil
}

// keepLast is merge into an empty target: of each key the last staged root
// (appends keep rowid in write order) and its children stay.
func (c *committer) keepLast(ctx context.Context, fam []*normalize.Table, keyNames []string) error {
	root := fam[0]
	for _, t := range fam[1:] {
		if c.pkg.Staged(t.Name) != nil && !c.columns[t.Name]["_dlt_root_id"] {
			return fmt.Errorf("child table %s has no _dlt_root_id column, needed to merge", t.Name)
		}
	}
	if c.pkg.Staged(root.Name) == nil {
		// No staged roots: orphan children are dropped.
		for _, t := range fam[1:] {
			if c.pkg.Staged(t.Name) != nil {
				if _, err := c.exec(ctx, "DELETE FROM "+c.target(t.Name)); err != nil {
					return fmt.Errorf("drop orphan rows of %s: %w", t.Name, err)
				}
			}
		}
		return nil
	}
	keys := make([]string, len(keyNames))
	for i, k := range keyNames {
		keys[i] = stage.QuoteIdent(k)
	}
	group := strings.Join(keys, ", ")
	n, err := c.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE rowid NOT IN (SELECT max(rowid) FROM %s GROUP BY %s)",
		c.target(root.Name), c.target(root.Name), group))
	if err != nil {
		return fmt.Errorf("drop earlier rows of a key in %s: %w", root.Name, err)
	}
	if n == 0 {
		return nil // every staged child belongs to a staged root, as the normalizer writes them
	}
	for _, t := range fam[1:] {
		if c.pkg.Staged(t.Name) == nil {
			continue
		}
		q := fmt.Sprintf("DELETE FROM %s WHERE _dlt_root_id NOT IN (SELECT _dlt_id FROM %s)", c.target(t.Name), c.target(root.Name))
		if _, err := c.exec(ctx, q); err != nil {
			return fmt.Errorf("drop rows of replaced roots in %s: %w", t.Name, err)
		}
	}
	return nil
}

// notNull sets NOT NULL where the copying commit creates it: on the staged
// tables kept, whose columns the stage made plain.
func (c *committer) notNull(ctx context.Context, kept map[string]bool) error {
	for _, name := range c.pkg.Stage.Tables() {
		if !kept[name] {
			continue
		}
		t := c.pkg.Table(name)
		for _, col := range c.pkg.Columns(t) {
			if col.Nullable {
				continue
			}
			q := fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", c.target(name), stage.QuoteIdent(col.Name))
			if _, err := c.exec(ctx, q); err != nil {
				return fmt.Errorf("table %s: column %s: %w", name, col.Name, err)
			}
		}
	}
	return nil
}
