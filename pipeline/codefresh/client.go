package codefresh

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// DefaultBaseURL is Codefresh SaaS.
const DefaultBaseURL = "https://g.codefresh.io/api"

// Defaults for Options left zero.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultMaxAttempts   = 5
	DefaultMaxRetryWait  = 2 * time.Minute
	DefaultRetryBaseWait = time.Second
	DefaultRatePerSecond = 10
	DefaultMaxPages      = 100000
	DefaultPageSize      = 100

	maxStepWait  = 30 * time.Second // one backoff step, unless Retry-After asks for more
	maxBodyBytes = 256 << 20
	// A body that is not valid JSON is asked for again at most this many times:
	// it may be a cut connection, but a server that always sends garbage should
	// fail fast.
	maxMalformedRetries = 2
)

// Options configure a Client. Zero values take the defaults above.
type Options struct {
	BaseURL string // default DefaultBaseURL
	APIKey  string // sent raw as the Authorization header; never logged
	// HTTPClient, when set, is copied and given the redirect policy; its
	// transport is used as is (no dial-time address check). Tests set it.
	HTTPClient *http.Client
	// AllowLinkLocal lets the base URL be a link-local or cloud metadata
	// address (the owner's EnvAllowLinkLocal); refused otherwise.
	AllowLinkLocal bool
	Timeout        time.Duration // per request attempt, default 30s
	// MaxAttempts caps tries per request (default 5); MaxRetryWait caps the
	// total backoff of one request (default 2m).
	MaxAttempts  int
	MaxRetryWait time.Duration
	// RetryBaseWait is the first backoff step (default 1s); steps double,
	// with full jitter. Tests set milliseconds.
	RetryBaseWait time.Duration
	// RatePerSecond and Burst shape the token bucket shared by all calls of
	// the Client (default 10/s, burst = rate). A negative rate means no limit.
	RatePerSecond float64
	Burst         int
	Logger        *slog.Logger
	UserAgent     string
	MaxPages      int // loop guard: more pages than this in one listing is an error (default 100000)
	// Observe, when set, hears every HTTP attempt (the load trace and the
	// debug record). It is called from the requesting goroutine.
	Observe func(Exchange)
}

// OptionsFor are the options of a client that sends this key: every client
// with a resolved key starts from them, so that the base URL and its address
// policy cannot be set apart from the key.
func OptionsFor(c *secrets.Credentials) Options {
	return Options{BaseURL: c.BaseURL, APIKey: c.APIKey(), AllowLinkLocal: c.AllowLinkLocal()}
}

// Exchange is one HTTP attempt as the trace and the debug record see it. It
// holds no request header and only the response headers in SafeHeaders; the
// body is as received, and whoever keeps it must sanitize it (Sanitize).
type Exchange struct {
	Resource string        `json:"resource,omitempty"` // catalog resource, "" when the path has none
	Method   string        `json:"method"`
	Path     string        `json:"path"`            // below the base URL, escaped as sent
	Query    string        `json:"query,omitempty"` // encoded; secret-looking values replaced
	Attempt  int           `json:"attempt"`
	Status   int           `json:"status"` // 0: no HTTP response
	Bytes    int           `json:"bytes"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"` // why the attempt failed, key removed
	Retry    string        `json:"retry,omitempty"` // why it is tried again ("" = final)
	Wait     time.Duration `json:"wait_ns,omitempty"`
	Header   http.Header   `json:"header,omitempty"` // SafeHeaders of the response
	Body     []byte        `json:"-"`
	// Kind is "" for an API exchange and KindLogFile for the GET of a log
	// file on its storage host: then Path is the progress record that named
	// the file, since the signed URL (host and query) is never kept.
	Kind string `json:"kind,omitempty"`
}

// KindLogFile marks the Exchange of a log file read from its storage host.
const KindLogFile = "log_file"

// SafeHeaders are the only response headers an Exchange keeps: none can
// carry a credential.
var SafeHeaders = []string{"Content-Type", "Retry-After"}

// Client reads the Codefresh REST API. Safe for concurrent use.
type Client struct {
	base      *url.URL
	key       string
	hc        *http.Client
	limiter   *rate.Limiter
	log       *slog.Logger
	ua        string
	timeout   time.Duration
	attempts  int
	retryWait time.Duration
	baseWait  time.Duration
	maxPages  int
	observe   func(Exchange)

	requests atomic.Int64
	retries  atomic.Int64
}

