package destination

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// Config is what opening a destination needs, to write or to read; each
// kind reads the fields it uses.
type Config struct {
	Dataset string
	// Path is a local destination's file or folder (DuckDB, Parquet),
	// absolute and already checked to lie inside the project.
	Path string
	// Server is a database destination's connection, without the
	// password: that is resolved when a connection is first made.
	Server     Server
	ProjectDir string              // where .dlt/secrets.toml is
	Env        func(string) string // nil = os.Getenv
	LockWait   time.Duration       // how long a load waits for a DuckDB file another process holds
	Logger     *slog.Logger        // nil = discard
	// Handles, when set, keeps a DuckDB file open between reads (a server's).
	Handles *dataset.Handles
}

// Server says where a database destination is, as the pipeline file does.
type Server struct {
	Host     string
	Port     int
	Database string
	User     string
	SSLMode  string
}

// Driver is one kind of destination: the name a pipeline file gives it and
// how to open its writer and its reader. Each destination's package
// declares its own; a registry lists them.
type Driver struct {
	Name string
	// Local is a destination that is a file or folder in the project
	// (Config.Path), rather than a server.
	Local      bool
	Open       func(Config) (Destination, error)
	OpenReader func(context.Context, Config) (dataset.Reader, error)
}

// Registry finds a Driver by its name.
type Registry struct{ drivers []Driver }

// NewRegistry lists drivers; their names must differ.
func NewRegistry(drivers ...Driver) *Registry {
	for i, d := range drivers {
		if slices.ContainsFunc(drivers[:i], func(o Driver) bool { return o.Name == d.Name }) {
			panic("destination: two drivers named " + d.Name)
		}
	}
	return &Registry{drivers: drivers}
}

// Lookup returns the driver named name.
func (r *Registry) Lookup(name string) (Driver, bool) {
	for _, d := range r.drivers {
		if d.Name == name {
			return d, true
		}
	}
	return Driver{}, false
}

// Reader is r as a dataset.Reader, or nil (not a nil pointer) with err:
// the drivers' OpenReader return their readers through it.
func Reader[R dataset.Reader](r R, err error) (dataset.Reader, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}
