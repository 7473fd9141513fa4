// Package normalize turns JSON records into relational rows the way dlt does:
// nested objects flatten to a__b columns, nested lists become child tables.
//
// It follows dlt's relational normalizer, snake_case naming, type detection
// (iso_timestamp) and coerce_row rules, with these deliberate differences:
//   - every row, not only root rows, carries _dlt_load_id, and every child
//     row carries _dlt_root_id (dlt adds it only for merge tables): extra
//     columns, so SQL written for dlt's layout still runs;
//   - input maps have no key order, so where dlt's result depends on it
//     (two keys normalizing to one name, the order of new columns) keys
//     are taken in sorted order;
//   - integers beyond int64 are typed text (dlt would need its optional
//     "wei" type); there are no date, time, decimal or binary types.
package normalize

import (
	"cmp"
	"crypto/sha3"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sync"
)

// DataType is a column type, named as dlt names it.
type DataType string

const (
	Bigint    DataType = "bigint"
	Double    DataType = "double"
	Bool      DataType = "bool"
	Timestamp DataType = "timestamp" // timestamp with time zone
	Text      DataType = "text"
	JSON      DataType = "json" // what cannot be typed (dlt's "json", formerly "complex")
)

// dlt's system columns.
const (
	ColLoadID   = "_dlt_load_id"   // text: the load that wrote the row
	ColID       = "_dlt_id"        // text: unique row key
	ColParentID = "_dlt_parent_id" // text: child rows, the parent row's _dlt_id
	ColListIdx  = "_dlt_list_idx"  // bigint: child rows, position in the source list
	ColRootID   = "_dlt_root_id"   // text: child rows, the root row's _dlt_id
	ColValue    = "value"          // the column of a child table made from a list of scalars
)

// Write dispositions, as dlt names them.
const (
	Append  = "append"
	Replace = "replace"
	Merge   = "merge"
)

// Column is one column of a table. Row values use these Go types:
// bigint int64, double float64, bool bool, timestamp time.Time (UTC),
// text string, json string (JSON text); nil for NULL.
type Column struct {
	Name       string   `json:"name"`
	DataType   DataType `json:"data_type"`
	Nullable   bool     `json:"nullable"`
	PrimaryKey bool     `json:"primary_key,omitempty"`
	// VariantOf names the column this one is a type variant of (col__v_text of col).
	VariantOf string `json:"variant_of,omitempty"`
	// dlt's hints on system columns: _dlt_id is the unique row key,
	// _dlt_parent_id the parent key, _dlt_root_id the root key.
	Unique    bool `json:"unique,omitempty"`
	RowKey    bool `json:"row_key,omitempty"`
	ParentKey bool `json:"parent_key,omitempty"`
	RootKey   bool `json:"root_key,omitempty"`
}

// Table is a table of the schema: a resource's root table or a child table.
type Table struct {
	Name             string    `json:"name"`
	Parent           string    `json:"parent,omitempty"`   // child tables: the parent table
	Resource         string    `json:"resource,omitempty"` // the catalog resource it came from
	WriteDisposition string    `json:"write_disposition"`
	Columns          []*Column `json:"columns"` // in creation order; rows align with it
	// PrimaryKey names the (normalized) primary key columns of a root
	// table; a column gets PrimaryKey set when it is created.
	PrimaryKey []string `json:"primary_key,omitempty"`

	index map[string]int // column name -> position in Columns
}

// Schema is the set of tables a pipeline has created, with a version that
// bumps whenever a table or column is added.
//
// A Schema is safe for concurrent use by its methods and by Normalizers
// (each Normalize call holds the schema for the record). Reading the
// exported fields, or Table and Column values, while a Normalizer runs on
// the schema is a data race: take a Clone.
type Schema struct {
	Name        string   `json:"name"`
	Version     int      `json:"version"`
	VersionHash string   `json:"version_hash"`
	Tables      []*Table `json:"tables"` // in creation order: parents before children

	mu     sync.Mutex
	byName map[string]*Table
}

