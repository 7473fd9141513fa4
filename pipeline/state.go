package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline/extract"
)

// sourceName is the dlt source (and schema) name, as the seed's
// `@dlt.source def codefresh_source` names it.
const sourceName = "codefresh_source"

// State is the pipeline state stored with every load in _dlt_pipeline_state,
// laid out like dlt's: sources.<source>.resources.<resource>.incremental.<cursor>.
type State struct {
	Pipeline string                 `json:"pipeline"`
	Sources  map[string]SourceState `json:"sources"`
}

// SourceState holds the state of one source's resources.
type SourceState struct {
	Resources map[string]ResourceState `json:"resources"`
}

// ResourceState holds a resource's incremental cursors by cursor field.
type ResourceState struct {
	Incremental map[string]extract.Cursor `json:"incremental,omitempty"`
}

func parseState(raw json.RawMessage, pipeline string) (*State, error) {
	st := &State{Pipeline: pipeline}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, st); err != nil {
			return nil, fmt.Errorf("read pipeline state: %w", err)
		}
	}
	if st.Sources == nil {
		st.Sources = map[string]SourceState{}
	}
	if _, ok := st.Sources[sourceName]; !ok {
		st.Sources[sourceName] = SourceState{Resources: map[string]ResourceState{}}
	}
	return st, nil
}

// Cursor returns a resource's incremental cursor (zero if none).
func (s *State) Cursor(resource, field string) extract.Cursor {
	return s.Sources[sourceName].Resources[resource].Incremental[field]
}

// SetCursor moves a resource's incremental cursor.
func (s *State) SetCursor(resource, field string, c extract.Cursor) {
	src := s.Sources[sourceName]
	if src.Resources == nil {
		src.Resources = map[string]ResourceState{}
	}
	rs := src.Resources[resource]
	if rs.Incremental == nil {
		rs.Incremental = map[string]extract.Cursor{}
	}
	rs.Incremental[field] = c
	src.Resources[resource] = rs
	s.Sources[sourceName] = src
}

// Cursors lists every incremental cursor as "resource.field" -> cursor, for reports.
func (s *State) Cursors() map[string]extract.Cursor {
	out := map[string]extract.Cursor{}
	for res, rs := range s.Sources[sourceName].Resources {
		for f, c := range rs.Incremental {
			out[res+"."+f] = c
		}
	}
	return out
}
