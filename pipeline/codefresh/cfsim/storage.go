package cfsim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/localapi"
)

// The storage host: a second listener, like the bucket a finished build's
// log file lives in. GET /progress/{id} points at it with a signed URL
// (S3 presigned style) that expires on the simulated clock; it answers
// 403 AccessDenied "Request has expired" as S3 does after that. It needs
// no key (the Codefresh CLI sends none) and records every request, so a
// test can prove that none carried the API key.

// LogURLExpiry is how long a signed log URL is valid on the simulated clock
// (our choice; S3 presigned URLs name theirs in X-Amz-Expires).
const LogURLExpiry = 15 * time.Minute

// StorageRequest is one request the storage host served. It keeps no query
// (the signature) and no header value.
type StorageRequest struct {
	Path    string
	HasAuth bool // an Authorization header was present
	WithKey bool // the API key was in a header or the URL
	Status  int
}

// logStore is the storage host's state.
type logStore struct {
	srv localapi.Server

	mu           sync.Mutex
	base         string // http://host:port, "" until started
	requests     []StorageRequest
	expireNext   int
	redirectNext string
}

// start listens beside the API (same host, another port).
func (l *logStore) start(ctx context.Context, s *Server, apiAddr string) error {
	host, _, err := net.SplitHostPort(apiAddr)
	if err != nil {
		host = "127.0.0.1"
	}
	base, err := l.srv.Start(ctx, "cfsim storage", net.JoinHostPort(host, "0"), http.HandlerFunc(s.serveStorage))
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.base = strings.TrimSuffix(base, "/api")
	l.mu.Unlock()
	return nil
}

// StorageURL is the storage host's origin, "" when the simulator was not
// started with Start.
func (s *Server) StorageURL() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.base
}

// StorageHandler serves the storage host (for a test that runs it on a
// listener of its own; SetStorageURL then names that listener).
func (s *Server) StorageHandler() http.Handler { return http.HandlerFunc(s.serveStorage) }

// SetStorageURL names the origin that signed log URLs point at.
func (s *Server) SetStorageURL(origin string) {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	s.logs.base = strings.TrimRight(origin, "/")
}

// StorageRequests lists the requests the storage host served, oldest first.
func (s *Server) StorageRequests() []StorageRequest {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return append([]StorageRequest(nil), s.logs.requests...)
}

// StorageKeyCount is how many requests the storage host served, how many
// carried an Authorization header and how many carried the API key.
func (s *Server) StorageKeyCount() (all, withAuth, withKey int) {
	for _, r := range s.StorageRequests() {
		all++
		if r.HasAuth {
			withAuth++
		}
		if r.WithKey {
			withKey++
		}
	}
	return all, withAuth, withKey
}

// ExpireNextLogURLs makes the next n storage GETs answer 403 "Request has
// expired", whatever their signature: a URL that aged between the progress
// read and the download.
func (s *Server) ExpireNextLogURLs(n int) {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	s.logs.expireNext = n
}

// RedirectNextLogURL makes the next storage GET answer 302 to location.
func (s *Server) RedirectNextLogURL(location string) {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	s.logs.redirectNext = location
}

// BuildLog is the log document the storage host serves for a build, as
// bytes, and whether the build exists and has finished (only then is its
// log a stored file).
func (s *Server) BuildLog(buildID string) ([]byte, bool) {
	s.mu.RLock()
	i, found := s.buildIndex(buildID)
	var b build
	if found {
		b = s.builds[i]
	}
	now := s.now
	s.mu.RUnlock()
	if !found || !settled(b.status(now)) {
		return nil, false
	}
	return appendLogDocument(nil, s.g.buildLog(uint64(i), &b, now, s.cfg.APIKey)), true
}

func settled(status string) bool { return status != "pending" && status != "running" }

