package jsonpage

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
)

// simBuildsPage is one page of 100 builds as the simulator sends it.
func simBuildsPage(tb testing.TB) []byte {
	tb.Helper()
	s := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 20, Builds: 500, APIKey: "k"})
	r := httptest.NewRequest(http.MethodGet, "/api/workflow?limit=100&page=1", nil)
	r.Header.Set("Authorization", "k")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		tb.Fatalf("simulator: %d %s", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

var (
	buildSecrets   = []string{"exposedVariables.*.value"}
	buildSelectors = []string{"workflows.docs", "docs", "$"}
)

// BenchmarkPageMaps is the page decoder building a map per object.
func BenchmarkPageMaps(b *testing.B) {
	body := simBuildsPage(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	d := New(buildSecrets, buildSelectors)
	for b.Loop() {
		if _, err := d.Decode(body); err != nil {
			b.Fatal(err)
		}
		if raws, _, _ := d.Records("workflows.docs"); len(raws) != 100 {
			b.Fatalf("%d records", len(raws))
		}
	}
}

// BenchmarkPageTape is the page decoder putting values on a tape.
func BenchmarkPageTape(b *testing.B) {
	body := simBuildsPage(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	d := New(buildSecrets, buildSelectors)
	for b.Loop() {
		if _, err := d.DecodeTape(body); err != nil {
			b.Fatal(err)
		}
		if nodes, _ := d.RecordNodes("workflows.docs"); len(nodes) != 100 {
			b.Fatalf("%d records", len(nodes))
		}
	}
}

// BenchmarkPageJSONText builds the same tape from jsontext's tokens, with
// less work than DecodeTape does (no selectors, no secret paths, no raw
// records): what the hand-written decoder is measured against.
func BenchmarkPageJSONText(b *testing.B) {
	body := simBuildsPage(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var nodes []Node
	for b.Loop() {
		tape, err := jsontextTape(body, nodes[:0])
		if err != nil {
			b.Fatal(err)
		}
		nodes = tape.Nodes
	}
}

// TestJSONTextTapeAsDecodeTape: the benchmark's jsontext tape is the same
// tape, so the two benchmarks compare equal work.
func TestJSONTextTapeAsDecodeTape(t *testing.T) {
	body := simBuildsPage(t)
	want, err := New(nil, nil).DecodeTape(body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := jsontextTape(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Nodes, want.Nodes) {
		t.Fatal("jsontext tape differs from DecodeTape's")
	}
}

// jsontextTape decodes body onto a tape with jsontext (duplicate names and
// invalid UTF-8 allowed, as encoding/json).
func jsontextTape(body []byte, nodes []Node) (*Tape, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(body), walkOptions...)
	t := &Tape{Nodes: nodes}
	var open []int // containers not yet closed
	var key string
	inObject := func() bool { return len(open) > 0 && t.Nodes[open[len(open)-1]].Kind == Object }
	expectKey := false
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			if len(open) == 0 && len(t.Nodes) > 0 {
				return t, nil // io.EOF after the top value
			}
			return nil, err
		}
		kind := tok.Kind()
		if kind == '}' || kind == ']' {
			at := open[len(open)-1]
			open = open[:len(open)-1]
			t.Nodes[at].End = int32(len(t.Nodes))
			expectKey = inObject()
			continue
		}
		if expectKey {
			key, expectKey = tok.String(), false
			continue
		}
		nd := Node{Key: key, End: int32(len(t.Nodes) + 1)}
		key = ""
		switch kind {
		case 'n':
			nd.Kind = Null
		case 'f':
			nd.Kind = False
		case 't':
			nd.Kind = True
		case '"':
			nd.Kind, nd.Str = String, tok.String()
		case '0':
			nd.Kind, nd.Str = Number, tok.String()
		case '{':
			nd.Kind = Object
			open = append(open, len(t.Nodes))
		case '[':
			nd.Kind = Array
			open = append(open, len(t.Nodes))
		}
		t.Nodes = append(t.Nodes, nd)
		expectKey = inObject()
	}
}
