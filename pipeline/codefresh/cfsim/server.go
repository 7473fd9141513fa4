// Package cfsim is a faithful simulator of the Codefresh classic REST API
// (https://g.codefresh.io/api) as shared/codefresh/API.md documents it: the
// same paths, envelopes, field names, auth, error bodies and pagination rules
// (including the server-side cursor of /workflow and /images), over
// deterministic synthetic data derived from a seed. It stands in for the real
// API in tests, benchmarks and demos.
//
// Builds are stored as 24-byte records and rendered to JSON on demand, so a
// server with a million builds fits in a few tens of megabytes.
//
// Where the sources leave a behaviour unknown, the simulator makes a choice
// and documents it on the code ("our choice"). In short:
//   - cursor jumps and bad parameters: 400 {"code":"1400","name":"BAD_REQUEST_ERROR"};
//   - asking for the cursor's current page again re-serves it (a retry);
//     paginationReset=true restarts at page 1 whatever page is asked;
//     paginationDirection and, on /images, offset are accepted and ignored;
//   - 429 carries Retry-After (whole seconds) and a TOO_MANY_REQUESTS_ERROR body;
//     500 has a JSON body, 502/503/504 plain text as a proxy sends them;
//   - listings without limit get 25 items (the CLI's default);
//   - /pipelines/names and /audit use the guessed envelopes of the samples;
//   - approve/deny answer 400 (no build waits for approval); rebuild starts
//     a new pending build. All three are recorded (SideEffectCalls).
package cfsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/localapi"
)

// DemoAPIKey is the key accepted when Config.APIKey is empty. It is a
// well-known demo value, not a secret.
const DemoAPIKey = "cfsim-demo-key-not-a-secret"

// SecretMarker starts every secret value the simulator hands out (webhook
// secrets, plain context values, exposed build variables, decrypted values),
// so a test can prove a loader stored none of them.
const SecretMarker = "cfsimSECRET"

// DefaultNow is the simulated clock's start when Config.Now is zero: fixed so
// that the same seed always produces the same bytes.
var DefaultNow = time.Date(2024, 5, 6, 8, 0, 0, 0, time.UTC)

// Config describes the simulated account. Zero counts take defaults; a
// negative count means none.
type Config struct {
	Seed        int64
	Pipelines   int // default 20; at most 65,535
	Builds      int // default 1000; at most 16,777,215 (the ObjectId counter)
	Projects    int // default 5
	Images      int // default Builds/4
	StepTypes   int // default 40 (30 public marketplace steps + account steps)
	Users       int // default 5
	AuditEvents int // default 60

	// APIKey is the only key accepted (default DemoAPIKey). Never logged or echoed.
	APIKey string
	// Scopes granted to the key; nil means all. "build" grants "build:read" and "build:write".
	Scopes []string

	Now           time.Time     // clock start (default DefaultNow)
	History       time.Duration // span the initial builds cover, ending at Now (default 90 days)
	BuildsPerHour float64       // arrival rate used by Advance (default: the history's rate, at least 10)
	YAMLSize      int           // bytes of userYamlDescriptor / finalWorkflowYaml (default 1500)

	// Faults; also settable while serving with SetFaults.
	Latency      time.Duration // added to every request
	Rate429      float64       // share of requests answered 429 with Retry-After
	RetryAfter   time.Duration // Retry-After value, whole seconds (default 1s)
	Rate5xx      float64       // share answered 500/502/503/504
	TruncateRate float64       // share of 200 responses whose body is cut short

	// Deviations from the documented API (off by default); also settable
	// while serving with SetDeviations.
	Deviations Deviations
}

// Faults are the fault-injection knobs (see Config).
type Faults struct {
	Latency      time.Duration
	Rate429      float64
	RetryAfter   time.Duration
	Rate5xx      float64
	TruncateRate float64
}

// Request is one request the simulator served. It never holds the key.
type Request struct {
	Method    string
	Path      string // below the base URL, as sent (escaped), e.g. "/workflow", "/pipelines/backend%2Fbuild"
	Query     url.Values
	HasAuth   bool   // an Authorization header was present
	WithKey   bool   // it carried the key the simulator accepts (Config.APIKey)
	SessionID string // X-Pagination-Session-Id
	Status    int
}

// Server is a simulated Codefresh API. Safe for concurrent use.
type Server struct {
	cfg Config
	g   *gen

	mu        sync.RWMutex // builds, clock, pipeline lastExecuted
	builds    []build
	lanes     *lanes // what links the next builds to earlier ones
	now       int64
	nextAt    int64   // when the next build arrives (Advance)
	lastExec  []int64 // per pipeline: newest build's created, 0 if never run
	perHour   float64
	sideCalls []string // side-effect GETs that were called

	cmu     sync.Mutex
	cursors map[string]*cursor

	fmu      sync.Mutex
	faults   Faults
	scopes   []string
	frng     *rand.Rand
	scripts  map[string]*script
	devs     Deviations
	listings map[string]*listing // RepeatPage and LoopPages: pages served per listing

	rmu      sync.Mutex
	requests []Request

	srv  localapi.Server // serves it when started with Start
	logs logStore        // the storage host of build logs (storage.go)
}