// logLocation is the progress record's location for build idx: a signed URL
// on the storage host once the build finished, Firebase (live) before.
func (s *Server) logLocation(id string, idx uint64, b *build, now int64) (typ, u string) {
	if !settled(b.status(now)) {
		return "firebase", "https://codefresh-prod.firebaseio.com/build-logs/" + id
	}
	s.logs.mu.Lock()
	base := s.logs.base
	s.logs.mu.Unlock()
	if base == "" {
		base = "https://storage.example.com"
	}
	issued := now / 1000
	q := url.Values{}
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", "AKIASIMULATED/"+time.Unix(issued, 0).UTC().Format("20060102")+"/us-east-1/s3/aws4_request")
	q.Set("X-Amz-Date", time.Unix(issued, 0).UTC().Format("20060102T150405Z"))
	q.Set("X-Amz-Expires", strconv.Itoa(int(LogURLExpiry/time.Second)))
	q.Set("X-Amz-SignedHeaders", "host")
	q.Set("X-Amz-Signature", s.logSignature(idx, issued))
	return "s3", base + "/logs/" + id + ".json?" + q.Encode()
}

// logSignature is the signature of build idx's log URL issued at a second.
func (s *Server) logSignature(idx uint64, issued int64) string {
	var b strings.Builder
	for k := uint64(0); k < 4; k++ {
		fmt.Fprintf(&b, "%016x", s.g.h(kProgress, idx, 1<<32+uint64(issued)<<2+k))
	}
	return b.String()
}

// serveStorage answers one storage GET: a scripted redirect or expiry,
// else the log file when the signature is valid and unexpired.
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	rec := StorageRequest{Path: r.URL.EscapedPath(), HasAuth: r.Header.Get("Authorization") != ""}
	for _, vs := range r.Header {
		for _, v := range vs {
			rec.WithKey = rec.WithKey || strings.Contains(v, s.cfg.APIKey)
		}
	}
	rec.WithKey = rec.WithKey || strings.Contains(r.URL.RawQuery, url.QueryEscape(s.cfg.APIKey)) || strings.Contains(r.URL.RawQuery, s.cfg.APIKey)
	status, body, location := s.storageAnswer(r)
	rec.Status = status
	s.logs.mu.Lock()
	if len(s.logs.requests) < maxRecorded {
		s.logs.requests = append(s.logs.requests, rec)
	}
	s.logs.mu.Unlock()
	h := w.Header()
	if location != "" {
		h.Set("Location", location)
	}
	if status == http.StatusOK {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "application/xml")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) storageAnswer(r *http.Request) (status int, body []byte, location string) {
	s.logs.mu.Lock()
	redirect, expire := s.logs.redirectNext, s.logs.expireNext > 0 && s.logs.redirectNext == ""
	s.logs.redirectNext = ""
	if expire {
		s.logs.expireNext--
	}
	s.logs.mu.Unlock()
	now := s.Now()
	switch {
	case redirect != "":
		return http.StatusFound, nil, redirect
	case expire:
		return http.StatusForbidden, s3Error("AccessDenied", "Request has expired"), ""
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, s3Error("MethodNotAllowed", "The specified method is not allowed against this resource."), ""
	}
	id, okPath := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/logs/"), ".json")
	s.mu.RLock()
	idx, found := s.g.decodeOID(id, kProgress)
	found = okPath && found && idx < uint64(len(s.builds)) && s.g.oid(kProgress, idx, s.builds[idx].created/1000) == id
	var b build
	if found {
		b = s.builds[idx]
	}
	simNow := s.now
	s.mu.RUnlock()
	q := r.URL.Query()
	issuedAt, terr := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	switch {
	case !found:
		return http.StatusNotFound, s3Error("NoSuchKey", "The specified key does not exist."), ""
	case terr != nil || q.Get("X-Amz-Signature") != s.logSignature(idx, issuedAt.Unix()):
		return http.StatusForbidden, s3Error("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."), ""
	case now.After(issuedAt.Add(LogURLExpiry)):
		return http.StatusForbidden, s3Error("AccessDenied", "Request has expired"), ""
	case !settled(b.status(simNow)):
		return http.StatusNotFound, s3Error("NoSuchKey", "The specified key does not exist."), ""
	}
	return http.StatusOK, appendLogDocument(nil, s.g.buildLog(idx, &b, simNow, s.cfg.APIKey)), ""
}

// s3Error is an S3 error document.
func s3Error(code, msg string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + code + "</Code><Message>" + msg +
		"</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>")
}
