package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// statusOut is the part of load_status's and cancel_load's results these tests read.
type statusOut struct {
	Job struct {
		ID    string           `json:"job_id"`
		State trace.LoadStatus `json:"state"`
	} `json:"job"`
	Next string `json:"next"`
}

func decodeStatus(t *testing.T, m rpcMessage) statusOut {
	t.Helper()
	text, isErr := m.toolText(t)
	var st statusOut
	if isErr || json.Unmarshal([]byte(text), &st) != nil {
		t.Fatalf("not a job status: %s", m.raw)
	}
	return st
}

func (p *stdioPeer) startLoad(id int, args map[string]any) string {
	p.t.Helper()
	text, isErr := p.callTool(id, "start_load", args)
	var st struct {
		JobID string `json:"job_id"`
	}
	if isErr || json.Unmarshal([]byte(text), &st) != nil || st.JobID == "" {
		p.t.Fatalf("start_load: %s", text)
	}
	return st.JobID
}

// countLoads is how many loads _dlt_loads holds.
func (p *stdioPeer) countLoads(id int) float64 {
	p.t.Helper()
	text, isErr := p.callTool(id, "query", map[string]any{"sql": "SELECT count(*) AS n FROM codefresh_data._dlt_loads"})
	var q struct {
		Rows [][]float64 `json:"rows"`
	}
	if isErr || json.Unmarshal([]byte(text), &q) != nil || len(q.Rows) != 1 {
		p.t.Fatalf("query _dlt_loads: %s", text)
	}
	return q.Rows[0][0]
}

func idSet(from, n int) map[string]bool {
	ids := map[string]bool{}
	for i := range n {
		ids[fmt.Sprint(from+i)] = true
	}
	return ids
}

// 120 load_status waits on a slow load: ping, a quick read and cancel_load
// answer while the waits are blocked, and the cancel stops the load.
func TestStdioWaitsDoNotStarveOtherCalls(t *testing.T) {
	p := newStdioPeer(t, cfsim.Config{Seed: 3, Builds: 300, Pipelines: 6, Projects: 2}, nil)
	job := p.startLoad(1, map[string]any{})
	p.call(2, "load_status", map[string]any{"job_id": job, "wait_seconds": 50})
	if st := decodeStatus(t, p.await("2")); st.Job.State != trace.LoadSucceeded {
		t.Fatalf("first load = %+v", st)
	}

	// Each page of the second load takes 3 s: it runs for the whole test unless cancelled.
	p.sim.SetFaults(cfsim.Faults{Latency: 3 * time.Second})
	job = p.startLoad(3, map[string]any{"full_refresh": true})
	const waits = 120
	waitIDs := idSet(1000, waits)
	for i := range waits {
		p.call(1000+i, "load_status", map[string]any{"job_id": job, "wait_seconds": 50})
	}
	// Beyond the jobs' limit of blocked waits, load_status answers at once and says so.
	early := waits - pipeline.MaxWaiters
	if _, ok := p.waitFor(30*time.Second, func() (rpcMessage, bool) {
		n := 0
		for id := range waitIDs {
			if _, ok := p.byID[id]; ok {
				n++
			}
		}
		return rpcMessage{}, n == early && p.srv.jobs.Waiters() == pipeline.MaxWaiters
	}); !ok {
		t.Fatalf("want %d waits answered at once and %d blocked; got %d answered, %d blocked",
			early, pipeline.MaxWaiters, len(p.responses(waitIDs)), p.srv.jobs.Waiters())
	}
	for _, m := range p.responses(waitIDs) {
		st := decodeStatus(t, m)
		want := fmt.Sprintf("answered without waiting: %d load_status calls already wait on jobs, the most the server holds open; still running:", pipeline.MaxWaiters)
		if st.Job.State != trace.LoadRunning || !strings.HasPrefix(st.Next, want) {
			t.Fatalf("a wait beyond the limit answered %+v", st)
		}
	}

	sent := time.Now()
	p.send(`{"jsonrpc":"2.0","id":"ping","method":"ping"}`)
	p.call(10, "list_endpoints", map[string]any{"name": "pipelines"})
	p.call(11, "cancel_load", map[string]any{"job_id": job})
	ping, list, cancel := p.await(`"ping"`), p.await("10"), p.await("11")
	t.Logf("under %d blocked waits: ping %v, list_endpoints %v, cancel_load %v",
		pipeline.MaxWaiters, ping.when.Sub(sent), list.when.Sub(sent), cancel.when.Sub(sent))
	if ping.Error != nil || string(ping.Result) != "{}" {
		t.Fatalf("ping = %s", ping.raw)
	}
	if text, isErr := list.toolText(t); isErr || !strings.Contains(text, `"name":"pipelines"`) {
		t.Fatalf("list_endpoints = %s", text)
	}
	if st := decodeStatus(t, cancel); st.Job.State != trace.LoadCancelled {
		t.Fatalf("cancel_load = %+v, want the load cancelled before it finished", st)
	}

	// The blocked waits end with the cancelled job, after ping and list_endpoints answered.
	for id := range waitIDs {
		p.await(id)
	}
	blocked := 0
	for _, m := range p.responses(waitIDs) {
		st := decodeStatus(t, m)
		if strings.HasPrefix(st.Next, "answered without waiting") {
			continue
		}
		blocked++
		if st.Job.State != trace.LoadCancelled {
			t.Fatalf("a blocked wait answered %+v, want the cancelled job", st)
		}
		if m.seq < ping.seq || m.seq < list.seq {
			t.Fatalf("wait %s answered before ping (%d) or list_endpoints (%d): %d", m.ID, ping.seq, list.seq, m.seq)
		}
	}
	if blocked != pipeline.MaxWaiters {
		t.Fatalf("%d waits blocked, want %d", blocked, pipeline.MaxWaiters)
	}
	if n := p.countLoads(12); n != 1 {
		t.Fatalf("%v loads committed, want the first one only", n)
	}
}

