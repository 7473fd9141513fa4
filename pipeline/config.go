package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/invopop/jsonschema"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// ConfigFile is the project's pipeline file name.
const ConfigFile = "codefresh_pipeline.toml"

// Config is the project's pipeline file. Every field is optional: an empty
// file, or none, loads the catalog's default resources into DuckDB.
type Config struct {
	PipelineName string `toml:"pipeline_name,omitempty" json:"pipeline_name,omitempty" jsonschema:"description=Pipeline name (default codefresh_pipeline)"`
	DatasetName  string `toml:"dataset_name,omitempty" json:"dataset_name,omitempty" jsonschema:"description=Dataset (database schema) name (default codefresh_data)"`
	BaseURL      string `toml:"base_url,omitempty" json:"base_url,omitempty" jsonschema:"description=A request for a Codefresh API base URL: the key goes there only if it is the origin the key belongs to or the user allowed it with 'codefresh-mcp secrets trust-url URL' in their terminal. Only the user edits it"`
	// RequestsPerSecond paces every request to Codefresh (default 10); Concurrency
	// is how many run at once (default 4).
	RequestsPerSecond float64                   `toml:"requests_per_second,omitempty" json:"requests_per_second,omitempty" jsonschema:"minimum=0,description=Requests per second to the Codefresh API at most (default 10)"`
	Concurrency       int                       `toml:"concurrency,omitempty" json:"concurrency,omitempty" jsonschema:"minimum=0,maximum=32,description=Requests in flight at once: date windows of builds and detail records (default 4; at most 32)"`
	Destination       DestinationConfig         `toml:"destination,omitempty" json:"destination,omitempty" jsonschema:"description=Where loads go"`
	Incremental       IncrementalConfig         `toml:"incremental,omitempty" json:"incremental,omitempty" jsonschema:"description=Incremental loading of builds"`
	Resources         map[string]ResourceConfig `toml:"resources,omitempty" json:"resources,omitempty" jsonschema:"description=Per-resource overrides keyed by catalog resource name"`
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
	Required         bool              `toml:"required,omitempty" json:"required,omitempty" jsonschema:"description=Fail the whole load when this resource cannot be read (403/404 or an error after retries) instead of skipping it and committing the others"`
	WriteDisposition string            `toml:"write_disposition,omitempty" json:"write_disposition,omitempty" jsonschema:"enum=replace,enum=append,enum=merge,description=How rows are written (default from the catalog)"`
	Params           map[string]string `toml:"params,omitempty" json:"params,omitempty" jsonschema:"description=Extra query parameters such as status or pipeline"`
	InitialValue     string            `toml:"initial_value,omitempty" json:"initial_value,omitempty" jsonschema:"description=Start of the incremental cursor for the first load (YYYY-MM-DD)"`
	PageSize         int               `toml:"page_size,omitempty" json:"page_size,omitempty" jsonschema:"description=Records per request (default from the catalog)"`
}

// Defaults applied when the pipeline file leaves a field empty.
const (
	DefaultPipelineName = "codefresh_pipeline"
	DefaultDatasetName  = "codefresh_data"
	DefaultDuckDBFile   = "codefresh.duckdb"
	DefaultParquetDir   = "codefresh_parquet"
	DefaultLookback     = 24 * time.Hour
)

// ConfigError is a problem in the pipeline file, naming the key and line.
type ConfigError struct {
	File string
	Key  string
	Line int // 0 when unknown
	Msg  string
}

func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// LoadConfig reads dir/codefresh_pipeline.toml; a missing file is an empty config.
func LoadConfig(dir string) (Config, error) {
	var cfg Config
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("read pipeline file: %w", err)
	}
	return ParseConfig(ConfigFile, data)
}

// ParseConfig decodes and validates a pipeline file's text.
func ParseConfig(name string, data []byte) (Config, error) {
	var cfg Config
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return cfg, &ConfigError{File: name, Line: pe.Position.Line, Msg: pe.Message}
		}
		return cfg, &ConfigError{File: name, Msg: err.Error()}
	}
	if und := md.Undecoded(); len(und) > 0 {
		key := und[0].String()
		return cfg, &ConfigError{File: name, Key: key, Line: lineOfKey(data, und[0]), Msg: "unknown key (see `codefresh-mcp schema`)"}
	}
	if err := cfg.Validate(); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.File = name
			ce.Line = lineOfKey(data, strings.Split(ce.Key, "."))
		}
		return cfg, err
	}
	return cfg, nil
}

// lineOfKey finds the line that defines key: the last part as "k =" after the
// table header that holds it, or as a header itself. Good enough for messages.
func lineOfKey(data []byte, key []string) int {
	if len(key) == 0 {
		return 0
	}
	last := key[len(key)-1]
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		t = strings.TrimPrefix(t, "[")
		if strings.HasPrefix(t, last+" ") || strings.HasPrefix(t, last+"=") || strings.HasPrefix(t, `"`+last+`"`) ||
			strings.HasSuffix(strings.TrimSuffix(t, "]"), "."+last) || strings.Contains(t, " "+last+" =") || strings.Contains(t, "{"+last+" =") || strings.Contains(t, ", "+last+" =") {
			return i + 1
		}
	}
	return 0
}

