package destination

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Write dispositions of a Write after planning.
const (
	Replace = "replace"
	Append  = "append"
	Merge   = "merge"
)

// Write is what a commit does with the rows of one completed resource: its
// root table and the root's child tables, all by the root's disposition.
type Write struct {
	Root   *normalize.Table
	Tables []*normalize.Table // the root first, then its descendants, parents before children
	// Disposition is Replace, Append or Merge. A merge table without a
	// primary key is planned as Append (dlt appends then), "" as Append.
	Disposition string
	Keys        []string // Merge: the root's primary-key columns, in table order
}

// Check rejects a package a destination cannot commit: no load id,
// pipeline name or schema, or a staged table the schema does not know.
func (p *Package) Check() error {
	if p == nil || p.Schema == nil || p.LoadID == "" || p.PipelineName == "" {
		return errors.New("commit needs a package with a load id, pipeline name and schema")
	}
	if p.HasState() && !json.Valid(p.State) {
		return errors.New("pipeline state is not valid JSON")
	}
	if p.Stage == nil {
		return nil
	}
	for _, name := range p.Stage.Tables() {
		if p.Table(name) == nil {
			return fmt.Errorf("staged table %s is not in schema %s", name, p.Schema.Name)
		}
	}
	return nil
}

// DatasetOr is the package's dataset, or def when the package names none.
func (p *Package) DatasetOr(def string) string {
	if p.Dataset != "" {
		return p.Dataset
	}
	return def
}

// Table is the schema's table of that name; nil when there is none.
func (p *Package) Table(name string) *normalize.Table {
	for _, t := range p.Schema.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Staged are the staged columns of a table; nil when it has no staged rows.
func (p *Package) Staged(table string) []*normalize.Column {
	if p.Stage == nil {
		return nil
	}
	return p.Stage.Columns(table)
}

// Columns are the columns a table must have after this load: the schema's,
// then any staged column the schema does not list (it still needs a home).
func (p *Package) Columns(t *normalize.Table) []*normalize.Column {
	cols := t.Columns
	for _, sc := range p.Staged(t.Name) {
		if !slices.ContainsFunc(cols, func(c *normalize.Column) bool { return c.Name == sc.Name }) {
			cols = append(slices.Clip(cols), sc)
		}
	}
	return cols
}

// Plan lists the writes of the package's completed resources, in the order
// of Resources. A resource named twice is written once; one with no table
// in the schema (nothing was ever extracted) has nothing to write. Staged
// rows of resources not in Resources are left out of every write.
func (p *Package) Plan() ([]Write, error) {
	var out []Write
	seen := map[string]bool{}
	for _, root := range p.Resources {
		if seen[root] {
			continue
		}
		seen[root] = true
		t := p.Table(root)
		if t == nil {
			continue
		}
		if t.Parent != "" {
			return nil, fmt.Errorf("resource %s: table is a child of %s, not a root", root, t.Parent)
		}
		w := Write{Root: t, Tables: p.family(root), Disposition: t.WriteDisposition}
		switch t.WriteDisposition {
		case Replace:
		case Append, "":
			w.Disposition = Append
		case Merge:
			for _, c := range t.Columns {
				if c.PrimaryKey {
					w.Keys = append(w.Keys, c.Name)
				}
			}
			if len(w.Keys) == 0 {
				w.Disposition = Append
			}
		default:
			return nil, fmt.Errorf("resource %s: unknown write disposition %q", root, t.WriteDisposition)
		}
		out = append(out, w)
	}
	return out, nil
}

// Creates are the schema tables a commit creates, or gives the columns
// they lack: those of the completed resources (Plan). A table of a resource
// that failed, or was not part of this load, is left as the destination has
// it, so a failed first load leaves no empty table behind to read as "no
// data".
func (p *Package) Creates() ([]*normalize.Table, error) {
	writes, err := p.Plan()
	if err != nil {
		return nil, err
	}
	var out []*normalize.Table
	for _, w := range writes {
		out = append(out, w.Tables...)
	}
	return out, nil
}

// WritePlan runs the package's writes (Plan), each with the destination's
// function for its disposition.
func (p *Package) WritePlan(ctx context.Context,
	replace, appendRows func(ctx context.Context, fam []*normalize.Table) error,
	merge func(ctx context.Context, fam []*normalize.Table, keys []string) error) error {
	writes, err := p.Plan()
	if err != nil {
		return err
	}
	for _, w := range writes {
		switch w.Disposition {
		case Replace:
			err = replace(ctx, w.Tables)
		case Append:
			err = appendRows(ctx, w.Tables)
		case Merge:
			err = merge(ctx, w.Tables, w.Keys)
		}
		if err != nil {
			return fmt.Errorf("resource %s (%s): %w", w.Root.Name, w.Root.WriteDisposition, err)
		}
	}
	return nil
}

// family is a root table and its descendants, parents before children.
func (p *Package) family(root string) []*normalize.Table {
	in := map[string]bool{root: true}
	var out []*normalize.Table
	for _, t := range p.Schema.Tables {
		if t.Name == root || (t.Parent != "" && in[t.Parent]) {
			in[t.Name] = true
			out = append(out, t)
		}
	}
	return out
}

// Add records what a commit did to a table (a table with zero counts is
// still listed: the commit looked at it).
func (s *CommitStats) Add(table string, inserted, deleted int64) {
	if s.Tables == nil {
		s.Tables = map[string]TableStats{}
	}
	ts := s.Tables[table]
	ts.Inserted += inserted
	ts.Deleted += deleted
	s.Tables[table] = ts
}