// Stats counts HTTP attempts and retries over the Client's life.
type Stats struct {
	Requests int64 `json:"requests"`
	Retries  int64 `json:"retries"`
}

// Response is one successful GET.
type Response struct {
	Status   int
	Body     []byte
	Duration time.Duration // all attempts and waits included
	Attempts int
	URL      string // without anything secret
}

// New checks the options and builds a Client.
func New(opts Options) (*Client, error) {
	base, err := secrets.CheckBaseURL(strings.TrimRight(cmp.Or(opts.BaseURL, DefaultBaseURL), "/"), opts.AllowLinkLocal)
	if err != nil {
		return nil, err
	}
	base.RawQuery, base.Fragment = "", ""
	for _, r := range opts.APIKey {
		if r < 0x21 || r > 0x7e { // a header value; never print it
			return nil, errors.New("API key contains spaces or non-printable characters: copy it again (it is not shown here)")
		}
	}
	c := &Client{
		base:      base,
		key:       opts.APIKey,
		hc:        httpClient(opts.HTTPClient, base, opts.AllowLinkLocal),
		log:       opts.Logger,
		ua:        opts.UserAgent,
		timeout:   cmp.Or(opts.Timeout, DefaultTimeout),
		attempts:  cmp.Or(opts.MaxAttempts, DefaultMaxAttempts),
		retryWait: cmp.Or(opts.MaxRetryWait, DefaultMaxRetryWait),
		baseWait:  cmp.Or(opts.RetryBaseWait, DefaultRetryBaseWait),
		maxPages:  cmp.Or(opts.MaxPages, DefaultMaxPages),
		observe:   opts.Observe,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "codefresh-mcp"
	}
	rps := opts.RatePerSecond
	if rps == 0 {
		rps = DefaultRatePerSecond
	}
	if rps < 0 {
		c.limiter = rate.NewLimiter(rate.Inf, 1)
	} else {
		burst := opts.Burst
		if burst <= 0 {
			burst = max(1, int(rps))
		}
		c.limiter = rate.NewLimiter(rate.Limit(rps), burst)
	}
	return c, nil
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load()}
}

// BaseURL is the API base the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// Get sends one GET (with retries) to path under the base URL. Paths the
// guard refuses are never sent. The body of a success must be JSON.
func (c *Client) Get(ctx context.Context, path string, q url.Values) (*Response, error) {
	var m reqMeta
	if r, _, ok := ResourceForPath(path); ok {
		m = reqMeta{resource: r.Name, scope: r.Scope}
	}
	return c.get(ctx, path, q, nil, m, validJSON)
}

// GetFor is Get for a request made on behalf of res: the trace and the
// debug record file it under res, and drop res's SecretFields from it.
func (c *Client) GetFor(ctx context.Context, res Resource, path string, q url.Values) (*Response, error) {
	return c.get(ctx, path, q, nil, reqMeta{resource: res.Name, scope: res.Scope}, validJSON)
}

// reqMeta is what the catalog says of a request's path.
type reqMeta struct {
	resource string
	scope    string // the scope the endpoint needs
}

// redact removes the API key from text a server or the network produced.
func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[REDACTED]")
}

func (c *Client) buildURL(path string, q url.Values) (*url.URL, error) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#\\") || strings.HasPrefix(path, "//") {
		return nil, fmt.Errorf("path %q must start with / and carry no query (pass query parameters separately)", c.redact(path))
	}
	u := *c.base
	u.RawPath = ""
	u.Path = c.base.Path + path
	// Keep %2F inside a segment (pipeline names "project/pipeline").
	if un, err := url.PathUnescape(path); err == nil && un != path {
		u.Path = c.base.Path + un
		u.RawPath = c.base.EscapedPath() + path
	}
	u.RawQuery = q.Encode()
	if u.Host != c.base.Host || u.Scheme != c.base.Scheme {
		return nil, errors.New("path leaves the base URL")
	}
	return &u, nil
}

// displayURL is the URL for logs and errors: query values of parameters that
// look secret are replaced.
func (c *Client) displayURL(u *url.URL) string {
	d := *u
	if d.RawQuery != "" {
		q := d.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, s := range []string{"token", "secret", "key", "password", "auth"} {
				if strings.Contains(lk, s) {
					q[k] = []string{"REDACTED"}
				}
			}
		}
		d.RawQuery = q.Encode()
	}
	return c.redact(d.Redacted())
}

