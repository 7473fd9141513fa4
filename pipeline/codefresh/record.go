package codefresh

import "github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"

// Record is one record of a page: a map (Page.Records), or a node on the
// page's tape, read without building its map. Field reads a top-level field
// of either the same way.
type Record struct {
	m    map[string]any
	tape *jsonpage.Tape
	at   int
}

// MapRecord is the Record of a decoded map.
func MapRecord(m map[string]any) Record { return Record{m: m} }

// TapeRecord is the Record at node at of tape.
func TapeRecord(tape *jsonpage.Tape, at int) Record { return Record{tape: tape, at: at} }

// Tape returns the record's tape and node; ok is false for a map record.
func (r Record) Tape() (tape *jsonpage.Tape, at int, ok bool) { return r.tape, r.at, r.tape != nil }

// Field is the value of the top-level field name as the map holds it
// (json.Number, string, bool, nil, map[string]any, []any); nil if absent.
// A record that is not an object has the one field "value", as dlt makes it.
func (r Record) Field(name string) any {
	if r.tape == nil {
		return r.m[name]
	}
	if r.tape.Nodes[r.at].Kind != jsonpage.Object {
		if name == "value" {
			return r.tape.Value(r.at)
		}
		return nil
	}
	if j, ok := r.tape.Member(r.at, name); ok {
		return r.tape.Value(j)
	}
	return nil
}

// String is Field when it is a string, else "".
func (r Record) String(name string) string {
	s, _ := r.Field(name).(string)
	return s
}

// Map is the record as a map: the map itself, or one built from the tape.
func (r Record) Map() map[string]any {
	if r.tape == nil {
		return r.m
	}
	if m, ok := r.tape.Value(r.at).(map[string]any); ok {
		return m
	}
	return map[string]any{"value": r.tape.Value(r.at)}
}

// ID is the record's identity: "id", else "_id", else "metadata.id".
func (r Record) ID() string {
	if s := scalarString(r.Field("id")); s != "" {
		return s
	}
	if s := scalarString(r.Field("_id")); s != "" {
		return s
	}
	if md, ok := r.Field("metadata").(map[string]any); ok {
		return scalarString(md["id"])
	}
	return ""
}

// Len is the number of records on the page.
func (p *Page) Len() int {
	if p.Tape != nil {
		return len(p.Nodes)
	}
	return len(p.Records)
}

// Record returns the page's record i.
func (p *Page) Record(i int) Record {
	if p.Tape != nil {
		return TapeRecord(p.Tape, p.Nodes[i])
	}
	return MapRecord(p.Records[i])
}

// Filter returns a page with the records keep keeps, in order, sharing the
// page's tape or maps.
func (p *Page) Filter(keep func(Record) bool) *Page {
	out := *p
	if p.Tape != nil {
		out.Nodes = nil
		for _, at := range p.Nodes {
			if keep(TapeRecord(p.Tape, at)) {
				out.Nodes = append(out.Nodes, at)
			}
		}
		return &out
	}
	out.Records = nil
	for _, m := range p.Records {
		if keep(MapRecord(m)) {
			out.Records = append(out.Records, m)
		}
	}
	return &out
}
