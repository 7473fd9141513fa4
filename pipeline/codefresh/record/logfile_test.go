package record

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// A recorded log file is kept with the key and key-like secrets of its
// lines masked; a replay points the progress record's location at itself
// and serves the file there to a storage client. A file left out at the
// size bound, or not in the record at all, is a storage error naming the
// record.
func TestReplayServesRecordedLogFiles(t *testing.T) {
	const key = "canary-key-0123456789"
	path := filepath.Join(t.TempDir(), "logs.jsonl")
	progress := func(id string) []byte {
		return []byte(`{"id":"` + id + `","location":{"type":"s3","url":"https://bucket/x?X-Amz-Signature=s1gn4tur3s1gn4tur3"}}`)
	}
	logDoc := `{"steps":[{"name":"build","logs":["using ` + key + `","export PASSWORD=hunter2hunter2","done"]}]}`
	big := `{"steps":[{"name":"build","logs":["` + strings.Repeat("x", 900) + `"]}]}`
	rec, err := Create(path, Header{LoadID: "1"}, key, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		rec.Observe(codefresh.Exchange{Resource: "build_logs", Method: "GET", Path: "/progress/" + id, Attempt: 1, Status: 200, Body: progress(id)})
	}
	rec.Observe(codefresh.Exchange{Kind: codefresh.KindLogFile, Method: "GET", Path: "/progress/a", Attempt: 1, Status: 200, Body: []byte(logDoc)})
	rec.Observe(codefresh.Exchange{Kind: codefresh.KindLogFile, Method: "GET", Path: "/progress/b", Attempt: 1, Status: 200, Body: []byte(big)})
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, bad := range []string{key, "hunter2", "s1gn4tur3", "bucket"} {
		if strings.Contains(string(raw), bad) {
			t.Fatalf("record holds %q:\n%s", bad, raw)
		}
	}

	rp, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, err := rp.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	api, err := codefresh.New(codefresh.Options{BaseURL: base, APIKey: "any", RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	storage := codefresh.NewStorageClient(nil, false)
	res, _ := codefresh.Lookup("build_logs")
	read := func(id string) (string, error) {
		t.Helper()
		resp, err := api.GetFor(ctx, res, "/progress/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := codefresh.ParseProgress("/progress/"+id, resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(base, "/api") + "/log-file/progress/" + id; loc.URL != want || loc.Type != "s3" {
			t.Fatalf("location %+v, want url %s", loc, want)
		}
		body, err := storage.Get(ctx, "/progress/"+id, loc.URL)
		return string(body), err
	}

	body, err := read("a")
	if want := `{"steps":[{"logs":["using [REDACTED]","export PASSWORD=[REDACTED]","done"],"name":"build"}]}`; err != nil || body != want {
		t.Fatalf("log file a: %q, %v\nwant %q", body, err, want)
	}
	for id, msg := range map[string]string{
		"b": "the debug record logs.jsonl left the log file of /progress/b out: the record reached its size bound",
		"c": "the debug record logs.jsonl holds no log file of /progress/c (recorded without log files, or the recorded load did not read it)",
	} {
		_, err := read(id)
		var se *codefresh.StorageError
		if !errors.As(err, &se) || se.Status != 501 || se.Code != codefresh.NotInRecord || se.Message != msg {
			t.Errorf("log file %s: %v\nwant message %q", id, err, msg)
		}
	}
	if m := rp.Misses(); len(m) != 1 || m[0] != "GET log file of /progress/c" {
		t.Errorf("misses %q", m)
	}
}
