package explain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// internalCaps bound the reads this package makes: its own statements over
// a few tables, larger than an agent's caps because the answer is cut later.
var internalCaps = dataset.QueryOptions{MaxRows: 20000, MaxBytes: 16 << 20, MaxStringLen: 4000}

// table is one dataset table as this package reads it: present or not, and
// which columns it has (a column no load has seen yet reads as NULL).
type table struct {
	name    string
	present bool
	cols    map[string]bool
}

// describe looks table up; an absent table is not an error.
func (e *Explainer) describe(ctx context.Context, name string) (table, error) {
	t := table{name: name, cols: map[string]bool{}}
	ti, err := e.Reader.Describe(ctx, name)
	var nf *dataset.TableNotFoundError
	switch {
	case errors.As(err, &nf):
		return t, nil
	case err != nil:
		return t, fmt.Errorf("describe %s: %w", name, err)
	}
	t.present = true
	for _, c := range ti.Columns {
		t.cols[c.Name] = true
	}
	return t, nil
}

// ref is the table's qualified, quoted name.
func (e *Explainer) ref(t table) string {
	return dataset.QuoteIdent(e.Dataset) + "." + dataset.QuoteIdent(t.name)
}

// col is a column of t as a select expression, NULL when t lacks it; alias
// names it (a table alias prefix such as "b.") when not empty.
func (t table) col(name, alias string) string {
	if t.cols[name] {
		return alias + dataset.QuoteIdent(name)
	}
	return "NULL"
}

func (e *Explainer) query(ctx context.Context, what, sql string) (*dataset.Result, error) {
	res, err := e.Reader.Query(ctx, sql, internalCaps)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if res.Truncated {
		return nil, fmt.Errorf("read %s: more rows than %d", what, internalCaps.MaxRows)
	}
	return res, nil
}

func literal(s string) string { return dataset.QuoteLiteral(s) }

func str(v any) string { return dataset.CellString(v) }

func num(v any) (int64, bool) { return dataset.CellInt(v) }

func stamp(v any) *time.Time {
	t, ok := dataset.CellTime(v)
	if !ok {
		return nil
	}
	return &t
}

// seconds is b - a in seconds, nil unless both are known and b is not before a.
func seconds(a, b *time.Time) *float64 {
	if a == nil || b == nil || b.Before(*a) {
		return nil
	}
	s := float64(b.Sub(*a).Milliseconds()) / 1000
	return &s
}
