package codefresh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// A finished build's log is a file on a storage host (a bucket): the
// progress record names it by a temporary signed URL. That URL's query is a
// credential and the host is not Codefresh, so it is read by a client of its
// own that carries no key and no Authorization header, and every error names
// the host and path only.

// LogLocation is where a progress record says a build's log is.
type LogLocation struct {
	Status string // the build's status as the progress record has it
	Type   string // "s3", "gcs", ... a stored file; "firebase": live
	URL    string // signed: never store, log or show it
}

// Live reports a log still being written (a running build), read through
// Firebase rather than as a file.
func (l LogLocation) Live() bool { return strings.EqualFold(l.Type, "firebase") }

// ParseProgress reads the location out of a GET /progress/{id} body; path
// is the request's, for the error.
func ParseProgress(path string, body []byte) (LogLocation, error) {
	var doc struct {
		Status   string `json:"status"`
		Location struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"location"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return LogLocation{}, &ShapeError{Resource: "build_logs", URL: path, Expected: []string{""}, Got: jsonErrorKind(err)}
	}
	return LogLocation{Status: doc.Status, Type: doc.Location.Type, URL: doc.Location.URL}, nil
}

// jsonErrorKind names a decoding error without quoting the input.
func jsonErrorKind(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " has the wrong type"
	}
	return "invalid JSON"
}

// StorageError is a log file that could not be read. It names the host and
// path, never the query.
type StorageError struct {
	Host, Path string
	Status     int    // 0: no HTTP answer
	Code       string // the storage host's error code (S3/GCS), cut
	Message    string // its message, cut, signature values removed
	Err        error  // no answer: why
}

func (e *StorageError) Error() string {
	at := "log file " + e.Host + e.Path
	switch {
	case e.Err != nil:
		return fmt.Sprintf("GET %s: %v", at, e.Err)
	case e.Code != "":
		return fmt.Sprintf("GET %s: HTTP %d %s: %s", at, e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("GET %s: HTTP %d", at, e.Status)
}

func (e *StorageError) Unwrap() error { return e.Err }

// Expired reports the answer of a signed URL past its expiry: S3 says 403
// AccessDenied, GCS 400 ExpiredToken.
func (e *StorageError) Expired() bool {
	return e.Status == http.StatusForbidden || e.Code == "ExpiredToken"
}

// Bounds of the storage client.
const (
	storageTimeout     = 60 * time.Second
	maxLogFileBytes    = 64 << 20
	maxStorageErrBytes = 4 << 10
)

// StorageClient reads log files from signed URLs. Safe for concurrent use.
type StorageClient struct {
	hc             *http.Client
	ua             string
	allowLinkLocal bool
	observe        func(Exchange) // nil: none
}

// NewStorageClient builds the client: given (tests) copied, else one on the
// transport that refuses link-local and metadata addresses unless the owner
// allowed them. It follows redirects only to http(s) and never to such an
// address.
func NewStorageClient(given *http.Client, allowLinkLocal bool) *StorageClient {
	var hc http.Client
	switch {
	case given != nil:
		hc = *given
	case !allowLinkLocal:
		hc.Transport = guardedTransport()
	}
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		re := &RedirectError{From: safeURL(via[len(via)-1].URL), To: safeURL(req.URL)}
		if req.Response != nil {
			re.Status = req.Response.StatusCode
		}
		switch {
		case refusedLogURL(req.URL, allowLinkLocal) != "":
			re.Reason = refusedLogURL(req.URL, allowLinkLocal)
			return re
		case len(via) >= maxRedirects:
			re.Reason = fmt.Sprintf("more than %d redirects", maxRedirects)
			return re
		}
		req.Header.Del("Authorization") // never set; and never carried on
		return nil
	}
	return &StorageClient{hc: &hc, ua: "codefresh-mcp", allowLinkLocal: allowLinkLocal}
}

// refusedLogURL says why a log URL (or a redirect's target) is not fetched,
// "" when it may be.
func refusedLogURL(u *url.URL, allowLinkLocal bool) string {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "a log file is read over http or https only"
	case u.User != nil:
		return "a log URL with user info is not used"
	case u.Hostname() == "":
		return "the log URL has no host"
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && secrets.ForbiddenAddr(a) && !allowLinkLocal {
		return "a link-local or cloud metadata address"
	}
	return ""
}

// Observe makes the client tell fn about every log file it asks a storage
// host for (the debug record). Set it before the first Get.
func (s *StorageClient) Observe(fn func(Exchange)) { s.observe = fn }

// Get reads the log file at the signed URL raw, which the progress record
// at progressPath named: an observer hears the exchange under that path.
func (s *StorageClient) Get(ctx context.Context, progressPath, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &StorageError{Host: "(unparsable URL)", Err: errors.New("the progress record's log URL is not a URL")}
	}
	fail := &StorageError{Host: u.Scheme + "://" + u.Host, Path: u.EscapedPath()}
	if why := refusedLogURL(u, s.allowLinkLocal); why != "" {
		if a, perr := netip.ParseAddr(u.Hostname()); perr == nil && secrets.ForbiddenAddr(a) {
			fail.Err = &AddressError{Address: u.Host}
		} else {
			fail.Err = errors.New(why)
		}
		return nil, fail
	}
	t0 := time.Now()
	res := s.fetch(ctx, u, fail)
	if s.observe != nil {
		s.observe(res.exchange(progressPath, u, time.Since(t0)))
	}
	if res.err != nil {
		return nil, res.err
	}
	return res.body, nil
}

