package duckdb

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
)

// The tables a query reads: dataset tables named with or without the
// schema, views of another schema (the CI views) followed to the tables
// their definitions read, a CTE name followed to what it reads; NoProvenance skips it all.
func TestQueryNamesTheTablesItReads(t *testing.T) {
	path := datasettest.NewFile(t)
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE SCHEMA codefresh_data_ci`,
		`CREATE VIEW codefresh_data_ci.builds AS SELECT b.id, p.name AS pipeline FROM codefresh_data.builds b LEFT JOIN codefresh_data.pipelines p ON p.id = b.pipeline_id`,
		`CREATE VIEW codefresh_data_ci.daily AS SELECT pipeline, count(*) AS n FROM codefresh_data_ci.builds GROUP BY 1`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	r := openReader(t, path)
	for q, want := range map[string]string{
		"SELECT count(*) FROM builds": "builds",
		"SELECT * FROM codefresh_data.builds__annotations a JOIN pipelines p ON true": "builds__annotations,pipelines",
		"SELECT * FROM codefresh_data_ci.daily":                                       "builds,pipelines",
		"WITH recent AS (SELECT id FROM builds) SELECT * FROM recent":                 "builds",
		"SELECT count(*) FROM codefresh_data._dlt_loads":                              "_dlt_loads",
	} {
		res := mustQuery(t, r, q, dataset.QueryOptions{})
		if got := strings.Join(res.TablesRead, ","); got != want {
			t.Errorf("%s: tables read %q, want %q", q, got, want)
		}
	}
	res := mustQuery(t, r, "SELECT count(*) FROM builds", dataset.QueryOptions{NoProvenance: true})
	if res.TablesRead != nil || res.Provenance != nil {
		t.Errorf("NoProvenance: tables %v, provenance %v", res.TablesRead, res.Provenance)
	}
}
