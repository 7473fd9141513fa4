// Package dashboard is the local web page of `codefresh-mcp show`: what is
// in the dataset, how fresh it is, what the loads did, the schema, CI
// insights and a read-only query box. Pages are rendered on the server with
// html/template (so Codefresh text is escaped wherever it lands), charts are
// SVG drawn in Go, and the few assets are embedded: no script, no CDN, no
// network. Every read goes through the dataset's sandboxed Reader, so the
// DuckDB file is opened read-only and briefly, per request.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// Options configure a dashboard.
type Options struct {
	Reader   dataset.Reader // the project's dataset; required
	Pipeline string         // pipeline name whose state holds the cursors
	Dataset  string         // the dataset (schema) name; required
	// Traces, when set, supplies the load traces (status, pages, retries,
	// warnings, errors); without it the Loads page shows _dlt_loads alone.
	Traces TraceSource
	// ExtraHosts are more host names the browser may use (a wildcard bind's
	// interface addresses); loopback names are always accepted.
	ExtraHosts []string
	Now        func() time.Time // nil = time.Now
	Logger     *slog.Logger     // nil = discard
}

// Server renders the pages. It holds no data: each request reads afresh.
type Server struct {
	opts  Options
	token string
	pages *pages
	// turn lets one page read at a time, and freeFrom (guarded by turn)
	// keeps the next read waiting as long as the last one took: the DuckDB
	// file is free at least half the time, so a load's commit, which needs
	// it to itself and retries at intervals, gets in however many tabs reload.
	turn     chan struct{}
	freeFrom time.Time
}

// New checks the options and makes the token and templates.
func New(opts Options) (*Server, error) {
	if opts.Reader == nil || opts.Dataset == "" {
		return nil, errors.New("dashboard: a dataset reader and its dataset name are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, token: token, turn: make(chan struct{}, 1)}
	if s.pages, err = parsePages(s.funcs()); err != nil {
		return nil, err
	}
	return s, nil
}

// Token is the secret every request must carry.
func (s *Server) Token() string { return s.token }

// URL is the address to open for a server listening at addr, token included.
// A wildcard address is shown as 127.0.0.1.
func (s *Server) URL(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/?" + tokenParam + "=" + url.QueryEscape(s.token)
}

// Handler is the guarded dashboard for a listener at addr.
func (s *Server) Handler(addr net.Addr) http.Handler {
	_, port, _ := net.SplitHostPort(addr.String())
	return &guard{
		token:  s.token,
		cookie: "cfmcp_dashboard_" + port,
		hosts:  hostNames(addr, s.opts.ExtraHosts...),
		next:   s.routes(),
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assetFS())))
	mux.HandleFunc("GET /{$}", s.page("overview", s.overview))
	mux.HandleFunc("GET /loads", s.page("loads", s.loads))
	mux.HandleFunc("GET /schema", s.page("schema", s.schema))
	mux.HandleFunc("GET /ci", s.page("ci", s.insights))
	mux.HandleFunc("GET /query", s.page("query", s.queryForm))
	mux.HandleFunc("POST /query", s.page("query", s.queryRun))
	mux.HandleFunc("POST /query.csv", s.queryCSV)
	return mux
}

// Serve answers on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(ln.Addr()),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("dashboard shutdown: %w", err)
	}
	return nil
}
