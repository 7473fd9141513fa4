// Package localapi serves a stand-in for the Codefresh API (the simulator,
// a replayed record) on a local address, the way both start and stop it.
package localapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves one handler; the zero value is ready to Start.
type Server struct {
	mu  sync.Mutex
	srv *http.Server
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves h until ctx ends or
// Close is called. It returns the base URL, ending in /api; what names the
// server in errors is name.
func (s *Server) Start(ctx context.Context, name, addr string, h http.Handler) (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String() + "/api", nil
}

// Close stops a server started with Start; one never started is no error.
func (s *Server) Close(name string) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: close: %w", name, err)
	}
	return nil
}
