package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// A 50 MB JSON-RPC line on stdio is skipped as it streams by and answered
// with an error naming the limit, for its id; the next message is served.
func TestStdioRefusesOversizedMessage(t *testing.T) {
	s := New(Options{ProjectDir: t.TempDir()})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.ServeStdio(ctx, inR, outW) }()
	huge := strings.Repeat("x", 50<<20)
	go func() {
		for _, line := range []string{
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
			`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
			`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT '` + huge + `'"}}}`,
			`{"jsonrpc":"2.0","id":3,"method":"ping"}`,
		} {
			if _, err := io.WriteString(inW, line+"\n"); err != nil {
				return
			}
		}
	}()
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	got := map[string]json.RawMessage{}
	for len(got) < 3 && sc.Scan() {
		var m struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad output line %q: %v", sc.Text(), err)
		}
		got[string(m.ID)] = append(json.RawMessage(nil), sc.Bytes()...)
	}
	size := len(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT '`+`'"}}}`) + len(huge) + 1
	want := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"error":{"code":-32600,"message":"message of %d bytes refused: a message may be at most 1048576 bytes (1024 KiB); send shorter arguments (query's sql may be at most 64 KiB)"}}`, size)
	if string(got["2"]) != want {
		t.Errorf("answer to the oversized call:\n got %s\nwant %s", got["2"], want)
	}
	if !strings.Contains(string(got["3"]), `"result":{}`) {
		t.Errorf("ping after it: %s", got["3"])
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// requestID finds the id before the params, and gives up when the head is
// cut before it.
func TestRequestIDFromHead(t *testing.T) {
	for head, want := range map[string]any{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{"sql":"SEL`: int64(7),
		`{"id":"a-1","params":{"x":"y`:                             "a-1",
		`{"method":"tools/call","params":{"arguments":{"sql":"SEL`: nil,
		`not json`: nil,
	} {
		if got := requestID([]byte(head)); got != want {
			t.Errorf("requestID(%q) = %#v, want %#v", head, got, want)
		}
	}
}
