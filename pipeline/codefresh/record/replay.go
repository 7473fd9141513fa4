package record

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/localapi"
)

// Replay serves a record back as the Codefresh API under /api: each request
// gets the recorded answers to the same method, path and query, in the
// order they were recorded (a 429 then a 200 replays as a retry), the last
// one again once they are used up. A request the record does not have gets
// 501 NOT_IN_RECORD. Any key, or none, is accepted.
//
// It is the storage host of the recorded log files too: a progress record
// it serves points location.url at its own /log-file/progress/{id}, which
// answers with the log file recorded for that progress record.
type Replay struct {
	Header   Header
	name     string // the record's file name, for the errors it serves
	entries  map[string][]Entry
	logFiles map[string][]Entry // by the path of the progress record that named each

	mu   sync.Mutex
	next map[string]int
	miss []string

	srv localapi.Server // serves it when started with Start
}

// Open reads a record.
func Open(path string) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open debug record: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 512<<20)
	rp := &Replay{name: filepath.Base(path), entries: map[string][]Entry{}, logFiles: map[string][]Entry{}, next: map[string]int{}}
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			if err := json.Unmarshal(sc.Bytes(), &rp.Header); err != nil || rp.Header.Format != Format {
				return nil, fmt.Errorf("%s is not a codefresh-mcp debug record (first line must have format %q)", path, Format)
			}
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("debug record %s line %d: %w", path, line, err)
		}
		if e.Kind == codefresh.KindLogFile {
			rp.logFiles[e.Path] = append(rp.logFiles[e.Path], e)
			continue
		}
		k := key(e.Method, e.Path, e.Query)
		rp.entries[k] = append(rp.entries[k], e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read debug record %s: %w", path, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s is empty, not a debug record", path)
	}
	return rp, nil
}

// key identifies a request: the query canonical (sorted), whatever the order sent.
func key(method, path, query string) string {
	q, err := url.ParseQuery(query)
	if err == nil {
		query = q.Encode()
	}
	return method + " " + path + "?" + query
}

// Requests is how many distinct requests the record answers, log files
// included.
func (rp *Replay) Requests() int { return len(rp.entries) + len(rp.logFiles) }

// Misses lists the requests that were not in the record, as "GET /path?query".
func (rp *Replay) Misses() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.miss...)
}

func (rp *Replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if progress, isLog := strings.CutPrefix(r.URL.EscapedPath(), logFilePrefix); isLog {
		rp.serveLogFile(w, r, progress)
		return
	}
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/api")
	k := key(r.Method, path, r.URL.RawQuery)
	rp.mu.Lock()
	list := rp.entries[k]
	if len(list) == 0 {
		rp.miss = append(rp.miss, strings.TrimSuffix(k, "?"))
		rp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotImplemented)
		msg, _ := json.Marshal(fmt.Sprintf("%s is not in the debug record: this load asked for something the recorded one did not", strings.TrimSuffix(k, "?")))
		fmt.Fprintf(w, `{"status":501,"code":"5010","name":"`+codefresh.NotInRecord+`","message":%s}`, msg)
		return
	}
	i := min(rp.next[k], len(list)-1)
	rp.next[k] = i + 1
	rp.mu.Unlock()
	e := list[i]
	if strings.HasPrefix(path, "/progress/") {
		e.Body = pointAtLogFile(e.Body, "http://"+r.Host+logFilePrefix+path)
	}
	rp.write(w, e)
}

// write sends a recorded answer.
func (rp *Replay) write(w http.ResponseWriter, e Entry) {
	if e.Status == 0 {
		// The recorded attempt got no response: cut the connection.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	for h, vs := range e.Header {
		w.Header()[h] = vs
	}
	body := e.Body
	if e.Omitted == OmittedNotJSON {
		body = `{"recorded body was cut short and not kept":` // still not JSON, as recorded
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(body))
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until ctx ends or
// Close is called. It returns the base URL, ending in /api.
func (rp *Replay) Start(ctx context.Context, addr string) (string, error) {
	return rp.srv.Start(ctx, "replay", addr, rp)
}

// Close stops a replay started with Start.
func (rp *Replay) Close() error { return rp.srv.Close("replay") }
