// Package datasettest writes small DuckDB files laid out as dlt lays out a
// loaded dataset, for tests of anything that reads one.
package datasettest

import (
	"bytes"
	"compress/zlib"
	"context"
	"database/sql"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver
)

// Dataset is the schema the fixture writes; the load ids and times below
// are what its _dlt_loads holds (pipelines come from LoadA, builds from LoadB).
const (
	Dataset  = "codefresh_data"
	LoadA    = "1704067200.000001"
	LoadB    = "1704153600.000002"
	LoadATS  = "2024-01-01T00:00:00Z"
	LoadBTS  = "2024-01-02T00:00:00Z"
	Pipeline = "codefresh_pipeline"
)

// StateV2 is the newest state of Pipeline; LegacyState is what the
// "legacy_pipeline" holds, stored compressed as dlt does.
const (
	StateV2     = `{"sources":{"codefresh":{"resources":{"builds":{"incremental":{"created":{"last_value":"2024-01-02T00:00:00Z"}}}}}}}`
	LegacyState = `{"_state_version":1,"pipeline_name":"legacy_pipeline"}`
)

// schemaJSON is a dlt stored schema: tables and columns keyed by name; the
// grandchild table has no "parent" so readers must infer it from its name.
const schemaJSON = `{"version":2,"engine_version":10,"name":"codefresh","tables":{
 "pipelines":{"name":"pipelines","columns":{"id":{"name":"id","data_type":"text","nullable":false,"primary_key":true},"name":{"name":"name","data_type":"text"}}},
 "builds":{"name":"builds","columns":{"id":{"name":"id","data_type":"text","nullable":false,"primary_key":true}}},
 "builds__annotations":{"name":"builds__annotations","parent":"builds","columns":{"key":{"name":"key","data_type":"text"}}}
}}`

// Write creates a dlt-shaped DuckDB file at path with plain SQL and closes it.
func Write(t testing.TB, path string) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatalf("open fixture %s: %v", path, err)
	}
	defer db.Close()
	stmts := []string{
		`CREATE SCHEMA codefresh_data`,
		`CREATE TABLE codefresh_data._dlt_loads(load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL, inserted_at TIMESTAMPTZ NOT NULL, schema_version_hash VARCHAR)`,
		`CREATE TABLE codefresh_data._dlt_pipeline_state(version BIGINT NOT NULL, engine_version BIGINT NOT NULL, pipeline_name VARCHAR NOT NULL, state VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, version_hash VARCHAR, _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)`,
		`CREATE TABLE codefresh_data._dlt_version(version BIGINT NOT NULL, engine_version BIGINT NOT NULL, inserted_at TIMESTAMPTZ NOT NULL, schema_name VARCHAR NOT NULL, version_hash VARCHAR NOT NULL, schema VARCHAR NOT NULL)`,
		`CREATE TABLE codefresh_data.pipelines(id VARCHAR NOT NULL, name VARCHAR, created TIMESTAMPTZ, metadata__project VARCHAR, _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)`,
		`CREATE TABLE codefresh_data.builds(id VARCHAR NOT NULL, status VARCHAR, pipeline_id VARCHAR, created TIMESTAMPTZ, progress DOUBLE, _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)`,
		`CREATE TABLE codefresh_data.builds__annotations(key VARCHAR, value VARCHAR, _dlt_parent_id VARCHAR NOT NULL, _dlt_list_idx BIGINT NOT NULL, _dlt_root_id VARCHAR, _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)`,
		`CREATE TABLE codefresh_data.builds__annotations__values(value VARCHAR, _dlt_parent_id VARCHAR NOT NULL, _dlt_list_idx BIGINT NOT NULL, _dlt_root_id VARCHAR, _dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)`,

		`INSERT INTO codefresh_data._dlt_loads VALUES ('` + LoadA + `', 'codefresh', 0, '` + LoadATS + `', 'hash1'), ('` + LoadB + `', 'codefresh', 0, '` + LoadBTS + `', 'hash2')`,
		`INSERT INTO codefresh_data._dlt_version VALUES (1, 10, '` + LoadATS + `', 'codefresh', 'hash1', '{"version":1,"tables":{}}'), (2, 10, '` + LoadBTS + `', 'codefresh', 'hash2', '` + strings.ReplaceAll(schemaJSON, "\n", "") + `')`,
		`INSERT INTO codefresh_data._dlt_pipeline_state VALUES
		 (1, 4, '` + Pipeline + `', '{"sources":{}}', '` + LoadATS + `', 'v1', '` + LoadA + `', 's1'),
		 (2, 4, '` + Pipeline + `', '` + StateV2 + `', '` + LoadBTS + `', 'v2', '` + LoadB + `', 's2'),
		 (1, 4, 'legacy_pipeline', '` + compress(LegacyState) + `', '` + LoadATS + `', 'v1', '` + LoadA + `', 's3')`,
		`INSERT INTO codefresh_data.pipelines VALUES
		 ('p1', 'build-api', '2023-12-01T10:00:00Z', 'api', '` + LoadA + `', 'dp1'),
		 ('p2', 'deploy-web', '2023-12-02T10:00:00Z', 'web', '` + LoadA + `', 'dp2')`,
		`INSERT INTO codefresh_data.builds VALUES
		 ('b1', 'success', 'p1', '2024-01-01T12:00:00Z', 1.0, '` + LoadB + `', 'db1'),
		 ('b2', 'error', 'p1', '2024-01-01T13:00:00Z', 0.5, '` + LoadB + `', 'db2'),
		 ('b3', 'success', 'p2', '2024-01-01T14:00:00Z', 1.0, '` + LoadB + `', 'db3')`,
		`INSERT INTO codefresh_data.builds__annotations VALUES
		 ('team', 'core', 'db1', 0, 'db1', '` + LoadB + `', 'da1'),
		 ('env', 'prod', 'db1', 1, 'db1', '` + LoadB + `', 'da2')`,
		`INSERT INTO codefresh_data.builds__annotations__values VALUES ('x', 'da1', 0, 'db1', '` + LoadB + `', 'dv1')`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("fixture %s: %v\n%s", path, err, s)
		}
	}
}

// compress stores a state the way dlt does: base64 of zlib of the JSON.
func compress(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// NewFile writes the fixture in a fresh folder of t and returns its path.
func NewFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "codefresh.duckdb")
	Write(t, path)
	return path
}

// WorkerCommand runs query workers as the test binary itself, with
// DATASET_TEST_WORKER=mode telling its TestMain what to be.
func WorkerCommand(mode string) func(ctx context.Context) *exec.Cmd {
	return func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "DATASET_TEST_WORKER="+mode)
		return cmd
	}
}
