// Package normalize turns JSON records into relational rows the way dlt does:
// nested objects flatten to a__b columns, nested lists become child tables.
package normalize

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
}

// Table is a table of the schema: a resource's root table or a child table.
type Table struct {
	Name             string    `json:"name"`
	Parent           string    `json:"parent,omitempty"`   // child tables: the parent table
	Resource         string    `json:"resource,omitempty"` // the catalog resource it came from
	WriteDisposition string    `json:"write_disposition"`
	Columns          []*Column `json:"columns"` // in creation order; rows align with it
}

// Schema is the set of tables a pipeline has created, with a version that
// bumps whenever a table or column is added.
type Schema struct {
	Name        string   `json:"name"`
	Version     int      `json:"version"`
	VersionHash string   `json:"version_hash"`
	Tables      []*Table `json:"tables"` // in creation order: parents before children
}

// Sink receives normalized rows. row is aligned with t.Columns as they are at
// the time of the call (a later call may carry more columns).
type Sink interface {
	Write(t *Table, row []any) error
}