// Closing stdin right after the requests: each is answered, with its real
// result, and a wait on a running load answers with the cancelled job.
func TestStdioAnswersEveryCallReadBeforeStdinCloses(t *testing.T) {
	p := newStdioPeer(t, cfsim.Config{Seed: 3, Builds: 300, Pipelines: 6, Projects: 2}, nil)
	datasettest.Write(t, filepath.Join(p.srv.deps.ProjectDir, "codefresh.duckdb"))
	p.sim.SetFaults(cfsim.Faults{Latency: 3 * time.Second})
	job := p.startLoad(1, map[string]any{})

	p.call(20, "query", map[string]any{"sql": "SELECT 1 AS one"})
	p.call(21, "load_status", map[string]any{"job_id": job, "wait_seconds": 50})
	p.call(22, "list_endpoints", map[string]any{})
	p.send(`{"jsonrpc":"2.0","id":23,"method":"ping"}`)
	if err := p.closeStdin(); err != nil {
		t.Fatalf("ServeStdio = %v", err)
	}

	if got := len(p.responses(idSet(20, 4))); got != 4 {
		t.Fatalf("%d responses to 4 requests", got)
	}
	text, isErr := p.await("20").toolText(t)
	if isErr || !strings.Contains(text, `"rows":[[1]]`) {
		t.Fatalf("query after stdin closed = %s", text)
	}
	if st := decodeStatus(t, p.await("21")); st.Job.State != trace.LoadCancelled {
		t.Fatalf("wait on a load when stdin closed = %+v", st)
	}
	if text, isErr := p.await("22").toolText(t); isErr || !strings.Contains(text, `"name":"pipelines"`) {
		t.Fatalf("list_endpoints = %.200s", text)
	}
	if m := p.await("23"); m.Error != nil || string(m.Result) != "{}" {
		t.Fatalf("ping = %s", m.raw)
	}
}

// addStubbornTool adds a tool that ignores cancellation until release is closed.
func addStubbornTool(p *stdioPeer) (release func()) {
	ch := make(chan struct{})
	p.srv.MCP().AddTool(mcp.NewTool("stubborn"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		<-ch
		return mcp.NewToolResultText("late"), nil
	})
	return func() { close(ch) }
}

// A call that does not stop when cancelled is answered by the transport, once.
func TestStdioAnswersACallThatDoesNotStop(t *testing.T) {
	limits := defaultStdioLimits()
	limits.Drain, limits.Grace = 200*time.Millisecond, 300*time.Millisecond
	p := newStdioPeer(t, cfsim.Config{Seed: 3}, &limits)
	release := addStubbornTool(p)
	defer release()
	p.call(30, "stubborn", nil)
	if err := p.closeStdin(); err != nil {
		t.Fatalf("ServeStdio = %v", err)
	}
	got := p.responses(idSet(30, 1))
	if len(got) != 1 || got[0].Error == nil || got[0].Error.Code != mcp.REQUEST_INTERRUPTED ||
		got[0].Error.Message != "stdin closed: tools/call was cancelled and did not stop within 300ms" {
		t.Fatalf("responses to the stubborn call = %+v", got)
	}
}

