// Package stage holds a load's normalized rows in a temporary DuckDB file
// until the destination commits them, so memory stays bounded and the
// destination's write lock is held only while committing.
package stage

import "github.com/cfmcp/codefresh-mcp/pipeline/normalize"

// Stage is a temporary DuckDB database with one table per normalized table.
// It implements normalize.Sink.
type Stage struct {
	path string
}

var _ normalize.Sink = (*Stage)(nil)

// Path is the staging database file; destinations ATTACH or read it.
func (s *Stage) Path() string { return s.path }

func (s *Stage) Write(t *normalize.Table, row []any) error { panic("stage: not implemented") }