type script struct {
	n      int
	status int
}

// New builds a simulator. It is deterministic: the same Config gives the same
// data and the same bytes.
func New(cfg Config) *Server {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&cfg.Projects, 5)
	def(&cfg.Pipelines, 20)
	def(&cfg.Builds, 1000)
	def(&cfg.Images, cfg.Builds/4)
	def(&cfg.StepTypes, 40)
	def(&cfg.Users, 5)
	def(&cfg.AuditEvents, 60)
	if cfg.Projects == 0 && cfg.Pipelines > 0 {
		cfg.Projects = 1
	}
	if cfg.Pipelines == 0 {
		cfg.Builds, cfg.Images = 0, 0 // builds and images come from pipelines
	}
	if cfg.Users == 0 {
		cfg.Users = 1 // the key's owner
	}
	cfg.Pipelines = min(cfg.Pipelines, maxPipelines)
	cfg.Builds = min(cfg.Builds, maxIndex)
	cfg.Images = min(cfg.Images, maxIndex)
	if cfg.APIKey == "" {
		cfg.APIKey = DemoAPIKey
	}
	if cfg.Now.IsZero() {
		cfg.Now = DefaultNow
	}
	cfg.Now = cfg.Now.UTC()
	if cfg.History <= 0 {
		cfg.History = 90 * 24 * time.Hour
	}
	if cfg.YAMLSize <= 0 {
		cfg.YAMLSize = 1500
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	now := cfg.Now.UnixMilli()
	g := newGen(&cfg, now)
	s := &Server{
		cfg:     cfg,
		g:       g,
		now:     now,
		cursors: map[string]*cursor{},
		scripts: map[string]*script{},
		frng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed)),
		faults: Faults{Latency: cfg.Latency, Rate429: cfg.Rate429, RetryAfter: cfg.RetryAfter,
			Rate5xx: cfg.Rate5xx, TruncateRate: cfg.TruncateRate},
		scopes: cfg.Scopes,
		devs:   cfg.Deviations,
	}
	s.builds, s.lanes = g.history(cfg.Builds, now, cfg.History)
	s.lastExec = make([]int64, len(g.pipelines))
	for i := range s.builds {
		s.lastExec[s.builds[i].pipeline] = s.builds[i].created
	}
	s.perHour = cfg.BuildsPerHour
	if s.perHour <= 0 {
		s.perHour = max(10, float64(cfg.Builds)/cfg.History.Hours())
	}
	s.nextAt = now + g.arrivalGap(uint64(len(s.builds)), s.perHour)
	return s
}

// Now is the simulated clock.
func (s *Server) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return time.UnixMilli(s.now).UTC()
}

// Advance moves the clock by d: builds arrive at the configured rate, and
// pending and running builds whose time has come start and finish.
func (s *Server) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now += d.Milliseconds()
	for s.nextAt <= s.now && len(s.builds) < maxIndex && len(s.g.pipelines) > 0 {
		idx := uint64(len(s.builds))
		b := s.g.newBuild(idx, s.nextAt, len(s.g.pipelines))
		s.lanes.shape(s.g, s.builds, &b)
		s.builds = append(s.builds, b)
		s.lastExec[b.pipeline] = b.created
		s.nextAt += s.g.arrivalGap(idx+1, s.perHour)
	}
}

// SetFaults replaces the fault knobs while serving.
func (s *Server) SetFaults(f Faults) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	s.faults = f
}

// Faults returns the current fault knobs.
func (s *Server) Faults() Faults {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.faults
}

// SetScopes replaces the key's scopes (nil = all).
func (s *Server) SetScopes(scopes []string) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.scopes = scopes
}

// FailNext makes the next n requests whose path (below the base URL, e.g.
// "/workflow") equals path fail with status (429 carries Retry-After).
// Scripted failures come before authentication and every other check.
func (s *Server) FailNext(path string, n, status int) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.scripts[path] = &script{n: n, status: status}
}

// maxRecorded bounds the request log of a long-running server.
const maxRecorded = 200_000

// Requests returns every request served so far (at most the latest
// 100,000-200,000 on a long-running server), oldest first.
func (s *Server) Requests() []Request {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return append([]Request(nil), s.requests...)
}

// KeyCount is how many requests the simulator served, and how many of them
// carried its key: what a test of where a key may go counts.
func (s *Server) KeyCount() (all, withKey int) {
	for _, r := range s.Requests() {
		all++
		if r.WithKey {
			withKey++
		}
	}
	return all, withKey
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.requests = nil
}

// SideEffectCalls lists the side-effect GETs served (rebuild, approve,
// deny) as "METHOD path"; a loader must never cause one.
func (s *Server) SideEffectCalls() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]string(nil), s.sideCalls...)
}

// Build reports a build's current status.
func (s *Server) Build(id string) (status string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.buildIndex(id)
	if !ok {
		return "", false
	}
	return s.builds[i].status(s.now), true
}

