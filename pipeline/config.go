package pipeline

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/invopop/jsonschema"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/pipeline/tomledit"
)

// ConfigFile is the project's pipeline file name.
const ConfigFile = "codefresh_pipeline.toml"

// Config is the project's pipeline file. Every field is optional: an empty
// file, or none, loads the catalog's default resources into DuckDB.
type Config struct {
	PipelineName string `toml:"pipeline_name,omitempty" json:"pipeline_name,omitempty" jsonschema:"description=Pipeline name of lowercase letters and digits and underscores (default codefresh_pipeline)"`
	DatasetName  string `toml:"dataset_name,omitempty" json:"dataset_name,omitempty" jsonschema:"description=Dataset (database schema) name of lowercase letters and digits and underscores (default codefresh_data)"`
	BaseURL      string `toml:"base_url,omitempty" json:"base_url,omitempty" jsonschema:"description=A request for a Codefresh API base URL: the key goes there only if it is the origin the key belongs to or the user allowed it with 'codefresh-mcp secrets trust-url URL' in their terminal. Only the user edits it"`
	// RequestsPerSecond paces every request to Codefresh (default 10); Concurrency
	// is how many run at once (default 4).
	// Zero means the default for these and every other number of the file:
	// earlier versions wrote zeros for keys the user had not set.
	RequestsPerSecond float64                   `toml:"requests_per_second,omitempty,omitzero" json:"requests_per_second,omitempty" jsonschema:"minimum=0,maximum=1000,description=Requests per second to the Codefresh API at most: 0.01 to 1000 (default 10)"`
	Concurrency       int                       `toml:"concurrency,omitempty,omitzero" json:"concurrency,omitempty" jsonschema:"minimum=0,maximum=32,description=Requests in flight at once: date windows of builds and detail records (default 4; at most 32)"`
	FreshnessWarning  string                    `toml:"freshness_warning,omitempty" json:"freshness_warning,omitempty" jsonschema:"description=Age from which answers warn that a table's data is stale, as a Go duration (default 24h)"`
	Destination       DestinationConfig         `toml:"destination,omitempty" json:"destination,omitempty" jsonschema:"description=Where loads go"`
	Incremental       IncrementalConfig         `toml:"incremental,omitempty" json:"incremental,omitempty" jsonschema:"description=Incremental loading of builds"`
	Resources         map[string]ResourceConfig `toml:"resources,omitempty" json:"resources,omitempty" jsonschema:"description=Per-resource overrides keyed by catalog resource name"`
	CI                CIConfig                  `toml:"ci,omitempty" json:"ci,omitempty" jsonschema:"description=How CI metrics read the loaded builds"`
}

// CIConfig tunes the CI metrics.
type CIConfig struct {
	// DeployPipelines are the pipelines whose builds are deploys: change
	// failure rate and deploy frequency are taken over them.
	DeployPipelines []string `toml:"deploy_pipelines,omitempty" json:"deploy_pipelines,omitempty" jsonschema:"maxItems=100,description=Pipelines whose builds are deploys (names or globs such as */deploy): change_failure_rate and deploy_frequency are taken over their builds"`
}

// maxDeployPipelines bounds [ci] deploy_pipelines (names or globs).
const maxDeployPipelines = 100