type attemptResult struct {
	status     int
	body       []byte
	size       int         // the body's length; an error body keeps only its head
	header     http.Header // SafeHeaders only
	retryAfter time.Duration
	hasAfter   bool
	err        error // transport error (no status)
	noRetry    bool  // err is not worth another attempt
}

// get sends one GET with retries. accept checks a successful body and
// reports where it is not JSON: such a body is asked for again (a cut
// connection), a few times.
func (c *Client) get(ctx context.Context, path string, q url.Values, hdr http.Header, meta reqMeta, accept func([]byte) error) (*Response, error) {
	if err := CheckRequest(path, q); err != nil {
		return nil, err
	}
	u, err := c.buildURL(path, q)
	if err != nil {
		return nil, err
	}
	shown := c.displayURL(u)
	start := time.Now()
	var waited time.Duration
	malformed := 0
	for attempt := 1; ; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("GET %s: %w", shown, ctxErr(ctx, err))
		}
		c.requests.Add(1)
		t0 := time.Now()
		res := c.once(ctx, u, hdr)
		c.log.Debug("codefresh request", "method", "GET", "url", shown, "status", res.status,
			"attempt", attempt, "duration", time.Since(t0).Round(time.Millisecond), "bytes", res.size)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GET %s: %w", shown, ctx.Err())
		}

		// Decide: done, fail now, or retry.
		var final error
		retry := false
		switch {
		case isPolicyRefusal(res.err):
			final = fmt.Errorf("GET %s: %w", shown, res.err)
		case res.err != nil:
			retry = !res.noRetry
			final = &TransportError{Method: "GET", URL: shown, Attempts: attempt, Err: res.err, msg: c.redact(res.err.Error())}
		case res.status >= 200 && res.status < 300:
			if jerr := accept(res.body); jerr != nil {
				malformed++
				retry = malformed <= maxMalformedRetries
				final = &DecodeError{Method: "GET", URL: shown, Attempts: attempt, Bytes: len(res.body), Err: jerr}
				break
			}
			c.report(meta, u, attempt, res, time.Since(t0), nil, 0)
			return &Response{Status: res.status, Body: res.body, Duration: time.Since(start), Attempts: attempt, URL: shown}, nil
		default:
			ae := newAPIError(res.status, res.body, res.size, "GET", c.redact(path), c.redact)
			ae.Attempts, ae.Scope = attempt, meta.scope
			final = ae
			retry = retryableStatus(res.status)
		}
		wait := c.backoff(attempt)
		if res.hasAfter {
			wait = res.retryAfter
		}
		if !retry || attempt >= c.attempts {
			c.report(meta, u, attempt, res, time.Since(t0), final, 0)
			c.setWaits(final, waited, res)
			return nil, final
		}
		if waited+wait > c.retryWait {
			c.report(meta, u, attempt, res, time.Since(t0), final, 0)
			c.setWaits(final, waited, res)
			c.log.Warn("codefresh retry budget exhausted", "url", shown, "status", res.status,
				"attempts", attempt, "next_wait", wait, "budget", c.retryWait)
			return nil, final
		}
		c.retries.Add(1)
		c.report(meta, u, attempt, res, time.Since(t0), final, wait)
		c.log.Info("codefresh retry", "url", shown, "status", res.status, "attempt", attempt,
			"wait", wait.Round(time.Millisecond), "reason", c.redact(final.Error()))
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("GET %s: %w", shown, err)
		}
		waited += wait
	}
}

// report tells the observer about one attempt; failed is why it failed (nil
// on success) and wait > 0 means it is tried again after that long.
func (c *Client) report(meta reqMeta, u *url.URL, attempt int, res attemptResult, d time.Duration, failed error, wait time.Duration) {
	if c.observe == nil {
		return
	}
	shown, _ := url.Parse(c.displayURL(u))
	ex := Exchange{
		Resource: meta.resource, Method: http.MethodGet, Path: strings.TrimPrefix(shown.EscapedPath(), c.base.EscapedPath()),
		Query: shown.RawQuery, Attempt: attempt, Status: res.status, Bytes: res.size, Duration: d,
		Header: res.header, Body: res.body,
	}
	if failed != nil {
		ex.Error = c.redact(failed.Error())
	}
	if wait > 0 {
		ex.Retry, ex.Wait = retryReason(res), wait
	}
	c.observe(ex)
}

