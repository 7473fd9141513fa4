package pipeline

import (
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/duckdb"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/parquet"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
)

// destinations are the kinds a pipeline file may name in destination.type;
// a new kind is its package plus one line here.
var destinations = destination.NewRegistry(
	duckdb.Driver,
	postgres.Driver,
	parquet.Driver,
)

// defaultDestination is the kind a pipeline file that names none loads into.
const defaultDestination = "duckdb"

// localDriver is the driver of kind when it is local; otherwise (a server
// kind, which has no path, or a kind Validate refuses) the default's.
func localDriver(kind string) destination.Driver {
	if drv, ok := destinations.Lookup(kind); ok && drv.Local {
		return drv
	}
	drv, _ := destinations.Lookup(defaultDestination)
	return drv
}

// destinationConfig is what a driver needs to open the project's
// destination, but the path: that is checked for the driver's kind.
func (p *Project) destinationConfig() destination.Config {
	d := p.Config.Destination
	return destination.Config{
		Dataset:    p.Config.Dataset(),
		Server:     destination.Server{Host: d.Host, Port: d.Port, Database: d.Database, User: d.User, SSLMode: d.SSLMode},
		ProjectDir: p.Dir,
		Env:        p.Env,
		LockWait:   p.LockWait,
		Logger:     p.logger(),
		Handles:    p.Handles,
	}
}

// openConfig is destinationConfig for drv, with the path of a local
// destination checked.
func (p *Project) openConfig(drv destination.Driver) (destination.Config, error) {
	c := p.destinationConfig()
	if drv.Local {
		cfg := p.Config
		cfg.Destination.Type = drv.Name
		path, err := p.destinationPath(cfg)
		if err != nil {
			return c, err
		}
		c.Path = path
	}
	return c, nil
}