func (c *CIConfig) check() error {
	key := []string{"ci", "deploy_pipelines"}
	if len(c.DeployPipelines) > maxDeployPipelines {
		return keyError(key, "%d entries: at most %d names or globs", len(c.DeployPipelines), maxDeployPipelines)
	}
	for _, p := range c.DeployPipelines {
		if strings.TrimSpace(p) == "" || len(p) > 256 {
			return keyError(key, "%q: give a pipeline name or glob of 1 to 256 characters", p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return keyError(key, "%q is not a valid glob: %v (use * ? and [...])", p, err)
		}
	}
	return nil
}

// DestinationConfig names the destination and where it is.
type DestinationConfig struct {
	Type string `toml:"type,omitempty" json:"type,omitempty" jsonschema:"enum=duckdb,enum=postgres,enum=parquet,description=Destination kind (default duckdb)"`
	// Path is the DuckDB file or the Parquet folder, relative to the project folder.
	Path string `toml:"path,omitempty" json:"path,omitempty" jsonschema:"description=DuckDB file or Parquet folder inside the project: a relative path without .. (default codefresh.duckdb or codefresh_parquet)"`
	// PostgreSQL connection without the password (resolved like the API key).
	Host     string `toml:"host,omitempty" json:"host,omitempty" jsonschema:"description=PostgreSQL host"`
	Port     int    `toml:"port,omitempty,omitzero" json:"port,omitempty" jsonschema:"minimum=0,maximum=65535,description=PostgreSQL port: 1 to 65535 (default 5432)"`
	Database string `toml:"database,omitempty" json:"database,omitempty" jsonschema:"description=PostgreSQL database"`
	User     string `toml:"user,omitempty" json:"user,omitempty" jsonschema:"description=PostgreSQL user"`
	SSLMode  string `toml:"sslmode,omitempty" json:"sslmode,omitempty" jsonschema:"enum=disable,enum=allow,enum=prefer,enum=require,enum=verify-ca,enum=verify-full,description=PostgreSQL sslmode"`
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
	PageSize         int               `toml:"page_size,omitempty,omitzero" json:"page_size,omitempty" jsonschema:"minimum=0,maximum=10000,description=Records per request: 1 to 10000 (default from the catalog)"`
	// Which builds' logs load and how much of each: build_logs only.
	Statuses          []string `toml:"statuses,omitempty" json:"statuses,omitempty" jsonschema:"description=build_logs only: build statuses whose logs load (default error and terminated)"`
	NewestPerPipeline int      `toml:"newest_per_pipeline,omitempty,omitzero" json:"newest_per_pipeline,omitempty" jsonschema:"minimum=0,maximum=1000,description=build_logs only: logs of the newest this many chosen builds per pipeline: 1 to 1000 (default 20)"`
	TailLines         int      `toml:"tail_lines,omitempty,omitzero" json:"tail_lines,omitempty" jsonschema:"minimum=0,maximum=10000,description=build_logs only: last lines kept per step: 1 to 10000 (default 200)"`
	LineCap           int      `toml:"line_cap,omitempty,omitzero" json:"line_cap,omitempty" jsonschema:"minimum=0,maximum=100000,description=build_logs only: characters kept of a log line (the rest is cut and marked): 80 to 100000 (default 2000)"`
}

// Defaults applied when the pipeline file leaves a field empty.
const (
	DefaultPipelineName = "codefresh_pipeline"
	DefaultDatasetName  = "codefresh_data"
	DefaultLookback     = 24 * time.Hour
)

// Bounds of the pipeline file, checked before it is decoded: the decoder's
// time and memory grow faster than the nesting of a file, and every tool
// call of a server reads it.
const (
	MaxConfigBytes = 256 << 10
	MaxConfigDepth = 16 // the deepest real key, resources.NAME.params.KEY, is 4
)

// Limits of values in the pipeline file.
const (
	maxNameLen        = 63 // PostgreSQL's identifier limit, the smallest of the destinations
	minRequestsPerSec = 0.01
	maxRequestsPerSec = 1000
	maxConcurrency    = 32
	maxPageSize       = 10000 // what the Codefresh CLI asks for with --all
)

// ConfigError is a problem in the pipeline file, naming the key and line.
type ConfigError struct {
	File string
	Key  string
	Line int // 0 when unknown
	Msg  string
	Err  error // the cause when there is one, such as a *tomledit.LimitError

	path []string // Key's parts, for finding its line
}

func (e *ConfigError) Unwrap() error { return e.Err }

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
	_, cfg, err := ReadConfig(dir)
	return cfg, err
}

// ReadConfig reads, bounds and validates dir/codefresh_pipeline.toml and
// returns its text too (nil when there is no file, an empty config).
func ReadConfig(dir string) ([]byte, Config, error) {
	data, err := readConfigFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Config{}, nil
	}
	if err != nil {
		return nil, Config{}, err
	}
	cfg, err := ParseConfig(ConfigFile, data)
	return data, cfg, err
}

