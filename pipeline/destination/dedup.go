package destination

import (
	"context"
	"fmt"
	"slices"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Duplicates are the rows of one root table that a load dropped because a
// later row of the same load had the same primary key.
type Duplicates struct {
	Table string   // the root table (named as its resource)
	Keys  []string // its primary-key columns
	Rows  int64    // root rows dropped (their child rows went with them)
}

// Dedup keeps one row per primary key in the staged rows of every write of
// the package (Plan), whatever its disposition: the last one written, with
// its child rows. A listing that shifts while it is read hands a record over
// twice, and no destination may then hold the key twice. Done on the stage,
// once, every destination commits the same rows. A root without primary key
// columns among its staged columns is left as it is.
func (p *Package) Dedup(ctx context.Context) ([]Duplicates, error) {
	if p.Stage == nil {
		return nil, nil
	}
	writes, err := p.Plan()
	if err != nil {
		return nil, err
	}
	var out []Duplicates
	for _, w := range writes {
		keys := p.stagedKeys(w.Root)
		if len(keys) == 0 {
			continue
		}
		var children []string
		for _, t := range w.Tables[1:] {
			if slices.ContainsFunc(p.Staged(t.Name), func(c *normalize.Column) bool { return c.Name == normalize.ColRootID }) {
				children = append(children, t.Name)
			}
		}
		n, err := p.Stage.Dedup(ctx, w.Root.Name, keys, children)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", w.Root.Name, err)
		}
		if n > 0 {
			out = append(out, Duplicates{Table: w.Root.Name, Keys: keys, Rows: n})
		}
	}
	return out, nil
}

// stagedKeys are the root's primary-key columns, in table order, when every
// one of them (and _dlt_id) was staged; nil otherwise.
func (p *Package) stagedKeys(root *normalize.Table) []string {
	staged := p.Staged(root.Name)
	has := func(name string) bool {
		return slices.ContainsFunc(staged, func(c *normalize.Column) bool { return c.Name == name })
	}
	if !has(normalize.ColID) {
		return nil
	}
	var keys []string
	for _, c := range root.Columns {
		if !c.PrimaryKey {
			continue
		}
		if !has(c.Name) {
			return nil
		}
		keys = append(keys, c.Name)
	}
	return keys
}