// Sink receives normalized rows. row is aligned with t.Columns as they are at
// the time of the call (a later call may carry more columns). row belongs to
// the normalizer and is reused after Write returns: copy what you keep.
// Write is called while the schema is held, so it must not call Schema
// methods.
type Sink interface {
	Write(t *Table, row []any) error
}

// NewSchema returns an empty schema at version 1.
func NewSchema(name string) *Schema {
	s := &Schema{Name: name, Tables: []*Table{}, byName: map[string]*Table{}}
	s.Version = 1
	s.VersionHash = s.computeHash()
	return s
}

// UnmarshalJSON restores a stored schema, rebuilding its lookups.
func (s *Schema) UnmarshalJSON(b []byte) error {
	type plain Schema // no methods: no recursion
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := json.Unmarshal(b, (*plain)(s)); err != nil {
		return err
	}
	if s.Tables == nil {
		s.Tables = []*Table{}
	}
	s.byName = nil
	for _, t := range s.Tables {
		t.index = nil
	}
	return nil
}

// Table returns the table with the given (normalized) name, or nil.
func (s *Schema) Table(name string) *Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.table(name)
}

func (s *Schema) table(name string) *Table {
	if s.byName == nil || len(s.byName) != len(s.Tables) {
		s.byName = make(map[string]*Table, len(s.Tables))
		for _, t := range s.Tables {
			s.byName[t.Name] = t
		}
	}
	return s.byName[name]
}

// EnsureRoot returns the root table for a resource, creating it with dlt's
// system columns (_dlt_load_id, _dlt_id) when missing. name is normalized
// (e.g. "pipelineNames" -> "pipeline_names"); so are the primary key
// names. On an existing table a changed resource, write disposition or
// primary key is updated (dispositions also on its child tables). An empty
// disposition means "append".
func (s *Schema) EnsureRoot(name, resource, disposition string, primaryKey []string) *Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = normalizeKey(name, DefaultMaxIdentifierLength)
	if disposition == "" {
		disposition = Append
	}
	var pk []string
	for _, k := range primaryKey {
		pk = append(pk, normalizeKey(k, DefaultMaxIdentifierLength))
	}
	t := s.table(name)
	if t == nil {
		t = &Table{Name: name, Resource: resource, WriteDisposition: disposition, PrimaryKey: pk}
		s.addTable(t)
		s.addColumn(t, systemColumn(ColLoadID))
		s.addColumn(t, systemColumn(ColID))
		s.bump()
		return t
	}
	changed := false
	if resource != "" && t.Resource != resource {
		t.Resource, changed = resource, true
	}
	if t.WriteDisposition != disposition {
		for _, d := range append([]*Table{t}, s.descendants(t.Name)...) {
			d.WriteDisposition = disposition
		}
		changed = true
	}
	if !slices.Equal(t.PrimaryKey, pk) {
		t.PrimaryKey = pk
		for _, c := range t.Columns {
			c.PrimaryKey = slices.Contains(pk, c.Name)
			if c.PrimaryKey {
				c.Nullable = false
			}
		}
		changed = true
	}
	if changed {
		s.bump()
	}
	return t
}

// Children are the direct child tables of table, in creation order.
func (s *Schema) Children(table string) []*Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Table
	for _, t := range s.Tables {
		if t.Parent == table && table != "" {
			out = append(out, t)
		}
	}
	return out
}

// Descendants are all tables nested under table (children, their
// children...), parents before children.
func (s *Schema) Descendants(table string) []*Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.descendants(table)
}

func (s *Schema) descendants(table string) []*Table {
	in := map[string]bool{table: true}
	var out []*Table
	for _, t := range s.Tables { // creation order puts parents first
		if t.Parent != "" && in[t.Parent] {
			in[t.Name] = true
			out = append(out, t)
		}
	}
	return out
}

