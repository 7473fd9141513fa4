package codefresh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// An error body of megabytes is read only up to MaxErrorBody, and the error
// keeps its status, code, name and the head of its message, saying it was
// cut and how long the body was; a key echoed in it never shows, not even a
// prefix of one the cut fell into.
func TestHugeErrorBodyIsCut(t *testing.T) {
	const huge = 5 << 20
	filler := strings.Repeat("x", huge)
	escaped := strings.Repeat(`\u00e9`, huge/6)
	small := strings.Repeat("y", 5000)
	const straddle = `{"code":"5000","message":"`
	bodies := map[string]string{
		// The key first (redacted in the message), then 5 MB.
		"/huge": `{"status":500,"code":"5000","name":"INTERNAL_ERROR","message":"` + canary + ` ` + filler + `"}`,
		// The cut falls inside an escape sequence.
		"/escaped": `{"status":400,"code":"4000","name":"BAD_REQUEST","message":"` + escaped + `"}`,
		// The cut falls inside the echoed key: 10 of its bytes are before it.
		"/straddle": straddle + filler[:codefresh.MaxErrorBody-len(straddle)-10] + canary + filler + `"}`,
		// A whole body, but a message over MaxErrorMessage.
		"/long": `{"status":400,"code":"4000","name":"BAD_REQUEST","message":"` + small + `"}`,
		// Not JSON: a proxy's page.
		"/page": `<html>` + filler + `</html>`,
	}
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/huge" {
			w.WriteHeader(500)
		} else {
			w.WriteHeader(400)
		}
		fmt.Fprint(w, bodies[r.URL.Path])
	})
	var mu sync.Mutex
	var seen []codefresh.Exchange
	c, _ := newClient(t, base, func(o *codefresh.Options) {
		o.MaxAttempts = 2
		o.Observe = func(ex codefresh.Exchange) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, ex)
		}
	})
	cases := []struct {
		path, code, name, head, tail string
	}{
		{"/huge", "5000", "INTERNAL_ERROR", "[REDACTED] xxxx", fmt.Sprintf("… (cut: the error body was %d bytes)", len(bodies["/huge"]))},
		{"/escaped", "4000", "BAD_REQUEST", "éééé", fmt.Sprintf("… (cut: the error body was %d bytes)", len(bodies["/escaped"]))},
		{"/straddle", "5000", "", "xxxx", fmt.Sprintf("… (cut: the error body was %d bytes)", len(bodies["/straddle"]))},
		{"/long", "4000", "BAD_REQUEST", "yyyy", "… (cut, 5000 bytes)"},
		{"/page", "", "", "<html>xxxx", fmt.Sprintf("… (cut: the error body was %d bytes)", len(bodies["/page"]))},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			_, err := c.Get(context.Background(), tc.path, nil)
			var ae *codefresh.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			noCanary(t, err)
			if ae.Code != tc.code || ae.Name != tc.name || !strings.HasPrefix(ae.Message, tc.head) || !strings.HasSuffix(ae.Message, tc.tail) {
				t.Errorf("code %q name %q message %.40q…%q; want %q %q %q…%q", ae.Code, ae.Name, ae.Message, ae.Message[max(0, len(ae.Message)-60):], tc.code, tc.name, tc.head, tc.tail)
			}
			if kept := strings.TrimSuffix(ae.Message, tc.tail); len(kept) > codefresh.MaxErrorMessage || !utf8.ValidString(kept) {
				t.Errorf("message head is %d bytes (valid UTF-8: %v), want at most %d", len(kept), utf8.ValidString(kept), codefresh.MaxErrorMessage)
			}
			if n := len(err.Error()); n > 2<<10 {
				t.Errorf("error text is %d bytes, want at most 2 KiB", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) == 0 {
				t.Fatal("no exchange observed")
			}
			for _, ex := range seen {
				if ex.Bytes != len(bodies[tc.path]) || len(ex.Body) > codefresh.MaxErrorBody || len(ex.Error) > 2<<10 {
					t.Errorf("exchange: bytes %d (want %d), body kept %d (want at most %d), error %d bytes", ex.Bytes, len(bodies[tc.path]), len(ex.Body), codefresh.MaxErrorBody, len(ex.Error))
				}
				if bytes.Contains(ex.Body, []byte(canary[:6])) && tc.path == "/straddle" {
					t.Errorf("the kept body ends in a prefix of the key: …%q", ex.Body[len(ex.Body)-40:])
				}
			}
		})
	}
}

// ErrorBody keeps a short error body as it is, and cuts a long one to its
// fields and the head of its message; the key is removed before the cut.
func TestErrorBody(t *testing.T) {
	redact := func(s string) string { return strings.ReplaceAll(s, canary, "[REDACTED]") }
	short := []byte(`{"status":500,"message":"boom"}`)
	if got := codefresh.ErrorBody(500, short, len(short), 4096, redact); !bytes.Equal(got, short) {
		t.Errorf("short body changed: %s", got)
	}
	long := []byte(`{"status":500,"code":"5000","name":"X","message":"` + strings.Repeat("z", codefresh.MaxErrorMessage-4) + canary + strings.Repeat("z", 10000) + `"}`)
	want := `{"status":500,"code":"5000","name":"X","message":"` + strings.Repeat("z", codefresh.MaxErrorMessage-4) + `[RED… (cut, ` + fmt.Sprint(codefresh.MaxErrorMessage-4+len("[REDACTED]")+10000) + ` bytes)"}`
	if got := codefresh.ErrorBody(500, long, len(long), 4096, redact); string(got) != want {
		t.Errorf("long body:\n got %s\nwant %s", got, want)
	}
}