// Validate checks values the TOML decoder cannot: names, enums, formats.
func (c *Config) Validate() error {
	if c.RequestsPerSecond < 0 {
		return &ConfigError{Key: "requests_per_second", Msg: "must not be negative"}
	}
	if c.Concurrency < 0 || c.Concurrency > 32 {
		return &ConfigError{Key: "concurrency", Msg: "use 1 to 32"}
	}
	switch c.Destination.Type {
	case "", "duckdb", "postgres", "parquet":
	default:
		return &ConfigError{Key: "destination.type", Msg: fmt.Sprintf("%q is not a destination: use duckdb, postgres or parquet", c.Destination.Type)}
	}
	if c.Incremental.Lookback != "" {
		if d, err := time.ParseDuration(c.Incremental.Lookback); err != nil || d < 0 {
			return &ConfigError{Key: "incremental.lookback", Msg: fmt.Sprintf("%q is not a duration such as 24h", c.Incremental.Lookback)}
		}
	}
	names := make([]string, 0, len(c.Resources))
	for n := range c.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		rc := c.Resources[name]
		key := "resources." + name
		r, ok := codefresh.Lookup(name)
		if !ok {
			return &ConfigError{Key: key, Msg: "no such resource (see `codefresh-mcp endpoints`)"}
		}
		switch rc.WriteDisposition {
		case "", codefresh.Replace, codefresh.Append:
		case codefresh.Merge:
			if len(r.PrimaryKey) == 0 {
				return &ConfigError{Key: key + ".write_disposition", Msg: "merge needs a primary key and " + name + " has none"}
			}
		default:
			return &ConfigError{Key: key + ".write_disposition", Msg: fmt.Sprintf("%q: use replace, append or merge", rc.WriteDisposition)}
		}
		if rc.InitialValue != "" {
			if _, err := time.Parse("2006-01-02", rc.InitialValue); err != nil {
				return &ConfigError{Key: key + ".initial_value", Msg: fmt.Sprintf("%q: use a date YYYY-MM-DD", rc.InitialValue)}
			}
			if r.IncrementalCursor == "" {
				return &ConfigError{Key: key + ".initial_value", Msg: name + " has no incremental cursor"}
			}
		}
		if rc.PageSize < 0 || rc.PageSize > 10000 {
			return &ConfigError{Key: key + ".page_size", Msg: "use 1 to 10000"}
		}
		for p := range rc.Params {
			if err := codefresh.CheckRequest(r.Path, url.Values{p: {"x"}}); err != nil {
				return &ConfigError{Key: key + ".params." + p, Msg: err.Error()}
			}
		}
	}
	return nil
}

// Pipeline, Dataset, DestinationType and DestinationPath give the effective values.
func (c *Config) Pipeline() string { return or(c.PipelineName, DefaultPipelineName) }
func (c *Config) Dataset() string  { return or(c.DatasetName, DefaultDatasetName) }
func (c *Config) DestinationType() string {
	return or(c.Destination.Type, "duckdb")
}

// DestinationPath is the DuckDB file or Parquet folder, absolute under dir.
func (c *Config) DestinationPath(dir string) string {
	p := c.Destination.Path
	if p == "" {
		p = DefaultDuckDBFile
		if c.DestinationType() == "parquet" {
			p = DefaultParquetDir
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Lookback is how far before the last loaded build an incremental run starts.
func (c *Config) Lookback() time.Duration {
	if d, err := time.ParseDuration(c.Incremental.Lookback); err == nil && c.Incremental.Lookback != "" {
		return d
	}
	return DefaultLookback
}

// EnabledResources lists the resources a load reads, in catalog order:
// the catalog's defaults plus what the file enables, minus what it disables.
func (c *Config) EnabledResources() []string {
	var out []string
	for _, r := range codefresh.Catalog() {
		on := r.Default
		if rc, ok := c.Resources[r.Name]; ok && rc.Enabled != nil {
			on = *rc.Enabled
		}
		if on {
			out = append(out, r.Name)
		}
	}
	return out
}

// Disposition is the write disposition of a resource: the file's, else the catalog's.
func (c *Config) Disposition(r codefresh.Resource) string {
	if d := c.Resources[r.Name].WriteDisposition; d != "" {
		return d
	}
	if r.WriteDisposition != "" {
		return r.WriteDisposition
	}
	return codefresh.Replace
}

// SaveConfig validates cfg and writes it to dir/codefresh_pipeline.toml.
func SaveConfig(dir string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# codefresh-mcp pipeline file; schema: `codefresh-mcp schema`\n")
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		return fmt.Errorf("encode pipeline file: %w", err)
	}
	path := filepath.Join(dir, ConfigFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write pipeline file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write pipeline file: %w", err)
	}
	return nil
}

// ConfigSchema is the JSON Schema of the pipeline file.
func ConfigSchema() ([]byte, error) {
	r := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, FieldNameTag: "toml"}
	s := r.Reflect(&Config{})
	s.Title = "codefresh-mcp pipeline file (" + ConfigFile + ")"
	return json.MarshalIndent(s, "", "  ")
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
