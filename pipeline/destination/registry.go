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
	LockWait   time.Duration       // how long a load waits for another process's lock on the destination (0: the kind's default)
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

// Driver is one kind of destination: the name a pipeline file gives it,
// where its data lies and how to open its writer and its reader. Each
// destination's package declares its own; a registry lists them.
type Driver struct {
	Name string
	// Local is a destination that is a file or folder in the project
	// (Config.Path), rather than a server; Path says which.
	Local      bool
	Path       LocalPath
	Open       func(Config) (Destination, error)
	OpenReader func(context.Context, Config) (dataset.Reader, error)
	// Location is where a server destination's data goes, without any
	// secret, or why the settings cannot say (a local one's is its path).
	Location func(Config) (string, error)
}

// LocalPath is what a local destination's path must be.
type LocalPath struct {
	Default string // relative to the project folder
	// Folder: the destination is a folder, created as needed; otherwise a
	// file, whose folder must exist.
	Folder bool
	// WrongShape says why a path of the other shape (a folder where a
	// file belongs, or the reverse) cannot be used.
	WrongShape string
	// LinkDepth is how many levels below the path the destination opens
	// files by path, beyond the confined root: none may be a symbolic link.
	LinkDepth int
	// Holds is whether the path has data of the dataset.
	Holds func(path, dataset string) bool
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

// Names are the drivers' names, in the order given, as prose: "a, b or c".
func (r *Registry) Names() string {
	var s string
	for i, d := range r.drivers {
		switch {
		case i == 0:
		case i == len(r.drivers)-1:
			s += " or "
		default:
			s += ", "
		}
		s += d.Name
	}
	return s
}

// Drivers are the drivers, in the order given.
func (r *Registry) Drivers() []Driver { return slices.Clone(r.drivers) }

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
