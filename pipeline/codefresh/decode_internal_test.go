package codefresh

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
)

// decodePage is jsonpage's decoder put to a resource's selectors; the
// decoder itself is tested (and fuzzed) in jsonpage.

func TestDecodePageSelectors(t *testing.T) {
	builds := Resource{Name: "builds", DataSelector: "workflows.docs", SecretFields: []string{"exposedVariables.*.value"}}
	body := []byte(`{"workflows":{"docs":[{"id":"1","exposedVariables":{"pipeline":[{"key":"K","value":"V"}]}},{"id":"2"}]},"pagination":{"nextPage":false}}`)
	page, next, raws, err := decodePage(builds, body)
	if err != nil || next == nil || *next || len(page.Records) != 2 || len(raws) != 2 || page.Selector != "workflows.docs" {
		t.Fatalf("page=%+v next=%v err=%v", page, next, err)
	}
	if got := string(page.Raw[0]); got != `{"id":"1","exposedVariables":{"pipeline":[{"key":"K"}]}}` {
		t.Errorf("raw 0 = %s", got)
	}
	if &page.Raw[1][0] != &body[bytes.Index(body, []byte(`{"id":"2"}`))] {
		t.Error("a record with nothing to cut is copied, not sliced from the body")
	}
	if page.Records[0]["id"] != "1" {
		t.Errorf("record 0 = %v", page.Records[0])
	}

	// The last of repeated keys wins, for records and raw alike.
	body = []byte(`{"workflows":{"docs":[{"id":"old"}]},"workflows":{"docs":[{"id":"a"},{"id":"b"}]}}`)
	page, _, raws, err = decodePage(builds, body)
	if err != nil || len(page.Records) != 2 || string(raws[1]) != `{"id":"b"}` || page.Records[1]["id"] != "b" {
		t.Fatalf("repeated key: %v %v %s", err, page, raws)
	}
	// null: no records; another shape: a ShapeError.
	if page, _, _, err = decodePage(builds, []byte(`{"workflows":{"docs":null}}`)); err != nil || len(page.Records) != 0 {
		t.Errorf("null docs: %v %v", page, err)
	}
	if _, _, _, err = decodePage(builds, []byte(`{"workflows":{"docs":{}}}`)); err == nil {
		t.Error("an object where records belong was accepted")
	} else if _, ok := err.(*ShapeError); !ok {
		t.Errorf("shape: %T %v", err, err)
	}
	// A cut body is malformed, with encoding/json's words.
	_, _, _, err = decodePage(builds, body[:len(body)-3])
	if mb, ok := err.(*malformedBody); !ok || !strings.Contains(mb.Error(), "unexpected end of JSON input") {
		t.Errorf("cut body: %T %v", err, err)
	}
	// One object, stripped.
	one := Resource{Name: "one", SecretFields: []string{"token"}}
	page, _, _, err = decodePage(one, []byte(` {"a":1, "token":"T"} `))
	if err != nil || string(page.Raw[0]) != `{"a":1}` || page.Records[0]["token"] != "T" {
		t.Errorf("single object: %v %s %v", err, page.Raw, page.Records) // Prepare drops it from the record
	}
}

// readBody (client.go) reads exactly what the server sends, whatever length
// it announced.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	for _, announced := range []int64{-1, 0, 10, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 5, maxBodyBytes + 1} {
		got, err := readBody(strings.NewReader(body), announced)
		if err != nil || string(got) != body {
			t.Errorf("announced %d: %d bytes, %v", announced, len(got), err)
		}
	}
	if got, _ := readBody(strings.NewReader(body), int64(len(body))); cap(got) != len(body)+1 {
		t.Errorf("announced length: buffer of %d for %d bytes", cap(got), len(body))
	}
}

// BenchmarkPageDecode decodes one page of 100 builds as the simulator sends
// it: the decoder, selectors and secret stripping, without the network.
func BenchmarkPageDecode(b *testing.B) {
	s := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 20, Builds: 500, APIKey: "k"})
	r := httptest.NewRequest(http.MethodGet, "/api/workflow?limit=100&page=1", nil)
	r.Header.Set("Authorization", "k")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	body := w.Body.Bytes()
	builds, _ := Lookup("builds")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		page, _, _, err := decodePage(builds, body)
		if err != nil || len(page.Records) != 100 {
			b.Fatalf("%v, %d records", err, len(page.Records))
		}
	}
}

// BenchmarkPageDecodeTape is BenchmarkPageDecode onto a pooled tape, as a
// load decodes the pages of resources stored as received.
func BenchmarkPageDecodeTape(b *testing.B) {
	s := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 20, Builds: 500, APIKey: "k"})
	r := httptest.NewRequest(http.MethodGet, "/api/workflow?limit=100&page=1", nil)
	r.Header.Set("Authorization", "k")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	body := w.Body.Bytes()
	builds, _ := Lookup("builds")
	selectors, _ := selectorsFor(builds)
	var pool jsonpage.TapePool
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		page, _, _, err := decodeListing(builds, selectors, body, &pool)
		if err != nil || page.Len() != 100 || page.Tape == nil {
			b.Fatalf("%v, %d records", err, page.Len())
		}
		pool.Put(page.Tape)
	}
}
