package pipeline

// ConfigFile is the project's pipeline file name.
const ConfigFile = "codefresh_pipeline.toml"

// Config is the project's pipeline file. Every field is optional: an empty
// file, or none, loads the catalog's default resources into DuckDB.
type Config struct {
	PipelineName string                    `toml:"pipeline_name,omitempty" json:"pipeline_name,omitempty" jsonschema:"description=Pipeline name (default codefresh_pipeline)"`
	DatasetName  string                    `toml:"dataset_name,omitempty" json:"dataset_name,omitempty" jsonschema:"description=Dataset (database schema) name (default codefresh_data)"`
	BaseURL      string                    `toml:"base_url,omitempty" json:"base_url,omitempty" jsonschema:"description=Codefresh API base URL (default https://g.codefresh.io/api)"`
	Destination  DestinationConfig         `toml:"destination,omitempty" json:"destination,omitempty" jsonschema:"description=Where loads go"`
	Incremental  IncrementalConfig         `toml:"incremental,omitempty" json:"incremental,omitempty" jsonschema:"description=Incremental loading of builds"`
	Resources    map[string]ResourceConfig `toml:"resources,omitempty" json:"resources,omitempty" jsonschema:"description=Per-resource overrides keyed by catalog resource name"`
}

// DestinationConfig names the destination and where it is.
type DestinationConfig struct {
	Type string `toml:"type,omitempty" json:"type,omitempty" jsonschema:"enum=duckdb,enum=postgres,enum=parquet,description=Destination kind (default duckdb)"`
	// Path is the DuckDB file or the Parquet folder, relative to the project folder.
	Path string `toml:"path,omitempty" json:"path,omitempty" jsonschema:"description=DuckDB file or Parquet folder relative to the project (default codefresh.duckdb or codefresh_data)"`
	// PostgreSQL connection without the password (resolved like the API key).
	Host     string `toml:"host,omitempty" json:"host,omitempty" jsonschema:"description=PostgreSQL host"`
	Port     int    `toml:"port,omitempty" json:"port,omitempty" jsonschema:"description=PostgreSQL port"`
	Database string `toml:"database,omitempty" json:"database,omitempty" jsonschema:"description=PostgreSQL database"`
	User     string `toml:"user,omitempty" json:"user,omitempty" jsonschema:"description=PostgreSQL user"`
	SSLMode  string `toml:"sslmode,omitempty" json:"sslmode,omitempty" jsonschema:"description=PostgreSQL sslmode"`
}

// IncrementalConfig tunes incremental builds.
type IncrementalConfig struct {
	Lookback string `toml:"lookback,omitempty" json:"lookback,omitempty" jsonschema:"description=How far before the last loaded build to look again as a Go duration (default 24h)"`
}

// ResourceConfig overrides one catalog resource.
type ResourceConfig struct {
	Enabled          *bool             `toml:"enabled,omitempty" json:"enabled,omitempty" jsonschema:"description=Load this resource (default: the catalog's default set)"`
	Required         bool              `toml:"required,omitempty" json:"required,omitempty" jsonschema:"description=Fail the load when this resource cannot be read (403/404) instead of skipping it"`
	WriteDisposition string            `toml:"write_disposition,omitempty" json:"write_disposition,omitempty" jsonschema:"enum=replace,enum=append,enum=merge,description=How rows are written (default from the catalog)"`
	Params           map[string]string `toml:"params,omitempty" json:"params,omitempty" jsonschema:"description=Extra query parameters such as status or pipeline"`
	InitialValue     string            `toml:"initial_value,omitempty" json:"initial_value,omitempty" jsonschema:"description=Start of the incremental cursor for the first load (YYYY-MM-DD)"`
	PageSize         int               `toml:"page_size,omitempty" json:"page_size,omitempty" jsonschema:"description=Records per request (default from the catalog)"`
}
