package record

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// Past the body cap a success body is left out (and not even sanitized),
// while error bodies are always kept; the secret field and the key never
// reach the file.
func TestRecordCapsSuccessBodies(t *testing.T) {
	const key = "canary-key-0123456789"
	path := filepath.Join(t.TempDir(), "r.jsonl")
	rec, err := Create(path, Header{LoadID: "1"}, key, 150)
	if err != nil {
		t.Fatal(err)
	}
	page := []byte(`[{"event":"push","event-data":{"secret":"cfsimSECRET","uri":"u"}}]`) // triggers: a bare array, event-data.secret is secret
	for i := range 3 {
		rec.Observe(codefresh.Exchange{Resource: "triggers", Method: "GET", Path: "/hermes/triggers", Attempt: i + 1, Status: 200, Body: page})
	}
	rec.Observe(codefresh.Exchange{Resource: "triggers", Method: "GET", Path: "/hermes/triggers", Attempt: 4, Status: 500,
		Body: []byte(`{"error":"boom for ` + key + `"}`)})
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), key) || strings.Contains(string(raw), "cfsimSECRET") {
		t.Fatalf("record holds the key or a secret field:\n%s", raw)
	}
	var kept, capped, errors int
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Scan() // header
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.Status == 500 && e.Body != "":
			errors++
		case e.Body != "":
			kept++
		case e.Omitted == OmittedSizeCap:
			capped++
		}
	}
	if kept != 2 || capped != 1 || errors != 1 {
		t.Fatalf("kept %d, capped %d, error bodies %d; want 2, 1, 1:\n%s", kept, capped, errors, raw)
	}
}