// RootOf returns the root table of table's chain (table itself for a root
// table), or nil if table is unknown.
func (s *Schema) RootOf(table string) *Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(table)
	for t != nil && t.Parent != "" {
		t = s.table(t.Parent)
	}
	return t
}

// RootTables are the tables that are not nested, in creation order.
func (s *Schema) RootTables() []*Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Table
	for _, t := range s.Tables {
		if t.Parent == "" {
			out = append(out, t)
		}
	}
	return out
}

// Clone returns a deep copy that shares nothing with s.
func (s *Schema) Clone() *Schema {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Schema{Name: s.Name, Version: s.Version, VersionHash: s.VersionHash, Tables: make([]*Table, len(s.Tables))}
	for i, t := range s.Tables {
		c.Tables[i] = t.clone()
	}
	return c
}

// Verify reports whether VersionHash matches the content (false for a
// stored schema that was edited by hand or corrupted).
func (s *Schema) Verify() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.VersionHash == s.computeHash()
}

// IsRoot reports whether t is a resource's root table.
func (t *Table) IsRoot() bool { return t.Parent == "" }

// Column returns the column with the given name, or nil.
func (t *Table) Column(name string) *Column {
	if i, ok := t.columnIndex(name); ok {
		return t.Columns[i]
	}
	return nil
}

// ColumnNames are the names of t's columns in order.
func (t *Table) ColumnNames() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

func (t *Table) columnIndex(name string) (int, bool) {
	if t.index == nil || len(t.index) != len(t.Columns) {
		t.index = make(map[string]int, len(t.Columns))
		for i, c := range t.Columns {
			t.index[c.Name] = i
		}
	}
	i, ok := t.index[name]
	return i, ok
}

func (t *Table) clone() *Table {
	c := *t
	c.index = nil
	c.PrimaryKey = slices.Clone(t.PrimaryKey)
	c.Columns = make([]*Column, len(t.Columns))
	for i, col := range t.Columns {
		cc := *col
		c.Columns[i] = &cc
	}
	return &c
}

// addTable appends t; the caller holds s.mu and bumps the version.
func (s *Schema) addTable(t *Table) {
	s.table(t.Name) // make sure the index is current before growing it
	s.Tables = append(s.Tables, t)
	s.byName[t.Name] = t
}

// addColumn appends c to t and returns its position; the caller holds s.mu
// and bumps the version.
func (s *Schema) addColumn(t *Table, c *Column) int {
	if slices.Contains(t.PrimaryKey, c.Name) {
		c.PrimaryKey, c.Nullable = true, false
	}
	t.columnIndex(c.Name) // make sure the index is current before growing it
	t.Columns = append(t.Columns, c)
	t.index[c.Name] = len(t.Columns) - 1
	return len(t.Columns) - 1
}

// bump moves to the next version after a change.
func (s *Schema) bump() {
	s.Version++
	s.VersionHash = s.computeHash()
}

// computeHash is a content hash in the spirit of dlt's version_hash:
// SHA3-256 over the schema without its version fields, tables in name
// order (creation order is not content) and columns in their order (it
// is: rows align with it), base64-encoded.
func (s *Schema) computeHash() string {
	tables := slices.Clone(s.Tables)
	slices.SortFunc(tables, func(a, b *Table) int { return cmp.Compare(a.Name, b.Name) })
	content, err := json.Marshal(struct {
		Name   string   `json:"name"`
		Tables []*Table `json:"tables"`
	}{s.Name, tables})
	if err != nil { // plain strings and bools cannot fail to encode
		panic("normalize: encode schema: " + err.Error())
	}
	sum := sha3.Sum256(content)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// systemColumn is the definition of one of dlt's system columns.
func systemColumn(name string) *Column {
	c := &Column{Name: name, DataType: Text}
	switch name {
	case ColID:
		c.Unique, c.RowKey = true, true
	case ColParentID:
		c.ParentKey = true
	case ColListIdx:
		c.DataType = Bigint
	case ColRootID:
		c.RootKey = true
	}
	return c
}
