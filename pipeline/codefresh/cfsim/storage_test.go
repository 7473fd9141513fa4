package cfsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// storageGet reads a URL from the storage host with no key.
func storageGet(t *testing.T, raw string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// logURL is the progress record's location of a build.
func logURL(t *testing.T, s *Server, buildID string) (typ, u string) {
	t.Helper()
	b := getJSON(t, s, "/builds/"+buildID)
	p := getJSON(t, s, "/progress/"+str(b, "progress"))
	return str(p, "location", "type"), str(p, "location", "url")
}

func TestStorageHostServesSignedLogsThatExpire(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Pipelines: 3, Builds: 200})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	failed := s.BuildIDs("error")[0]
	typ, u := logURL(t, s, failed)
	if typ != "s3" || !strings.HasPrefix(u, s.StorageURL()+"/logs/") || s.StorageURL() == "" {
		t.Fatalf("location %s %s, storage host %s", typ, u, s.StorageURL())
	}
	code, body := storageGet(t, u)
	want, _ := s.BuildLog(failed)
	if code != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("GET log: %d, %d bytes, want the %d bytes of BuildLog", code, len(body), len(want))
	}
	var doc struct {
		Steps []struct {
			Name string   `json:"name"`
			Logs []string `json:"logs"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	// The steps are context-revision's, in order; the failed one is last and
	// ends with the error.
	rev := list(getJSON(t, s, "/workflow/"+failed+"/context-revision"))
	meta := at(rev[len(rev)-1], "context", "stepsMetadata").(map[string]any)
	var failedStep string
	for name, v := range meta {
		if str(v, "status") == "failure" {
			failedStep = name
		}
	}
	last := doc.Steps[len(doc.Steps)-1]
	if doc.Steps[0].Name != "Initializing Process" || last.Name != failedStep || len(doc.Steps) != len(meta)-1 {
		t.Fatalf("steps %d, last %q; context-revision has %d (failed %q)", len(doc.Steps), last.Name, len(meta), failedStep)
	}
	if end := last.Logs[len(last.Logs)-1]; !strings.HasSuffix(end, "exit code 1") {
		t.Fatalf("failed step ends with %q", end)
	}

	// Tampered signature, and the same URL after the simulated clock passed
	// its expiry: 403 as S3 answers.
	pu, _ := url.Parse(u)
	q := pu.Query()
	q.Set("X-Amz-Signature", strings.Repeat("0", 64))
	pu.RawQuery = q.Encode()
	if code, body := storageGet(t, pu.String()); code != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>SignatureDoesNotMatch</Code>")) {
		t.Fatalf("tampered: %d %.200s", code, body)
	}
	s.Advance(LogURLExpiry + time.Minute)
	if code, body := storageGet(t, u); code != http.StatusForbidden || !bytes.Contains(body, []byte("<Message>Request has expired</Message>")) {
		t.Fatalf("expired: %d %.200s", code, body)
	}
	_, fresh := logURL(t, s, failed)
	if fresh == u {
		t.Fatal("a fresh progress read gave the same URL")
	}
	if code, _ := storageGet(t, fresh); code != http.StatusOK {
		t.Fatalf("fresh URL: %d", code)
	}
	all, withAuth, withKey := s.StorageKeyCount()
	if all != 4 || withAuth != 0 || withKey != 0 {
		t.Fatalf("storage requests %d, with auth %d, with key %d", all, withAuth, withKey)
	}
}

func TestStorageHostLiveLogsAndFaults(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Pipelines: 3, Builds: 200})
	running := s.BuildIDs("running")
	if len(running) == 0 {
		t.Fatal("no running build")
	}
	if typ, u := logURL(t, s, running[0]); typ != "firebase" || !strings.HasPrefix(u, "https://codefresh-prod.firebaseio.com/build-logs/") {
		t.Fatalf("running build: %s %s", typ, u)
	}
	if _, ok := s.BuildLog(running[0]); ok {
		t.Fatal("a running build has a log file")
	}

	h := s.StorageHandler()
	_, u := logURL(t, s, s.BuildIDs("terminated")[0])
	serve := func(auth string) (int, http.Header, []byte) {
		r, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := &recorder{h: http.Header{}}
		h.ServeHTTP(w, r)
		return w.code, w.h, w.b.Bytes()
	}
	s.ExpireNextLogURLs(1)
	s.RedirectNextLogURL("http://169.254.169.254/")
	if code, hdr, _ := serve(""); code != http.StatusFound || hdr.Get("Location") != "http://169.254.169.254/" {
		t.Fatalf("redirect: %d %v", code, hdr)
	}
	if code, _, body := serve(""); code != http.StatusForbidden || !bytes.Contains(body, []byte("Request has expired")) {
		t.Fatalf("expire: %d %.200s", code, body)
	}
	if code, _, body := serve(canaryKey); code != http.StatusOK || !bytes.Contains(body, []byte("Build was terminated")) {
		t.Fatalf("log: %d %.200s", code, body)
	}
	all, withAuth, withKey := s.StorageKeyCount()
	if all != 3 || withAuth != 1 || withKey != 1 {
		t.Fatalf("recorded %d, with auth %d, with key %d; want 3, 1, 1", all, withAuth, withKey)
	}
	for _, r := range s.StorageRequests() {
		if strings.Contains(r.Path, "X-Amz") {
			t.Fatalf("recorded the query: %s", r.Path)
		}
	}
}

// Logs are deterministic for a seed and clock.
func TestBuildLogDeterministic(t *testing.T) {
	a := newTestServer(t, Config{Seed: 9, Pipelines: 2, Builds: 50})
	b := newTestServer(t, Config{Seed: 9, Pipelines: 2, Builds: 50})
	for _, id := range a.BuildIDs("error", "terminated", "success") {
		la, _ := a.BuildLog(id)
		lb, _ := b.BuildLog(id)
		if len(la) == 0 || !bytes.Equal(la, lb) {
			t.Fatalf("%s: logs differ or are empty", id)
		}
	}
}

type recorder struct {
	h    http.Header
	code int
	b    bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.b.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.code = code }