// Beyond InFlight requests, a request is answered busy at once; ping still answers.
func TestStdioAnswersBusyBeyondTheInFlightLimit(t *testing.T) {
	limits := defaultStdioLimits()
	limits.InFlight = 2
	p := newStdioPeer(t, cfsim.Config{Seed: 3}, &limits)
	release := addStubbornTool(p)
	p.call(40, "stubborn", nil)
	p.call(41, "stubborn", nil)
	p.call(42, "list_endpoints", nil)
	busy := p.await("42")
	if busy.Error == nil || busy.Error.Code != -32000 ||
		busy.Error.Message != "server busy: 2 requests are already in flight, the most it serves at once; retry when some have answered" {
		t.Fatalf("third call = %s", busy.raw)
	}
	p.send(`{"jsonrpc":"2.0","id":43,"method":"ping"}`)
	if m := p.await("43"); m.Error != nil {
		t.Fatalf("ping = %s", m.raw)
	}
	release()
	for _, id := range []string{"40", "41"} {
		if text, _ := p.await(id).toolText(t); text != "late" {
			t.Fatalf("stubborn %s = %s", id, text)
		}
	}
	if text, isErr := p.callTool(44, "list_endpoints", map[string]any{"name": "pipelines"}); isErr {
		t.Fatalf("list_endpoints once the calls ended = %s", text)
	}
}

