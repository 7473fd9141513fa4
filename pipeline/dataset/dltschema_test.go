package dataset

import "testing"

func TestParseDltSchemaToleratesShapes(t *testing.T) {
	s := parseDltSchema(`{"tables":[{"name":"a","parent":"p","columns":[{"name":"id","primary_key":true},{"name":"x"}]}]}`)
	if s["a"].parent != "p" || !s["a"].pk["id"] || s["a"].pk["x"] {
		t.Errorf("array form: %+v", s)
	}
	if s := parseDltSchema(`{"tables":{"a":{"columns":{"k":{"primary_key":true}}}}}`); !s["a"].pk["k"] {
		t.Errorf("keyed form without names: %+v", s)
	}
	if s := parseDltSchema(`not json`); len(s) != 0 {
		t.Errorf("garbage: %+v", s)
	}
}
