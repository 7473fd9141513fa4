package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/server"
)

// httpFlags are serve's flags for the HTTP transport.
type httpFlags struct {
	addr         string
	allowWrites  bool
	allowOrigins []string
}

// serveHTTP runs `serve --http`: it refuses to start without a token, warns
// on stderr when the address is reachable from other machines, and prints
// the bound URL on stderr (tests and scripts read it there).
func serveHTTP(ctx context.Context, a *app, h httpFlags) error {
	tokens, err := secrets.NewTokenVerifier(secrets.Options{})
	if err != nil {
		return err
	}
	n, err := tokens.Count()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no HTTP token in %s: %s", tokens.Path(), noTokensNext)
	}
	if !server.IsLoopbackAddr(h.addr) {
		fmt.Fprintf(a.stderr, "WARNING: --http %s is reachable from other machines: tokens and data cross the network in clear text unless a TLS reverse proxy fronts this server; prefer 127.0.0.1 behind one\n", h.addr)
	}
	s, err := newServer(a, !h.allowWrites)
	if err != nil {
		return err
	}
	mode := "read-only"
	if h.allowWrites {
		mode = "writes allowed"
	}
	return s.ServeHTTP(ctx, server.HTTPOptions{
		Addr:         h.addr,
		Tokens:       tokens,
		AllowOrigins: h.allowOrigins,
		Listening: func(addr net.Addr) {
			fmt.Fprintf(a.stderr, "codefresh-mcp: serving MCP at http://%s%s (%s, %d tokens in %s); health at http://%s%s\n",
				addr, server.MCPPath, mode, n, tokens.Path(), addr, server.HealthzPath)
		},
	})
}
