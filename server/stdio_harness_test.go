package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/logtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// canary is the API key of these tests: it must appear in no output and no log line.
const canary = "cfk-CANARY-7f3a9d1e5b"

// rpcMessage is one line the server wrote.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Params json.RawMessage `json:"params"`

	raw  string
	seq  int       // arrival order among all lines
	when time.Time // arrival time
}

// toolText is the text of a tools/call result, and whether it is a tool error.
func (m rpcMessage) toolText(t *testing.T) (string, bool) {
	t.Helper()
	var res struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if m.Error != nil || json.Unmarshal(m.Result, &res) != nil || len(res.Content) == 0 {
		t.Fatalf("not a tool result: %s", m.raw)
	}
	return res.Content[0].Text, res.IsError
}

// stdioPeer drives ServeStdio over pipes as an agent's client would.
type stdioPeer struct {
	t    *testing.T
	srv  *Server
	sim  *cfsim.Server
	in   *os.File // a kernel pipe, buffered as real stdin is
	logs *logtest.Buffer

	mu      sync.Mutex
	lines   []rpcMessage
	byID    map[string]rpcMessage
	arrived chan struct{} // closed and replaced at every line

	stop     context.CancelFunc // cancels ServeStdio's context, as a signal does
	served   chan struct{}      // closed when ServeStdio has returned and its output is recorded
	serveErr error
}

// newStdioPeer starts a server over pipes with a simulated Codefresh, and initializes it.
func newStdioPeer(t *testing.T, simCfg cfsim.Config, limits *stdioLimits) *stdioPeer {
	t.Helper()
	t.Setenv("HOME", t.TempDir()) // no ~/.cfconfig from the machine
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	simCfg.APIKey = canary
	sim := cfsim.New(simCfg)
	base, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	logs := &logtest.Buffer{}
	vars := map[string]string{secrets.EnvBaseURL: base, secrets.EnvAPIKey: canary}
	srv := New(Options{
		ProjectDir: t.TempDir(),
		Env:        func(k string) string { return vars[k] },
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if limits != nil {
		srv.stdio = *limits
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW := io.Pipe()
	p := &stdioPeer{t: t, srv: srv, sim: sim, in: inW, logs: logs, byID: map[string]rpcMessage{}, stop: cancel,
		arrived: make(chan struct{}), served: make(chan struct{})}
	read := make(chan struct{})
	go func() {
		p.readOutput(outR)
		close(read)
	}()
	go func() {
		p.serveErr = srv.ServeStdio(ctx, inR, outW)
		outW.Close()
		// served means every line written is recorded: an io.Pipe write
		// returns once read, before readOutput has stored the line.
		<-read
		close(p.served)
	}()
	t.Cleanup(func() {
		p.closeStdin()
		p.assertNoCanary()
	})
	p.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"stdio-test","version":"1"}}}`)
	p.await(`"init"`)
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return p
}

func (p *stdioPeer) readOutput(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var m rpcMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			m.Method = "!unparsable"
		}
		m.raw = sc.Text()
		m.when = time.Now()
		p.mu.Lock()
		m.seq = len(p.lines)
		p.lines = append(p.lines, m)
		if m.Method == "" {
			p.byID[string(m.ID)] = m
		}
		close(p.arrived)
		p.arrived = make(chan struct{})
		p.mu.Unlock()
	}
}

// closeStdin closes the server's stdin and waits for ServeStdio to return.
func (p *stdioPeer) closeStdin() error {
	p.t.Helper()
	p.in.Close()
	select {
	case <-p.served:
		return p.serveErr
	case <-time.After(90 * time.Second):
		p.t.Fatal("ServeStdio did not return after stdin closed")
		return nil
	}
}

// responses returns every response whose id is in ids, in arrival order.
func (p *stdioPeer) responses(ids map[string]bool) []rpcMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []rpcMessage
	for _, m := range p.lines {
		if m.Method == "" && ids[string(m.ID)] {
			out = append(out, m)
		}
	}
	return out
}

// send writes one line to the server's stdin.
func (p *stdioPeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatalf("write to stdin: %v", err)
	}
}

// call sends a tools/call with a numeric id.
func (p *stdioPeer) call(id int, tool string, args map[string]any) {
	p.t.Helper()
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(string(b))
}

// await returns the response with the raw JSON id, waiting up to a minute for it.
func (p *stdioPeer) await(id string) rpcMessage {
	p.t.Helper()
	m, ok := p.waitFor(time.Minute, func() (rpcMessage, bool) {
		m, ok := p.byID[id]
		return m, ok
	})
	if !ok {
		p.t.Fatalf("no response to id %s within a minute; logs:\n%s", id, p.logs.String())
	}
	return m
}

// waitFor waits until cond (called with p.mu held) holds or limit passes;
// it checks at every line and every few milliseconds, for conditions on the server.
func (p *stdioPeer) waitFor(limit time.Duration, cond func() (rpcMessage, bool)) (rpcMessage, bool) {
	deadline := time.After(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		m, ok := cond()
		arrived := p.arrived
		p.mu.Unlock()
		if ok {
			return m, true
		}
		select {
		case <-arrived:
		case <-tick.C:
		case <-deadline:
			return rpcMessage{}, false
		}
	}
}

// callTool sends a tools/call and waits for its response.
func (p *stdioPeer) callTool(id int, tool string, args map[string]any) (string, bool) {
	p.t.Helper()
	p.call(id, tool, args)
	return p.await(fmt.Sprint(id)).toolText(p.t)
}

func (p *stdioPeer) assertNoCanary() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.lines {
		if strings.Contains(m.raw, canary) || strings.Contains(m.raw, "CANARY") {
			p.t.Errorf("canary key in output: %.300s", m.raw)
		}
	}
	if strings.Contains(p.logs.String(), canary) {
		p.t.Error("canary key in the logs")
	}
}