// retryReason names why an attempt is tried again, for the trace.
func retryReason(res attemptResult) string {
	switch {
	case res.err != nil:
		return "network"
	case res.status == http.StatusTooManyRequests && res.hasAfter:
		return "rate limit (Retry-After)"
	case res.status == http.StatusTooManyRequests:
		return "rate limit"
	case res.status >= 500:
		return fmt.Sprintf("server error %d", res.status)
	case res.status >= 200 && res.status < 300:
		return "malformed body"
	}
	return fmt.Sprintf("HTTP %d", res.status)
}

// setWaits records on an API error the backoff spent and the wait the
// server asked for last (Retry-After), with what this client would wait.
func (c *Client) setWaits(err error, waited time.Duration, res attemptResult) {
	if ae, ok := err.(*APIError); ok {
		ae.Waited = waited
		if res.hasAfter {
			ae.RetryAfter, ae.WaitBudget = res.retryAfter, c.retryWait
		}
	}
}

func (c *Client) once(ctx context.Context, u *url.URL, hdr http.Header) attemptResult {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return attemptResult{err: errors.New("build request: invalid URL")}
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if c.key != "" {
		req.Header.Set("Authorization", c.key)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		return attemptResult{err: transportCause(err, actx, c.timeout), noRetry: isPolicyRefusal(err)}
	}
	defer resp.Body.Close()
	var body []byte
	var size int
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		body, err = readBody(resp.Body, resp.ContentLength)
		size = len(body)
	} else {
		body, size, err = c.readErrorBody(resp.Body)
	}
	if err != nil {
		return attemptResult{err: fmt.Errorf("reading response body (HTTP %d, %d bytes read): %w", resp.StatusCode, size, transportCause(err, actx, c.timeout))}
	}
	if size > maxBodyBytes {
		return attemptResult{noRetry: true, err: fmt.Errorf("response body (HTTP %d) larger than %d MiB: use a smaller page size", resp.StatusCode, maxBodyBytes>>20)}
	}
	res := attemptResult{status: resp.StatusCode, body: body, size: size, header: http.Header{}}
	for _, h := range SafeHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			res.header[h] = v
		}
	}
	res.retryAfter, res.hasAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return res
}

// readBody reads at most maxBodyBytes+1 bytes. A body of announced length
// is read into one buffer of that size (io.ReadAll would double its way
// there, copying a page body a dozen times).
func readBody(r io.Reader, length int64) ([]byte, error) {
	r = io.LimitReader(r, maxBodyBytes+1)
	if length <= 0 || length > maxBodyBytes {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, length+1) // +1: room to see the end without growing
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) { // longer than announced
			b = append(b, 0)[:len(b)]
		}
	}
}

// readErrorBody keeps the head of an error body (MaxErrorBody bytes) and
// only counts the rest, up to maxBodyBytes+1. A cut head also loses its last
// len(key) bytes: a key the server echoed across the cut would leave a
// prefix there that no redaction recognises.
func (c *Client) readErrorBody(r io.Reader) ([]byte, int, error) {
	head, err := io.ReadAll(io.LimitReader(r, MaxErrorBody))
	if err != nil {
		return head, len(head), err
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, maxBodyBytes-MaxErrorBody+1))
	size := len(head) + int(rest)
	if rest > 0 {
		head = head[:max(0, len(head)-len(c.key))]
	}
	return head, size, err
}

// transportCause drops the *url.Error wrapper (it repeats the URL) and names timeouts.
func transportCause(err error, actx context.Context, timeout time.Duration) error {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("request timed out after %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func retryableStatus(s int) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is exponential with full jitter: uniform in [0, min(step cap, base*2^(n-1))].
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.baseWait << min(attempt-1, 20)
	if ceil > maxStepWait || ceil <= 0 {
		ceil = maxStepWait
	}
	return rand.N(ceil + 1)
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)).Round(time.Second), true // a date has whole seconds
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// validJSON reports where a body stops being JSON.
func validJSON(b []byte) error {
	if json.Valid(b) {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return errors.New("invalid JSON")
}