// readConfigFile reads at most MaxConfigBytes and one more, so that a huge
// file is refused without being read.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read pipeline file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read pipeline file %s: %w", path, err)
	}
	if len(data) > MaxConfigBytes {
		size := int64(len(data))
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		le := &tomledit.LimitError{What: "size", Limit: MaxConfigBytes, Got: int(size)}
		return nil, &ConfigError{File: ConfigFile, Msg: le.Error(), Err: le}
	}
	return data, nil
}

// ParseConfig bounds, decodes and validates a pipeline file's text.
func ParseConfig(name string, data []byte) (Config, error) {
	var cfg Config
	if err := tomledit.CheckLimits(data, tomledit.Limits{MaxBytes: MaxConfigBytes, MaxDepth: MaxConfigDepth}); err != nil {
		var le *tomledit.LimitError
		errors.As(err, &le)
		return cfg, &ConfigError{File: name, Line: le.Line, Msg: err.Error(), Err: err}
	}
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
			ce.Line = lineOfKey(data, ce.path)
		}
		return cfg, err
	}
	return cfg, nil
}

// lineOfKey is the line that defines key (its own, or the inline table or
// header holding it); 0 when the text cannot be scanned.
func lineOfKey(data []byte, key []string) int {
	doc, err := tomledit.Parse(string(data))
	if err != nil {
		return 0
	}
	return doc.Line(key)
}

// Validate checks values the TOML decoder cannot: names, ranges, enums,
// formats, paths. Zero numbers are the defaults.
func (c *Config) Validate() error {
	checks := []func() error{
		func() error { return checkName("pipeline_name", c.PipelineName, maxNameLen) },
		// The CI views live in the schema <dataset>_ci, which must fit too.
		func() error { return checkName("dataset_name", c.DatasetName, maxNameLen-len(civiews.SchemaSuffix)) },
		c.checkPacing,
		c.Destination.check,
		c.Incremental.check,
		c.checkFreshness,
		c.CI.check,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(c.Resources))
	for n := range c.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := c.Resources[name].check(name); err != nil {
			return err
		}
	}
	return nil
}

// keyError is a ConfigError about the key at path.
func keyError(path []string, format string, args ...any) *ConfigError {
	return &ConfigError{File: ConfigFile, Key: strings.Join(path, "."), path: path, Msg: fmt.Sprintf(format, args...)}
}

// checkName refuses a pipeline or dataset name that dlt would rename or a
// destination could not hold: it names a database schema and state rows.
func checkName(key, name string, maxLen int) error {
	if name == "" {
		return nil
	}
	if norm := normalize.Identifier(name); norm != name || len(name) > maxLen {
		return keyError([]string{key}, "%q: use lowercase letters, digits and underscores, at most %d, such as %q", name, maxLen, norm[:min(len(norm), maxLen)])
	}
	return nil
}

func (c *Config) checkPacing() error {
	if r := c.RequestsPerSecond; r != 0 && !(r >= minRequestsPerSec && r <= maxRequestsPerSec) { // NaN fails every comparison
		return keyError([]string{"requests_per_second"}, "%v: use %v to %v (or leave it out for 10)", r, minRequestsPerSec, maxRequestsPerSec)
	}
	if c.Concurrency < 0 || c.Concurrency > maxConcurrency {
		return keyError([]string{"concurrency"}, "use 1 to %d", maxConcurrency)
	}
	return nil
}

// reservedDirs are project folders a destination must not be written into:
// the key's file, the load traces, the repository.
var reservedDirs = []string{".dlt", ".codefresh-mcp", ".git"}

func (d *DestinationConfig) check() error {
	if _, ok := destinations.Lookup(d.Type); !ok && d.Type != "" {
		return keyError([]string{"destination", "type"}, "%q is not a destination: use %s", d.Type, destinations.Names())
	}
	if d.Path != "" {
		if err := checkDestinationPath(d.Path); err != nil {
			return keyError([]string{"destination", "path"}, "%q: %s", d.Path, err)
		}
	}
	if d.Port < 0 || d.Port > 65535 {
		return keyError([]string{"destination", "port"}, "%d: use 1 to 65535", d.Port)
	}
	switch d.SSLMode {
	case "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		return keyError([]string{"destination", "sslmode"}, "%q: use disable, allow, prefer, require, verify-ca or verify-full", d.SSLMode)
	}
	return nil
}

