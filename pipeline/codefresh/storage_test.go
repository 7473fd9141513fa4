package codefresh_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

const signature = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"

func TestStorageClientKeepsTheSignedQueryOutOfErrors(t *testing.T) {
	var withAuth atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			withAuth.Add(1)
		}
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/logs/b.json?"+r.URL.RawQuery, http.StatusFound)
		case "/logs/b.json":
			_, _ = w.Write([]byte(`{"steps":[]}`))
		default:
			// S3 echoes what was signed, the signature among it.
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("<Error><Code>SignatureDoesNotMatch</Code><Message>bad X-Amz-Signature=" + signature +
				"</Message><SignatureProvided>" + signature + "</SignatureProvided></Error>"))
		}
	}))
	defer srv.Close()
	c := codefresh.NewStorageClient(srv.Client(), false)
	q := "?X-Amz-Expires=900&X-Amz-Signature=" + signature

	_, err := c.Get(context.Background(), "/progress/p", srv.URL+"/logs/a.json"+q)
	var se *codefresh.StorageError
	if !errors.As(err, &se) || se.Status != 403 || se.Code != "SignatureDoesNotMatch" || !se.Expired() {
		t.Fatalf("error %#v", err)
	}
	if want := "GET log file " + srv.URL + "/logs/a.json: HTTP 403 SignatureDoesNotMatch: bad X-Amz-Signature=[REDACTED]"; err.Error() != want {
		t.Fatalf("error %q\nwant  %q", err, want)
	}
	body, err := c.Get(context.Background(), "/progress/p", srv.URL+"/moved"+q)
	if err != nil || string(body) != `{"steps":[]}` {
		t.Fatalf("same-host redirect: %q, %v", body, err)
	}
	if withAuth.Load() != 0 {
		t.Fatalf("%d requests carried Authorization", withAuth.Load())
	}
}

func TestStorageClientRefusesMetadataAndOtherSchemes(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	defer srv.Close()
	c := codefresh.NewStorageClient(srv.Client(), false)
	for _, tc := range []struct{ url, want string }{
		{"http://169.254.169.254/latest/meta-data/?X-Amz-Signature=" + signature, "connection to 169.254.169.254 refused: a link-local or cloud metadata address"},
		{"file:///etc/passwd", "a log file is read over http or https only"},
		{srv.URL + "/r?to=http://169.254.169.254/x", "to http://169.254.169.254/x not followed: a link-local or cloud metadata address"},
		{srv.URL + "/r?to=file:///etc/passwd", "not followed: a log file is read over http or https only"},
	} {
		_, err := c.Get(context.Background(), "/progress/p", tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), signature) {
			t.Errorf("%s: %v, want %q", tc.url, err, tc.want)
		}
	}
	if served.Load() != 2 {
		t.Fatalf("storage host served %d requests, want the 2 redirects", served.Load())
	}
}

// The observer hears each log file asked for under the progress record that
// named it: the file itself, an error as its code and message alone, no
// answer as its cause; never the storage host or the signed query. A URL
// refused before asking is not an exchange.
func TestStorageClientObserverSeesNoHostOrQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/logs/b.json" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"steps":[]}`))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<Error><Code>SignatureDoesNotMatch</Code><Message>bad X-Amz-Signature=" + signature + " for " + r.Host +
			"</Message><SignatureProvided>" + signature + "</SignatureProvided></Error>"))
	}))
	host := strings.TrimPrefix(srv.URL, "http://")
	var heard []codefresh.Exchange
	c := codefresh.NewStorageClient(srv.Client(), false)
	c.Observe(func(ex codefresh.Exchange) { heard = append(heard, ex) })
	q := "?X-Amz-Expires=900&X-Amz-Signature=" + signature
	ctx := context.Background()
	_, _ = c.Get(ctx, "/progress/a", srv.URL+"/logs/a.json"+q)
	_, _ = c.Get(ctx, "/progress/b", srv.URL+"/logs/b.json"+q)
	_, _ = c.Get(ctx, "/progress/c", "file:///etc/passwd")
	srv.Close()
	_, _ = c.Get(ctx, "/progress/d", srv.URL+"/logs/d.json"+q)

	type seen struct{ kind, path, query, status, ctype, body, err string }
	var got []seen
	for _, ex := range heard {
		got = append(got, seen{ex.Kind, ex.Path, ex.Query, strconv.Itoa(ex.Status), ex.Header.Get("Content-Type"), string(ex.Body), ex.Error})
	}
	want := []seen{
		{codefresh.KindLogFile, "/progress/a", "", "403", "application/xml",
			"<Error><Code>SignatureDoesNotMatch</Code><Message>bad X-Amz-Signature=[REDACTED] for [storage host]</Message></Error>",
			"HTTP 403 SignatureDoesNotMatch: bad X-Amz-Signature=[REDACTED] for [storage host]"},
		{codefresh.KindLogFile, "/progress/b", "", "200", "application/json", `{"steps":[]}`, ""},
		{codefresh.KindLogFile, "/progress/d", "", "0", "", "", "dial tcp [storage host]: connect: connection refused"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("heard %q\nwant  %q", got, want)
	}
	for _, ex := range heard {
		if strings.Contains(ex.Error+string(ex.Body), host) || strings.Contains(ex.Error+string(ex.Body), signature) {
			t.Fatalf("exchange names the host or the signature: %+v", ex)
		}
	}
}
