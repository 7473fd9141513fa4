package dataset

import (
	"context"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
)

// SchemaCatalog is a Catalog that also reads schemas beside the dataset's:
// the CI views live in <dataset>_ci (package civiews).
type SchemaCatalog interface {
	Catalog
	// Relations lists the tables and views of schema and their columns.
	Relations(ctx context.Context, schema string) (names []string, cols map[string][]ColumnInfo, err error)
	// Count counts the rows of schema.table.
	Count(ctx context.Context, schema, table string) (int64, error)
}

// ViewSummary is one CI view in Info: where it is and what it holds.
type ViewSummary struct {
	Name        string `json:"name"` // qualified: codefresh_data_ci.builds
	Columns     int    `json:"columns"`
	Description string `json:"description"`
}

// readViews lists the CI views the dataset has (none before a load made them).
func readViews(ctx context.Context, s Catalog, dataset string) ([]ViewSummary, error) {
	sc, ok := s.(SchemaCatalog)
	if !ok {
		return nil, nil
	}
	schema := civiews.Schema(dataset)
	_, cols, err := sc.Relations(ctx, schema)
	if err != nil {
		return nil, err
	}
	var out []ViewSummary
	for _, v := range civiews.Views() {
		if _, ok := cols[v.Name]; !ok {
			continue
		}
		out = append(out, ViewSummary{Name: schema + "." + v.Name, Columns: len(cols[v.Name]), Description: v.Description})
	}
	return out, nil
}

// ciViewName tells whether table names a CI view: "<dataset>_ci.builds"
// (quoted or not), or a bare view name no dataset table has.
func ciViewName(table, dataset string, tables map[string][]ColumnInfo) (string, bool) {
	parts := strings.Split(strings.TrimSpace(table), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"`)
	}
	switch {
	case len(parts) == 2 && parts[0] == civiews.Schema(dataset):
		return parts[1], true
	case len(parts) == 1:
		if _, isTable := tables[parts[0]]; isTable {
			return "", false
		}
		if _, ok := civiews.Lookup(parts[0]); ok {
			return parts[0], true
		}
	}
	return "", false
}

// describeView tells one CI view: its columns with their documentation and
// its row count.
func describeView(ctx context.Context, s Catalog, dataset, view, asked string) (*TableInfo, error) {
	schema := civiews.Schema(dataset)
	sc, ok := s.(SchemaCatalog)
	doc, known := civiews.Lookup(view)
	if !ok || !known {
		return nil, &TableNotFoundError{Table: asked, Dataset: schema, Known: viewNames()}
	}
	_, cols, err := sc.Relations(ctx, schema)
	if err != nil {
		return nil, err
	}
	columns, ok := cols[view]
	if !ok {
		return nil, &TableNotFoundError{Table: asked, Dataset: schema, Known: nil}
	}
	n, err := sc.Count(ctx, schema, view)
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	for _, c := range doc.Columns {
		docs[c.Name] = c.Doc
	}
	ti := &TableInfo{Name: view, Dataset: schema, Rows: n, View: true, Description: doc.Description}
	for _, c := range columns {
		c.Doc = docs[c.Name]
		ti.Columns = append(ti.Columns, c)
	}
	return ti, nil
}

func viewNames() []string {
	var out []string
	for _, v := range civiews.Views() {
		out = append(out, v.Name)
	}
	return out
}