// checkDestinationPath keeps the destination inside the project folder and
// out of the folders and files the project needs.
func checkDestinationPath(p string) error {
	clean := filepath.ToSlash(filepath.Clean(p))
	switch {
	case !filepath.IsLocal(p):
		return errors.New("use a path inside the project folder: relative, without ..")
	case clean == ".":
		return errors.New("name a file or folder inside the project folder, not the folder itself")
	case clean == ConfigFile:
		return errors.New("that is the pipeline file")
	}
	first, _, _ := strings.Cut(clean, "/")
	if slices.Contains(reservedDirs, first) {
		return fmt.Errorf("%s holds the project's own files: choose another folder", first)
	}
	return nil
}

func (ic *IncrementalConfig) check() error {
	if ic.Lookback == "" {
		return nil
	}
	if d, err := time.ParseDuration(ic.Lookback); err != nil || d <= 0 {
		return keyError([]string{"incremental", "lookback"}, "%q is not a positive duration such as 24h", ic.Lookback)
	}
	return nil
}

func (rc ResourceConfig) check(name string) error {
	key := func(k ...string) []string { return append([]string{"resources", name}, k...) }
	r, ok := codefresh.Lookup(name)
	if !ok {
		return keyError(key(), "no such resource (see `codefresh-mcp endpoints`)")
	}
	switch rc.WriteDisposition {
	case "", codefresh.Replace, codefresh.Append:
	case codefresh.Merge:
		if len(r.PrimaryKey) == 0 {
			return keyError(key("write_disposition"), "merge needs a primary key and %s has none", name)
		}
	default:
		return keyError(key("write_disposition"), "%q: use replace, append or merge", rc.WriteDisposition)
	}
	if rc.InitialValue != "" {
		if _, err := time.Parse("2006-01-02", rc.InitialValue); err != nil {
			return keyError(key("initial_value"), "%q: use a date YYYY-MM-DD", rc.InitialValue)
		}
		if r.IncrementalCursor == "" {
			return keyError(key("initial_value"), "%s has no incremental cursor", name)
		}
	}
	if rc.PageSize < 0 || rc.PageSize > maxPageSize {
		return keyError(key("page_size"), "use 1 to %d", maxPageSize)
	}
	if err := rc.checkLogs(r, key); err != nil {
		return err
	}
	params := make([]string, 0, len(rc.Params))
	for p := range rc.Params {
		params = append(params, p)
	}
	sort.Strings(params)
	for _, p := range params {
		if err := codefresh.CheckRequest(r.Path, url.Values{p: {"x"}}); err != nil {
			return keyError(key("params", p), "%s", err.Error())
		}
	}
	return nil
}

// Pipeline, Dataset, DestinationType and DestinationPath give the effective values.
func (c *Config) Pipeline() string { return cmp.Or(c.PipelineName, DefaultPipelineName) }
func (c *Config) Dataset() string  { return cmp.Or(c.DatasetName, DefaultDatasetName) }
func (c *Config) DestinationType() string {
	return cmp.Or(c.Destination.Type, defaultDestination)
}

// DestinationPath is a local destination's file or folder, absolute under dir.
func (c *Config) DestinationPath(dir string) string {
	p := c.Destination.Path
	if p == "" {
		p = localDriver(c.DestinationType()).Path.Default
	}
	return filepath.Join(dir, p) // Validate keeps p relative and inside dir
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

// ConfigSchema is the JSON Schema of the pipeline file.
func ConfigSchema() ([]byte, error) {
	r := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, FieldNameTag: "toml"}
	s := r.Reflect(&Config{})
	s.Title = "codefresh-mcp pipeline file (" + ConfigFile + ")"
	return json.MarshalIndent(s, "", "  ")
}
