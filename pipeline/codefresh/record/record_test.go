package record

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// Past its share of the body cap a success body is left out (and not even
// sanitized), while error bodies still fit in the share left to them; the
// secret field and the key never reach the file.
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

// Error bodies count against the bound too: a long one is cut to its
// fields and the head of its message, and past the bound it is left out,
// so a load answered by 5 MB errors keeps a record within its bound that
// still says what each error was.
func TestRecordBoundHoldsForErrorBodies(t *testing.T) {
	const key = "canary-key-0123456789"
	const bound = 16 << 10
	path := filepath.Join(t.TempDir(), "r.jsonl")
	rec, err := Create(path, Header{LoadID: "1"}, key, bound)
	if err != nil {
		t.Fatal(err)
	}
	full := `{"status":500,"code":"5000","name":"INTERNAL_ERROR","message":"` + key + " " + strings.Repeat("x", 5<<20) + `"}`
	head := []byte(full[:codefresh.MaxErrorBody]) // what the client keeps of it
	const attempts = 40
	for i := range attempts {
		rec.Observe(codefresh.Exchange{Method: "GET", Path: "/workflow", Attempt: i + 1, Status: 500,
			Bytes: len(full), Body: head, Error: "GET /workflow: HTTP 500 INTERNAL_ERROR: " + key})
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), key) {
		t.Fatalf("record holds the key")
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Scan() // header
	var cut, capped, bodyBytes int
	wantMsg := "[REDACTED] " + strings.Repeat("x", codefresh.MaxErrorMessage-len("[REDACTED] ")) + fmt.Sprintf("… (cut: the error body was %d bytes)", len(full))
	wantBody := `{"status":500,"code":"5000","name":"INTERNAL_ERROR","message":"` + wantMsg + `"}` // as codefresh.ErrorBody cut it
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		bodyBytes += len(e.Body)
		if e.Bytes != len(full) {
			t.Errorf("entry bytes %d, want %d", e.Bytes, len(full))
		}
		switch e.Omitted {
		case OmittedCut:
			if e.Body != wantBody {
				t.Errorf("cut body %.200s…, want %.200s…", e.Body, wantBody)
			}
			cut++
		case OmittedSizeCap:
			capped++
		default:
			t.Errorf("entry omitted %q, body %.100s", e.Omitted, e.Body)
		}
	}
	if bodyBytes > bound || cut != bound/len(wantBody) || cut+capped != attempts {
		t.Errorf("bodies %d bytes (bound %d), %d cut, %d left out; want %d cut and the rest left out", bodyBytes, bound, cut, capped, bound/len(wantBody))
	}
	if len(raw) > bound+attempts*512 {
		t.Errorf("record is %d bytes", len(raw))
	}
}

// Observe hands exchanges to the record's writer goroutine: those of one
// caller are written in the order observed, those of many callers all are,
// Entries counts every one observed before it, and an exchange observed
// after Close is left out without a panic.
func TestRecordWritesEveryObservedExchangeInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	rec, err := Create(path, Header{LoadID: "1"}, "canary-key-0123456789", 0)
	if err != nil {
		t.Fatal(err)
	}
	const callers, each = 4, 50
	done := make(chan struct{})
	for c := range callers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				rec.Observe(codefresh.Exchange{Resource: "builds", Method: "GET", Path: "/workflow",
					Query: fmt.Sprintf("caller=%d&i=%d", c, i), Attempt: 1, Status: 200,
					Body: []byte(fmt.Sprintf(`{"workflows":{"docs":[{"id":"%d-%d"}]}}`, c, i))})
			}
		}()
	}
	for range callers {
		<-done
	}
	if n := rec.Entries(); n != callers*each {
		t.Errorf("Entries = %d, want %d", n, callers*each)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	rec.Observe(codefresh.Exchange{Resource: "builds", Method: "GET", Path: "/workflow", Query: "late", Status: 200, Body: []byte(`{}`)})
	if err := rec.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 1+callers*each {
		t.Fatalf("%d lines, want a header and %d entries", len(lines), callers*each)
	}
	next := make([]int, callers)
	for _, l := range lines[1:] {
		var e Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		var c, i int
		if _, err := fmt.Sscanf(e.Query, "caller=%d&i=%d", &c, &i); err != nil {
			t.Fatalf("entry %q: %v", e.Query, err)
		}
		if i != next[c] {
			t.Fatalf("caller %d: entry %d written after %d", c, i, next[c]-1)
		}
		next[c]++
		if want := fmt.Sprintf(`{"workflows":{"docs":[{"id":"%d-%d"}]}}`, c, i); e.Body != want {
			t.Errorf("body %s, want %s", e.Body, want)
		}
	}
}
