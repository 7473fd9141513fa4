package cli

// A scripted model on loopback for the real-client tests: it speaks the
// Anthropic Messages API (Claude Code) and the OpenAI Responses API (Codex)
// with streaming, and instead of thinking it follows a script that decides
// the next tool call from the tool results the client sent back. Every
// decision is made from the conversation in the request, so a client that
// retries or resends the history gets the same answer.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
)

// exchange is one of our tools called by the model, with what the client
// passed back as its result.
type exchange struct {
	Tool    string         // our tool's name (list_endpoints), not the client's alias
	Args    map[string]any // as the model sent them
	Result  string         // the result text the client passed back
	IsError bool
	done    bool // a result arrived
}

// modelScript decides the next call from the exchanges so far; call nil
// means the model answers final text and the turn ends.
type modelScript func(history []exchange) (call *exchange, final string)

// modelServer is the loopback model endpoint. It records every request body
// (for leak checks) and the longest conversation it saw (for assertions).
type modelServer struct {
	script modelScript
	URL    string

	mu       sync.Mutex
	bodies   []string
	history  []exchange // of the longest main conversation seen
	requests []string   // method and path of each request, for failure messages
	seq      int
}

func newModelServer(t *testing.T, script modelScript) *modelServer {
	t.Helper()
	m := &modelServer{script: script}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	m.URL = "http://" + ln.Addr().String()
	return m
}

// Bodies are every request body received, for the secret checks.
func (m *modelServer) Bodies() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.bodies...)
}

// History is the longest conversation of our tools the client sent.
func (m *modelServer) History() []exchange {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]exchange(nil), m.history...)
}

// Requests lists method and path of each request (for failure messages).
func (m *modelServer) Requests() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.requests, "\n")
}

func (m *modelServer) nextID(prefix string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	return fmt.Sprintf("%s_%04d", prefix, m.seq)
}

func (m *modelServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.bodies = append(m.bodies, string(body))
	m.requests = append(m.requests, r.Method+" "+r.URL.Path)
	// To see what a new client version sends: CODEFRESH_MCP_MODEL_DUMP=/some/dir.
	if d := os.Getenv("CODEFRESH_MCP_MODEL_DUMP"); d != "" {
		os.WriteFile(fmt.Sprintf("%s/%s-%03d.json", d, strings.TrimPrefix(m.URL, "http://127.0.0.1:"), len(m.bodies)), body, 0o644)
	}
	m.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages/count_tokens"):
		writeJSON(w, map[string]any{"input_tokens": 1000})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages"):
		m.anthropic(w, body)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/responses"):
		m.openai(w, body)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		writeJSON(w, map[string]any{"object": "list", "data": []any{}, "models": []any{}})
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// record keeps h when it is the longest conversation so far.
func (m *modelServer) record(h []exchange) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(h) >= len(m.history) {
		m.history = h
	}
}

// decide runs the script on a conversation; aliases maps our tool names to
// the names the client gave them. A conversation whose last call has no
// result yet is answered with text: the client is waiting on something else.
func (m *modelServer) decide(h []exchange, aliases map[string]string) (call *exchange, alias, final string) {
	m.record(h)
	for _, x := range h {
		if !x.done {
			return nil, "", "waiting for a tool result"
		}
	}
	call, final = m.script(h)
	if call == nil {
		return nil, "", final
	}
	alias, ok := aliases[call.Tool]
	if !ok {
		names := make([]string, 0, len(aliases))
		for k := range aliases {
			names = append(names, k)
		}
		return nil, "", fmt.Sprintf("the client did not offer tool %s (offered: %v)", call.Tool, names)
	}
	return call, alias, ""
}

// ourTool maps a client's tool name to ours: mcp__codefresh__query -> query.
func ourTool(name string) (string, bool) {
	for _, p := range []string{"mcp__codefresh__", "codefresh__", "codefresh."} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			return rest, true
		}
	}
	return "", false
}

// ---- Anthropic Messages API (Claude Code) ----

type anthropicRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"` // a string or a list of blocks
	} `json:"messages"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     map[string]any  `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
}

// decodeRequest decodes body into req, or answers 400 and says false.
func decodeRequest(w http.ResponseWriter, body []byte, req any) bool {
	if err := json.Unmarshal(body, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (m *modelServer) anthropic(w http.ResponseWriter, body []byte) {
	var req anthropicRequest
	if !decodeRequest(w, body, &req) {
		return
	}
	aliases := map[string]string{}
	for _, tl := range req.Tools {
		if ours, ok := ourTool(tl.Name); ok {
			aliases[ours] = tl.Name
		}
	}
	if len(aliases) == 0 {
		// A side request (a title, a summary, a quota check): plain text.
		m.anthropicReply(w, req.Stream, nil, "", "ok")
		return
	}
	var h []exchange
	byID := map[string]int{}
	for _, msg := range req.Messages {
		var blocks []anthropicBlock
		if json.Unmarshal(msg.Content, &blocks) != nil {
			continue // plain string content
		}
		for _, b := range blocks {
			switch b.Type {
			case "tool_use":
				if ours, ok := ourTool(b.Name); ok {
					byID[b.ID] = len(h)
					h = append(h, exchange{Tool: ours, Args: b.Input})
				}
			case "tool_result":
				if i, ok := byID[b.ToolUseID]; ok {
					h[i].Result, h[i].IsError, h[i].done = contentText(b.Content), b.IsError, true
				}
			}
		}
	}
	call, alias, final := m.decide(h, aliases)
	m.anthropicReply(w, req.Stream, call, alias, final)
}

// contentText is a tool result as either client sends it: a string, or a
// list of content blocks (Anthropic "text", OpenAI "input_text").
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &blocks)
	parts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n")
}