// An over-long line is answered with an error naming the limit, matched to
// its id when the id comes first, and the next request is served.
func TestStdioOverLongLineIsAnsweredAndSkipped(t *testing.T) {
	p := newStdioPeer(t, cfsim.Config{Seed: 3}, nil)
	big := strings.Repeat("x", 2*MaxLineBytes)
	p.send(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT '` + big + `'"}}}`)
	p.send(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT '` + big + `'"}},"id":8}`)
	p.send(`{"jsonrpc":"2.0","id":9,"method":"ping"}`)
	want := "message too large: a JSON-RPC line is limited to 1048576 bytes; it was discarded unread"
	m := p.await("7")
	if m.Error == nil || m.Error.Code != mcp.INVALID_REQUEST || m.Error.Message != want {
		t.Fatalf("over-long line = %s", m.raw)
	}
	m = p.await("null") // its id comes after what is kept
	if m.Error == nil || m.Error.Code != mcp.INVALID_REQUEST || m.Error.Message != want {
		t.Fatalf("over-long line with a late id = %s", m.raw)
	}
	if m := p.await("9"); m.Error != nil || m.seq < p.await("7").seq {
		t.Fatalf("ping after the over-long lines = %s", m.raw)
	}
}

// The notifications of a call go out before its answer.
func TestStdioProgressPrecedesTheAnswer(t *testing.T) {
	p := newStdioPeer(t, cfsim.Config{Seed: 3, Builds: 300, Pipelines: 6, Projects: 2}, nil)
	p.sim.SetFaults(cfsim.Faults{Latency: 100 * time.Millisecond})
	job := p.startLoad(1, map[string]any{})
	p.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":{"progressToken":"tok"},"name":"load_status","arguments":{"job_id":"` + job + `","wait_seconds":50}}}`)
	answer := p.await("2")
	if st := decodeStatus(t, answer); st.Job.State != trace.LoadSucceeded {
		t.Fatalf("load = %+v", st)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var last rpcMessage
	for _, m := range p.lines {
		if m.Method == string(mcp.MethodNotificationProgress) && strings.Contains(string(m.Params), `"progressToken":"tok"`) {
			last = m
		}
	}
	if !strings.Contains(string(last.Params), `"total"`) || last.seq > answer.seq {
		t.Fatalf("last progress notification (line %d) %s; answer at line %d", last.seq, last.raw, answer.seq)
	}
}

// waitingPeer is a peer with a slow load running (job) and call 2, a
// load_status waiting for it, blocked.
func waitingPeer(t *testing.T) (*stdioPeer, string) {
	t.Helper()
	p := newStdioPeer(t, cfsim.Config{Seed: 3, Builds: 300, Pipelines: 6, Projects: 2}, nil)
	p.sim.SetFaults(cfsim.Faults{Latency: 3 * time.Second})
	job := p.startLoad(1, map[string]any{})
	p.call(2, "load_status", map[string]any{"job_id": job, "wait_seconds": 50})
	if _, ok := p.waitFor(30*time.Second, func() (rpcMessage, bool) { return rpcMessage{}, p.srv.jobs.Waiters() == 1 }); !ok {
		t.Fatal("the wait never blocked")
	}
	return p, job
}

// notifications/cancelled ends a wait: it answers with the job still running.
func TestStdioCancelledNotificationEndsAWait(t *testing.T) {
	p, job := waitingPeer(t)
	p.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"test"}}`)
	if st := decodeStatus(t, p.await("2")); st.Job.State != trace.LoadRunning {
		t.Fatalf("cancelled wait = %+v", st)
	}
	if st := decodeStatus(t, p.await(fmt.Sprint(p.cancelLoad(3, job)))); st.Job.State != trace.LoadCancelled {
		t.Fatalf("cancel_load = %+v", st)
	}
}

// A signal (ServeStdio's context cancelled) cancels the calls in flight,
// which still answer before ServeStdio returns.
func TestStdioSignalCancelsCallsWhichStillAnswer(t *testing.T) {
	p, job := waitingPeer(t)
	p.stop()
	select {
	case <-p.served:
	case <-time.After(30 * time.Second):
		t.Fatal("ServeStdio did not return after its context was cancelled")
	}
	if p.serveErr != nil {
		t.Fatalf("ServeStdio = %v", p.serveErr)
	}
	if st := decodeStatus(t, p.await("2")); st.Job.State != trace.LoadRunning {
		t.Fatalf("wait cut short by the signal = %+v", st)
	}
	if j, _ := p.srv.jobs.Get(job); j.Status().State != trace.LoadCancelled {
		t.Fatalf("load after ServeStdio returned = %s", j.Status().State)
	}
}

func (p *stdioPeer) cancelLoad(id int, job string) int {
	p.call(id, "cancel_load", map[string]any{"job_id": job})
	return id
}

// lineReader keeps at most max bytes of a line, and serves a last line without newline.
func TestLineReaderBoundsEveryLine(t *testing.T) {
	long := `{"id":5,` + strings.Repeat("y", 100)
	in := "0123456789\n" + "01234567890\n" + long + "\n" + "\r\n" + "last"
	lr := lineReader{r: bufio.NewReaderSize(strings.NewReader(in), 16), max: 10}
	type got struct {
		line    string
		tooLong bool
		err     error
	}
	var all []got
	for {
		line, tooLong, err := lr.next()
		all = append(all, got{string(line), tooLong, err})
		if err != nil {
			break
		}
	}
	want := []got{
		{"0123456789\n", false, nil},
		{"01234567890\n", true, nil},
		{long + "\n", true, nil}, // under idPrefixBytes: kept to find the id
		{"\r\n", false, nil},
		{"last", false, nil},
		{"", false, io.EOF},
	}
	if !slices.Equal(all, want) {
		t.Fatalf("lines = %+v\nwant    %+v", all, want)
	}
	if id := idFromPrefix([]byte(long)); string(id) != "5" {
		t.Fatalf("id of a cut line = %q", id)
	}
	huge := strings.Repeat("z", 3*idPrefixBytes)
	lr = lineReader{r: bufio.NewReaderSize(strings.NewReader(huge+"\n"), 16), max: 10}
	line, tooLong, err := lr.next()
	if len(line) != idPrefixBytes || !tooLong || err != nil {
		t.Fatalf("huge line: kept %d bytes, tooLong %v, err %v", len(line), tooLong, err)
	}
	if _, _, err := lr.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the huge line: %v", err)
	}
}

// Lines that are not requests: a parse error, an invalid request, and
// nothing for a blank line or a response from the client.
func TestStdioMalformedLinesGetErrors(t *testing.T) {
	p := newStdioPeer(t, cfsim.Config{Seed: 3}, nil)
	p.send(`not json`)
	p.send(`[1,2]`)
	p.send(``)
	p.send(`{"jsonrpc":"2.0","id":99,"result":{}}`)
	p.send(`{"jsonrpc":"2.0","id":"after","method":"ping"}`)
	after := p.await(`"after"`)
	p.mu.Lock()
	defer p.mu.Unlock()
	var got []string
	for _, m := range p.lines[p.byID[`"init"`].seq+1 : after.seq] {
		got = append(got, m.raw)
	}
	want := []string{
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: invalid character 'o' in literal null (expecting 'u')"}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: a message is a JSON object whose \"method\" is a string"}}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("answers =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
