package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Paths served over HTTP.
const (
	MCPPath     = "/mcp"
	HealthzPath = "/healthz"
)

const (
	// maxHTTPBody bounds one POSTed message, as MaxLineBytes bounds a stdio line.
	maxHTTPBody = MaxLineBytes
	// sessionIdleTTL forgets sessions whose client went away without ending them.
	sessionIdleTTL = time.Hour
	// httpShutdownWait bounds how long requests in flight may finish at shutdown.
	httpShutdownWait = 10 * time.Second
)

// HTTPOptions configure ServeHTTP.
type HTTPOptions struct {
	Addr string // host:port to listen on; port 0 picks one
	// Tokens verifies the bearer token of every MCP request. Required.
	Tokens *secrets.TokenVerifier
	// AllowOrigins are browser origins (scheme://host[:port]) allowed
	// besides loopback ones; a request without Origin is always allowed.
	AllowOrigins []string
	// Listening, when set, is called once with the bound address, before
	// any request is served.
	Listening func(net.Addr)
}

// caller is the token an HTTP request was authenticated with.
type caller struct{ tokenID string }

type callerKey struct{}

// jobOwner names the owner of the load jobs a request starts and sees: the
// caller's token, and the MCP session when the client's protocol has one.
// Over stdio there is no caller: every request is the one owner "".
func jobOwner(ctx context.Context) string {
	c, ok := ctx.Value(callerKey{}).(caller)
	if !ok {
		return ""
	}
	owner := "token:" + c.tokenID
	if s := mcpserver.ClientSessionFromContext(ctx); s != nil && s.SessionID() != "" {
		owner += "/session:" + s.SessionID()
	}
	return owner
}

// IsLoopbackAddr reports whether addr (host:port) listens on loopback only.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// ServeHTTP serves MCP over Streamable HTTP at MCPPath until ctx ends,
// then stops taking requests, lets those in flight finish briefly and
// cancels running load jobs.
func (s *Server) ServeHTTP(ctx context.Context, opts HTTPOptions) error {
	if opts.Tokens == nil {
		return errors.New("serve http: no token verifier")
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("serve http: listen on %s: %w", opts.Addr, err)
	}
	mcpHTTP := s.newStreamable()
	srv := &http.Server{
		Handler:           s.httpHandler(mcpHTTP, opts),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Debug("serving MCP over HTTP", "url", "http://"+ln.Addr().String()+MCPPath, "tokens_file", opts.Tokens.Path())
	if opts.Listening != nil {
		opts.Listening(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ended := false
	select {
	case err = <-served:
		ended = true
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), httpShutdownWait)
	defer cancel()
	// Sessions first: their open event streams would hold Shutdown.
	_ = mcpHTTP.Shutdown(sctx)
	serr := srv.Shutdown(sctx)
	// Serve may not have taken the listener yet when Shutdown ran: close
	// it here, and return only once Serve has.
	ln.Close()
	if !ended {
		<-served
	}
	cerr := s.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return errors.Join(serr, cerr)
}

func (s *Server) newStreamable() *mcpserver.StreamableHTTPServer {
	return mcpserver.NewStreamableHTTPServer(s.mcp,
		mcpserver.WithEndpointPath(MCPPath),
		// Session ids the server did not issue are refused.
		mcpserver.WithStateful(true),
		mcpserver.WithSessionIdleTTL(sessionIdleTTL),
		mcpserver.WithStreamableHTTPLogger(s.log),
	)
}

// httpHandler routes: /healthz answers anyone; /mcp checks the Origin,
// then the bearer token, then hands the request to mcp.
func (s *Server) httpHandler(mcp http.Handler, opts HTTPOptions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(HealthzPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	allow := make([]string, 0, len(opts.AllowOrigins))
	for _, o := range opts.AllowOrigins {
		allow = append(allow, strings.TrimRight(o, "/"))
	}
	mux.Handle(MCPPath, s.guard(limitInFlight(mcp, s.stdio.InFlight), opts.Tokens, allow))
	return mux
}

// limitInFlight answers 503 to a message POSTed while max others are being
// served, as stdio answers busy: a client cannot pile up work without bound.
// Event streams (GET) are not counted: they wait, they do not work.
func limitInFlight(next http.Handler, max int) http.Handler {
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				w.Header().Set("Retry-After", "1")
				http.Error(w, fmt.Sprintf("Service Unavailable: %d requests are already in flight, the most the server serves at once", max), http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// guard refuses, before any MCP processing, a foreign Origin (403: a web
// page the user visits must not drive the server, DNS rebinding included)
// and a missing, unknown or revoked token (401). What it logs names the
// reason and the token's id, never a token.
func (s *Server) guard(next http.Handler, tokens *secrets.TokenVerifier, allowOrigins []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(status int, reason string) {
			s.log.Info("http request refused", "status", status, "reason", reason, "method", r.Method, "remote", r.RemoteAddr)
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="codefresh-mcp"`)
			}
			http.Error(w, http.StatusText(status)+": "+reason, status)
		}
		if origin := r.Header.Values("Origin"); len(origin) > 1 || (len(origin) == 1 && !originAllowed(origin[0], allowOrigins)) {
			refuse(http.StatusForbidden, "origin not allowed")
			return
		}
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			refuse(http.StatusUnauthorized, "a bearer token is required")
			return
		}
		info, ok, err := tokens.Verify(token)
		if err != nil {
			s.log.Error("token file unreadable: refusing every request", "err", err)
			http.Error(w, "Service Unavailable: the server cannot read its token file (see its log)", http.StatusServiceUnavailable)
			return
		}
		if !ok {
			refuse(http.StatusUnauthorized, "unknown or revoked token")
			return
		}
		s.log.Debug("http request", "token_id", info.ID, "method", r.Method)
		r.Body = http.MaxBytesReader(w, r.Body, maxHTTPBody)
		// What comes after sees who called, never the token.
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{tokenID: info.ID}))
		r.Header = r.Header.Clone()
		r.Header.Del("Authorization")
		next.ServeHTTP(w, r)
	})
}

// bearerToken is the token of an "Authorization: Bearer TOKEN" header.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// originAllowed: none (not a browser), a loopback page (http or https, any port), or one of
// allow exactly. Everything else, "null" included, is foreign.
func originAllowed(origin string, allow []string) bool {
	if origin == "" || slices.ContainsFunc(allow, func(a string) bool { return strings.EqualFold(a, origin) }) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.User != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}