func (m *modelServer) anthropicReply(w http.ResponseWriter, stream bool, call *exchange, alias, text string) {
	id := m.nextID("msg")
	usage := map[string]any{"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	var block map[string]any
	stop := "end_turn"
	if call != nil {
		block = map[string]any{"type": "tool_use", "id": m.nextID("toolu"), "name": alias, "input": call.Args}
		stop = "tool_use"
	} else {
		block = map[string]any{"type": "text", "text": text}
	}
	if !stream {
		writeJSON(w, map[string]any{"id": id, "type": "message", "role": "assistant", "model": "scripted",
			"content": []any{block}, "stop_reason": stop, "stop_sequence": nil, "usage": usage})
		return
	}
	sse := newSSE(w)
	sse.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": "scripted", "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": usage}})
	if call != nil {
		args, _ := json.Marshal(call.Args)
		sse.event("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "tool_use", "id": block["id"], "name": alias, "input": map[string]any{}}})
		sse.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "input_json_delta", "partial_json": string(args)}})
	} else {
		sse.event("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "text", "text": ""}})
		sse.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": text}})
	}
	sse.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	sse.event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 10}})
	sse.event("message_stop", map[string]any{"type": "message_stop"})
}

// ---- OpenAI Responses API (Codex) ----

type openaiRequest struct {
	Stream bool              `json:"stream"`
	Input  []json.RawMessage `json:"input"`
	Tools  []json.RawMessage `json:"tools"`
}

type openaiItem struct {
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	CallID    string          `json:"call_id"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// openaiTools maps each offered function's full name to its namespace
// ("" for a plain function); a namespace's functions are named
// namespace__name in the map.
func openaiTools(tools []json.RawMessage, ns string, out map[string]string) {
	for _, raw := range tools {
		var tl struct {
			Type  string            `json:"type"`
			Name  string            `json:"name"`
			Tools []json.RawMessage `json:"tools"`
		}
		if json.Unmarshal(raw, &tl) != nil {
			continue
		}
		switch {
		case tl.Type == "namespace":
			openaiTools(tl.Tools, tl.Name, out)
		case ns != "":
			out[ns+"__"+tl.Name] = ns
		default:
			out[tl.Name] = ""
		}
	}
}

func (m *modelServer) openai(w http.ResponseWriter, body []byte) {
	var req openaiRequest
	if !decodeRequest(w, body, &req) {
		return
	}
	offered := map[string]string{}
	openaiTools(req.Tools, "", offered)
	aliases := map[string]string{}
	for n := range offered {
		if ours, ok := ourTool(n); ok {
			aliases[ours] = n
		}
	}
	if len(aliases) == 0 {
		m.openaiReply(w, nil, "", "", "ok")
		return
	}
	var h []exchange
	byID := map[string]int{}
	for _, raw := range req.Input {
		var it openaiItem
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		switch it.Type {
		case "function_call":
			name := it.Name
			if it.Namespace != "" {
				name = it.Namespace + "__" + it.Name
			}
			if ours, ok := ourTool(name); ok {
				var args map[string]any
				json.Unmarshal([]byte(it.Arguments), &args)
				byID[it.CallID] = len(h)
				h = append(h, exchange{Tool: ours, Args: args})
			}
		case "function_call_output":
			if i, ok := byID[it.CallID]; ok {
				h[i].Result, h[i].done = contentText(it.Output), true
			}
		}
	}
	call, alias, final := m.decide(h, aliases)
	m.openaiReply(w, call, offered[alias], alias, final)
}

func (m *modelServer) openaiReply(w http.ResponseWriter, call *exchange, ns, alias, text string) {
	id := m.nextID("resp")
	sse := newSSE(w)
	sse.event("response.created", map[string]any{"type": "response.created", "response": map[string]any{"id": id}})
	var item map[string]any
	if call != nil {
		args, _ := json.Marshal(call.Args)
		item = map[string]any{"type": "function_call", "id": m.nextID("fc"), "call_id": m.nextID("call"),
			"name": alias, "arguments": string(args), "status": "completed"}
		// A tool offered inside a namespace is called by namespace and name.
		if ns != "" {
			item["namespace"], item["name"] = ns, strings.TrimPrefix(alias, ns+"__")
		}
	} else {
		item = map[string]any{"type": "message", "id": m.nextID("msg"), "role": "assistant", "status": "completed",
			"content": []any{map[string]any{"type": "output_text", "text": text, "annotations": []any{}}}}
	}
	sse.event("response.output_item.added", map[string]any{"type": "response.output_item.added", "output_index": 0, "item": item})
	sse.event("response.output_item.done", map[string]any{"type": "response.output_item.done", "output_index": 0, "item": item})
	sse.event("response.completed", map[string]any{"type": "response.completed", "response": map[string]any{
		"id": id, "status": "completed", "usage": map[string]any{
			"input_tokens": 100, "input_tokens_details": map[string]any{"cached_tokens": 0},
			"output_tokens": 10, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": 110}}})
}

// sse writes server-sent events, flushing each.
type sse struct {
	w  *bufio.Writer
	fl http.Flusher
}

func newSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	return &sse{w: bufio.NewWriter(w), fl: fl}
}

func (s *sse) event(name string, data any) {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(data)
	fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, bytes.TrimSpace(b.Bytes()))
	s.w.Flush()
	if s.fl != nil {
		s.fl.Flush()
	}
}
