package destination

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// DefaultDataset is dlt's default dataset name for our pipeline.
const DefaultDataset = "codefresh_data"

// System tables, named and laid out as dlt lays them out
// (dlt/common/schema/utils.py: version_table, loads_table, pipeline_state_table).
const (
	LoadsTable   = "_dlt_loads"
	StateTable   = "_dlt_pipeline_state"
	VersionTable = "_dlt_version"
)

const (
	// LoadStatusDone is dlt's status of a completed load.
	LoadStatusDone = 0
	// Format versions of what we write to _dlt_version.schema and
	// _dlt_pipeline_state.state (our JSON layouts, not dlt's engines).
	SchemaEngineVersion = 1
	StateEngineVersion  = 1
)

// SystemTables are the definitions of the three system tables, in the
// order they are created; each call returns fresh values.
func SystemTables() []*normalize.Table {
	col := func(name string, t normalize.DataType, nullable bool) *normalize.Column {
		return &normalize.Column{Name: name, DataType: t, Nullable: nullable}
	}
	return []*normalize.Table{
		{Name: LoadsTable, Columns: []*normalize.Column{
			col("load_id", normalize.Text, false), col("schema_name", normalize.Text, true),
			col("status", normalize.Bigint, false), col("inserted_at", normalize.Timestamp, false),
			col("schema_version_hash", normalize.Text, true),
		}},
		{Name: StateTable, Columns: []*normalize.Column{
			col("version", normalize.Bigint, false), col("engine_version", normalize.Bigint, false),
			col("pipeline_name", normalize.Text, false), col("state", normalize.Text, false),
			col("created_at", normalize.Timestamp, false), col("version_hash", normalize.Text, true),
			col("_dlt_load_id", normalize.Text, false), col("_dlt_id", normalize.Text, false),
		}},
		{Name: VersionTable, Columns: []*normalize.Column{
			col("version", normalize.Bigint, false), col("engine_version", normalize.Bigint, false),
			col("inserted_at", normalize.Timestamp, false), col("schema_name", normalize.Text, false),
			col("version_hash", normalize.Text, false), col("schema", normalize.Text, false),
		}},
	}
}

// SchemaHash is the schema's own hash, or one of its tables when unset.
func SchemaHash(s *normalize.Schema) (string, error) {
	if s.VersionHash != "" {
		return s.VersionHash, nil
	}
	b, err := json.Marshal(s.Tables)
	if err != nil {
		return "", fmt.Errorf("hash schema: %w", err)
	}
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// StateHash is the version_hash of a pipeline state: a state row is written
// only when it differs from the last one's.
func StateHash(state json.RawMessage) string {
	sum := sha256.Sum256(state)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// HasState tells whether the package carries a state to record.
func (p *Package) HasState() bool {
	return len(p.State) > 0 && string(p.State) != "null"
}

// NewRowID is a random _dlt_id like dlt's (14 url-safe characters).
func NewRowID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NoRowIsNil is err from scanning a database/sql row, with no row not an
// error: the value scanned into stays nil.
func NoRowIsNil(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// DecodeState is LastState's answer for a stored state text (nil: there is
// none); kind and where name the destination in the error.
func DecodeState(kind, where, pipelineName string, text *string) (json.RawMessage, error) {
	if text == nil {
		return nil, nil
	}
	if !json.Valid([]byte(*text)) {
		return nil, fmt.Errorf("%s: state of pipeline %s in %s is not JSON", kind, pipelineName, where)
	}
	return json.RawMessage(*text), nil
}

// DecodeSchema is StoredSchema's answer for a stored schema text (nil:
// there is none); kind and where name the destination in the error.
func DecodeSchema(kind, where, schemaName string, text *string) (*normalize.Schema, error) {
	if text == nil {
		return nil, nil
	}
	var s normalize.Schema
	if err := json.Unmarshal([]byte(*text), &s); err != nil {
		return nil, fmt.Errorf("%s: schema %s in %s: %w", kind, schemaName, where, err)
	}
	return &s, nil
}