// storageAnswer is one GET of a log file.
type storageAnswer struct {
	status int
	ctype  string
	body   []byte        // the file, or the error document's head
	err    *StorageError // nil on success
}

// fetch GETs the log file at u; fail is the error to fill.
func (s *StorageClient) fetch(ctx context.Context, u *url.URL, fail *StorageError) storageAnswer {
	actx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		fail.Err = errors.New("invalid log URL")
		return storageAnswer{err: fail}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.ua)
	resp, err := s.hc.Do(req)
	if err != nil {
		fail.Err = storageCause(ctx, err, u)
		return storageAnswer{err: fail}
	}
	defer resp.Body.Close()
	ans := storageAnswer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ans.body, _ = io.ReadAll(io.LimitReader(resp.Body, maxStorageErrBytes))
		fail.Status = resp.StatusCode
		fail.Code, fail.Message = storageErrorText(ans.body, u)
		ans.err = fail
		return ans
	}
	ans.body, err = io.ReadAll(io.LimitReader(resp.Body, maxLogFileBytes+1))
	switch {
	case err != nil:
		fail.Err = fmt.Errorf("reading the log file (%d bytes read): %w", len(ans.body), storageCause(ctx, err, u))
		ans.err = fail
	case len(ans.body) > maxLogFileBytes:
		fail.Err = fmt.Errorf("log file larger than %d MiB: not read", maxLogFileBytes>>20)
		ans.err = fail
	}
	return ans
}

// exchange is the answer as an observer may keep it: under the progress
// record's path, with no trace of the storage host or the signed query. An
// error document becomes one of its code and message alone (S3 echoes the
// signature in some), which reads back as the same StorageError.
func (a storageAnswer) exchange(progressPath string, u *url.URL, d time.Duration) Exchange {
	ex := Exchange{Kind: KindLogFile, Method: http.MethodGet, Path: progressPath, Attempt: 1,
		Status: a.status, Bytes: len(a.body), Duration: d, Body: a.body}
	if a.ctype != "" {
		ex.Header = http.Header{"Content-Type": {a.ctype}}
	}
	if a.err == nil {
		return ex
	}
	e := *a.err
	e.Host, e.Path = "", ""
	ex.Error = hideHost(strings.TrimPrefix(e.Error(), "GET log file : "), u)
	if a.status != 0 && (a.status < 200 || a.status > 299) {
		ex.Body = nil
		if e.Code != "" {
			ex.Header = http.Header{"Content-Type": {"application/xml"}}
			ex.Body = StorageErrorDocument(e.Code, hideHost(e.Message, u))
		}
	}
	return ex
}

// StorageErrorDocument is an S3-style error document that storageErrorText
// reads back as code and message. They are written as read (an S3 entity
// stays as sent), only a "<" is escaped so the element ends where it should.
func StorageErrorDocument(code, message string) []byte {
	esc := strings.NewReplacer("<", "&lt;")
	return []byte("<Error><Code>" + esc.Replace(code) + "</Code><Message>" + esc.Replace(message) + "</Message></Error>")
}

// hideHost removes u's host from text: a record names no storage host.
func hideHost(text string, u *url.URL) string {
	text = strings.ReplaceAll(text, u.Host, "[storage host]")
	if h := u.Hostname(); h != "" {
		text = strings.ReplaceAll(text, h, "[storage host]")
	}
	return scrubQuery(text, u)
}

// storageCause is a transport error without the URL (net/http quotes it,
// query and all).
func storageCause(ctx context.Context, err error, u *url.URL) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *RedirectError
	var ae *AddressError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &ae):
		return ae
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return errors.New(scrubQuery(err.Error(), u))
}

var (
	xmlCode    = regexp.MustCompile(`<Code>([^<]{1,100})</Code>`)
	xmlMessage = regexp.MustCompile(`<Message>([^<]{1,300})</Message>`)
)

// storageErrorText is the code and message of an S3 or GCS error document;
// nothing else of it is kept (S3 echoes the signature in some).
func storageErrorText(body []byte, u *url.URL) (code, msg string) {
	if m := xmlCode.FindSubmatch(body); m != nil {
		code = string(m[1])
	}
	if m := xmlMessage.FindSubmatch(body); m != nil {
		msg = string(m[1])
	}
	if code == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		var j struct {
			Error struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &j) == nil {
			code, msg = j.Error.Status, j.Error.Message
		}
	}
	return CutText(scrubQuery(code, u), 100), CutText(scrubQuery(msg, u), 300)
}

// scrubQuery removes from text every value of u's query (the signature
// among them) and the query itself.
func scrubQuery(text string, u *url.URL) string {
	if u.RawQuery != "" {
		text = strings.ReplaceAll(text, u.RawQuery, "[REDACTED]")
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 8 {
				text = strings.ReplaceAll(text, v, "[REDACTED]")
				text = strings.ReplaceAll(text, url.QueryEscape(v), "[REDACTED]")
			}
		}
	}
	return text
}
