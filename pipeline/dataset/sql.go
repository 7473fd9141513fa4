package dataset

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// What every engine's reader shares of SQL: dataset names, quoting, the
// walk over a syntax tree or plan, and the provenance caps.

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckName refuses a dataset name that is not a plain identifier: readers
// write it into SQL.
func CheckName(dataset string) error {
	if !identRe.MatchString(dataset) {
		return fmt.Errorf("dataset name %q: use letters, digits and underscores", dataset)
	}
	return nil
}

// sqlName writes a name bare when it can be, quoted otherwise.
func sqlName(name string) string {
	if identRe.MatchString(name) && strings.ToLower(name) == name {
		return name
	}
	return QuoteIdent(name)
}

// QuoteIdent quotes a name as a SQL identifier.
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Provenance caps: tables looked at per query, load ids listed per table.
const (
	ProvenanceTables = 20
	ProvenanceLoads  = 5
)

// ProvenanceTablesOf is which of the tables holding _dlt_load_id (loaded,
// in order) a query's provenance covers: those it read, at most
// ProvenanceTables.
func ProvenanceTablesOf(loaded, read []string) []string {
	var out []string
	for _, t := range loaded {
		if slices.Contains(read, t) {
			if out = append(out, t); len(out) == ProvenanceTables {
				break
			}
		}
	}
	return out
}

// ProvenanceQuery lists the newest loads (load_id, inserted_at; at most
// ProvenanceLoads) whose rows table of dataset holds.
func ProvenanceQuery(dataset, table string) string {
	ds := QuoteIdent(dataset)
	return fmt.Sprintf(`SELECT l.load_id, l.inserted_at FROM %s._dlt_loads l
		WHERE l.load_id IN (SELECT DISTINCT _dlt_load_id FROM %s.%s)
		ORDER BY l.inserted_at DESC, l.load_id DESC LIMIT %d`, ds, ds, QuoteIdent(table), ProvenanceLoads)
}

// WalkJSON calls fn on every object in a decoded JSON tree (a syntax tree
// or a query plan).
func WalkJSON(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, c := range x {
			WalkJSON(c, fn)
		}
	case []any:
		for _, c := range x {
			WalkJSON(c, fn)
		}
	}
}