// BuildIDs lists build ids newest first, only those in the given statuses
// when any are given.
func (s *Server) BuildIDs(status ...string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for i := len(s.builds) - 1; i >= 0; i-- {
		b := &s.builds[i]
		if len(status) > 0 && !contains(status, b.status(s.now)) {
			continue
		}
		out = append(out, s.buildID(i))
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) buildID(i int) string {
	return s.g.oid(kBuild, uint64(i), s.builds[i].created/1000)
}

// buildIndex decodes a build id; the caller holds s.mu.
func (s *Server) buildIndex(id string) (int, bool) {
	idx, ok := s.g.decodeOID(id, kBuild)
	if !ok || idx >= uint64(len(s.builds)) || s.buildID(int(idx)) != id {
		return 0, false
	}
	return int(idx), true
}

// Handler serves the API under /api.
func (s *Server) Handler() http.Handler { return s }

// Start listens on addr (e.g. "127.0.0.1:0") and serves until ctx ends or
// Close is called. It returns the base URL, ending in /api.
// The storage host of build logs listens beside it (StorageURL).
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	base, err := s.srv.Start(ctx, "cfsim", addr, s)
	if err != nil {
		return "", err
	}
	if err := s.logs.start(ctx, s, addr); err != nil {
		return "", errors.Join(err, s.srv.Close("cfsim"))
	}
	return base, nil
}

// Close stops a server started with Start.
func (s *Server) Close() error {
	return errors.Join(s.srv.Close("cfsim"), s.logs.srv.Close("cfsim storage"))
}

// ServeHTTP runs the request through the same checks, in the same order, as
// the real gateway: scripted faults, latency, auth, route, scope, rate
// limit, server errors, then the handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{
		Method:    r.Method,
		Path:      strings.TrimPrefix(r.URL.EscapedPath(), "/api"),
		Query:     r.URL.Query(),
		HasAuth:   r.Header.Get("Authorization") != "",
		WithKey:   r.Header.Get("Authorization") == s.cfg.APIKey,
		SessionID: r.Header.Get("X-Pagination-Session-Id"),
	}
	devs := s.deviations()
	devs.deviateRequest(r, rec.Path)
	resp := s.deviateResponse(devs, r, rec.Path, s.serve(r, rec.Path))
	rec.Status = resp.status
	s.rmu.Lock()
	if len(s.requests) >= maxRecorded {
		// Bound a long-running server's memory: keep the newer half.
		s.requests = append(s.requests[:0], s.requests[maxRecorded/2:]...)
	}
	s.requests = append(s.requests, rec)
	s.rmu.Unlock()

	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	body := resp.body
	if resp.status == http.StatusOK && s.roll(func(f Faults) float64 { return f.TruncateRate }) {
		// Declare the full length and send half: the connection ends early,
		// as a dropped upstream connection does.
		h.Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(resp.status)
		_, _ = w.Write(body[:len(body)/2])
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (s *Server) serve(r *http.Request, path string) response {
	if resp, ok := s.scripted(path); ok {
		return resp
	}
	if d := s.Faults().Latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	key := r.Header.Get("Authorization")
	switch {
	case key == "":
		return errNoToken()
	case key != s.cfg.APIKey:
		return errBadToken()
	}
	if !strings.HasPrefix(path, "/") || !strings.HasPrefix(r.URL.EscapedPath(), "/api/") {
		return errNotFound(fmt.Sprintf("Route %s %s not found", r.Method, r.URL.EscapedPath()))
	}
	rt, params, ok := match(r.Method, path)
	if !ok {
		return errNotFound(fmt.Sprintf("Route %s %s not found", r.Method, r.URL.EscapedPath()))
	}
	if rt.scope != "" && !s.granted(rt.scope) {
		return errForbidden(rt.scope)
	}
	if s.roll(func(f Faults) float64 { return f.Rate429 }) {
		return s.err429()
	}
	if s.roll(func(f Faults) float64 { return f.Rate5xx }) {
		return s.err5xx()
	}
	c := &call{s: s, r: r, q: r.URL.Query(), params: params,
		cursorKey: key + "\x00" + r.Header.Get("X-Pagination-Session-Id")}
	return rt.h(c)
}

// scripted consumes one FailNext failure for path.
func (s *Server) scripted(path string) (response, bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	sc := s.scripts[path]
	if sc == nil || sc.n <= 0 {
		return response{}, false
	}
	sc.n--
	switch {
	case sc.status == http.StatusTooManyRequests:
		return s.err429Locked(), true
	case sc.status >= 500:
		return errStatus(sc.status), true
	}
	return errStatus(sc.status), true
}

// roll draws from the fault RNG (seeded, so a run is reproducible) when the
// knob is on.
func (s *Server) roll(rate func(Faults) float64) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	p := rate(s.faults)
	if p <= 0 {
		return false
	}
	return s.frng.Float64() < p
}

// granted: a scope is granted when listed exactly, or when its resource part
// is listed alone ("build" grants "build:read").
func (s *Server) granted(scope string) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.scopes == nil {
		return true
	}
	res, _, _ := strings.Cut(scope, ":")
	for _, have := range s.scopes {
		if have == scope || have == res {
			return true
		}
	}
	return false
}

// sortedKeys is a small helper for deterministic map iteration.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
