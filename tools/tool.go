// Package tools holds the MCP tools: one file per tool with its input and
// output types and one handler, thin over the pipeline and secrets packages.
// This file is the one generic helper that turns such a handler into an MCP
// tool: schema by reflection, annotations, argument decoding, results and
// errors (always redacted).
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Hints are a tool's four MCP behaviour annotations. Every tool states all
// four: mcp-go's defaults (destructive, not read-only) would be wrong for most.
type Hints struct {
	ReadOnly    bool // changes nothing on this machine or in Codefresh
	Destructive bool // may overwrite or remove data (only meaningful when not read-only)
	Idempotent  bool // calling again with the same arguments has no further effect
	OpenWorld   bool // talks to Codefresh (outside this machine)
}

// Tool is an MCP tool definition with its handler.
type Tool struct {
	Def     mcp.Tool
	Handler server.ToolHandlerFunc
}

// newTool builds a Tool from a typed handler. In must be a struct whose
// fields carry json and jsonschema tags (a description on every field); Out
// is returned as compact JSON, both as structured content and as text.
func newTool[In, Out any](d *Deps, name, title, description string, h Hints, fn func(context.Context, In) (Out, error)) Tool {
	schema, props := inputSchema[In]()
	def := mcp.NewToolWithRawSchema(name, description, schema)
	// The title at the top level is what current clients show; older ones
	// read it from the annotations, so it is in both.
	def.Title = title
	def.RawOutputSchema = outputSchema[Out]()
	def.Annotations = mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(h.ReadOnly),
		DestructiveHint: mcp.ToBoolPtr(h.Destructive),
		IdempotentHint:  mcp.ToBoolPtr(h.Idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(h.OpenWorld),
	}
	handler := func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		defer func() {
			if r := recover(); r != nil {
				d.logger().Error("tool panicked", "tool", name, "panic", d.redact(fmt.Sprint(r)), "stack", d.redact(string(debug.Stack())))
				res, err = d.errorResult(fmt.Errorf("internal error in %s: %v", name, r)), nil
			}
		}()
		in, err := decodeArgs[In](req.GetRawArguments(), props)
		if err != nil {
			return d.errorResult(err), nil
		}
		out, err := fn(withRequest(ctx, req), in)
		if err != nil {
			return d.errorResult(err), nil
		}
		return d.result(out)
	}
	return Tool{Def: def, Handler: handler}
}

// inputSchema reflects In into a JSON schema object (no $ref, no $schema,
// additionalProperties false) and returns it with In's property names.
func inputSchema[In any]() (json.RawMessage, []string) {
	r := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true}
	s := r.Reflect(new(In))
	s.Version = ""
	s.ID = ""
	var props []string
	for p := s.Properties.Oldest(); p != nil; p = p.Next() {
		props = append(props, p.Key)
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tool input schema for %T: %v", *new(In), err))
	}
	return b, props
}

// outputSchema reflects Out, the Go type every result of a tool is encoded
// from, into the outputSchema clients may check structuredContent against.
// Lists, maps and pointers may be encoded as null, so below the top level
// such values also allow null.
func outputSchema[Out any]() json.RawMessage {
	r := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Mapper: anyValue}
	t := reflect.TypeFor[Out]()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s := r.ReflectFromType(t)
	s.Version = ""
	s.ID = ""
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tool output schema for %v: %v", t, err))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("tool output schema for %v: %v", t, err))
	}
	if m["type"] != "object" {
		panic(fmt.Sprintf("tool output %v is not a JSON object", t))
	}
	nullable(m)
	if b, err = json.Marshal(m); err != nil {
		panic(fmt.Sprintf("tool output schema for %v: %v", t, err))
	}
	return b
}

// anyValue is the schema of a Go any (a query's cell, a sample record): any
// JSON value, each kind named, as strict schema checkers want a type.
func anyValue(t reflect.Type) *jsonschema.Schema {
	if t.Kind() != reflect.Interface {
		return nil
	}
	s := &jsonschema.Schema{}
	for _, k := range []string{"string", "number", "boolean", "object", "array", "null"} {
		s.AnyOf = append(s.AnyOf, &jsonschema.Schema{Type: k})
	}
	return s
}

// nullable lets the required lists, maps and pointers below the top of a
// schema also be null, as encoding/json writes them when nil (optional ones
// are omitted then).
func nullable(s map[string]any) {
	req := map[string]bool{}
	if r, ok := s["required"].([]any); ok {
		for _, k := range r {
			if ks, ok := k.(string); ok {
				req[ks] = true
			}
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k, p := range props {
			ps, ok := p.(map[string]any)
			if !ok {
				continue
			}
			nullable(ps)
			if t, _ := ps["type"].(string); req[k] && (t == "array" || t == "object") {
				props[k] = map[string]any{"anyOf": []any{ps, map[string]any{"type": "null"}}}
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if sub, ok := s[k].(map[string]any); ok {
			nullable(sub)
		}
	}
}

// decodeArgs turns the call's arguments into In. Unknown names are refused
// (a typo would silently change the question); a number or boolean sent as a
// string, and a single string for a list, are accepted as models often send them.
func decodeArgs[In any](raw any, props []string) (In, error) {
	var in In
	var args map[string]json.RawMessage
	switch v := raw.(type) {
	case nil:
		return in, nil
	case json.RawMessage:
		if len(v) == 0 || string(v) == "null" {
			return in, nil
		}
		if err := json.Unmarshal(v, &args); err != nil {
			return in, fmt.Errorf("arguments must be a JSON object: %w", err)
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return in, fmt.Errorf("arguments: %w", err)
		}
		if err := json.Unmarshal(b, &args); err != nil {
			return in, fmt.Errorf("arguments must be a JSON object: %w", err)
		}
	}
	var unknown []string
	for k := range args {
		if !slices.Contains(props, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		valid := "none"
		if len(props) > 0 {
			valid = strings.Join(props, ", ")
		}
		return in, fmt.Errorf("unknown argument(s) %s; this tool takes: %s", strings.Join(unknown, ", "), valid)
	}
	if err := checkArgSizes(args); err != nil {
		return in, err
	}
	coerce(reflect.TypeOf(in), args)
	b, err := json.Marshal(args)
	if err != nil {
		return in, fmt.Errorf("arguments: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // nested objects too: a misspelt key must not vanish
	if err := dec.Decode(&in); err != nil {
		return in, withNext(fmt.Errorf("invalid arguments: %w", err), "check the argument names and types against the tool's input schema")
	}
	return in, nil
}

// Argument bounds: of one string (query's sql, a value in a map) and of
// all a call's arguments, as JSON. Nothing runs with an argument over them.
const (
	maxStringArg = 64 << 10
	maxArgsBytes = 256 << 10
)

// checkArgSizes refuses a call with a string argument over maxStringArg,
// naming it, or arguments over maxArgsBytes in all.
func checkArgSizes(args map[string]json.RawMessage) error {
	total := 0
	for _, name := range slices.Sorted(maps.Keys(args)) {
		v := args[name]
		total += len(name) + len(v)
		if n := longestString(v); n > maxStringArg {
			return errorf(fmt.Sprintf("send at most %d KiB in %s (for a query: select less text, or split it into smaller queries)", maxStringArg>>10, name),
				"argument %s has a string of %d bytes: a string argument may be at most %d bytes (%d KiB); nothing was run", name, n, maxStringArg, maxStringArg>>10)
		}
	}
	if total > maxArgsBytes {
		return errorf("send fewer or shorter arguments",
			"arguments are %d bytes: a call's arguments may be at most %d bytes (%d KiB) in all; nothing was run", total, maxArgsBytes, maxArgsBytes>>10)
	}
	return nil
}

// longestString is the length of the longest string in a JSON value (keys
// included), decoded; 0 for malformed JSON, which decoding refuses later.
func longestString(v json.RawMessage) int {
	dec := json.NewDecoder(bytes.NewReader(v))
	longest := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return longest
		}
		if s, ok := t.(string); ok {
			longest = max(longest, len(s))
		}
	}
}

// coerce rewrites "42" to 42, "true" to true and "x" to ["x"] where the
// field's Go type asks for a number, a boolean or a list of strings.
func coerce(t reflect.Type, args map[string]json.RawMessage) {
	if t.Kind() != reflect.Struct {
		return
	}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		v, ok := args[name]
		if !ok || len(v) < 2 || v[0] != '"' {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			continue
		}
		switch ft.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			var n json.Number
			if json.Unmarshal([]byte(strings.TrimSpace(s)), &n) == nil {
				args[name] = json.RawMessage(n)
			}
		case reflect.Bool:
			if s == "true" || s == "false" {
				args[name] = json.RawMessage(s)
			}
		case reflect.Slice:
			if ft.Elem().Kind() == reflect.String {
				args[name] = json.RawMessage("[" + string(v) + "]")
			}
		}
	}
}

// result returns out as compact JSON, structured and as text, redacted.
func (d *Deps) result(out any) (*mcp.CallToolResult, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return d.errorResult(fmt.Errorf("encode result: %w", err)), nil
	}
	text := d.redact(string(b))
	return &mcp.CallToolResult{
		Content:           []mcp.Content{mcp.NewTextContent(text)},
		StructuredContent: json.RawMessage(text),
	}, nil
}

// errorResult is a tool error (isError) whose text says what happened and what to do next.
func (d *Deps) errorResult(err error) *mcp.CallToolResult {
	text := d.redact(explain(err))
	d.logger().Debug("tool error", "error", text)
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, IsError: true}
}

// hinted is an error that carries the next step to take.
type hinted struct {
	err  error
	next string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// withNext attaches what to do next to err.
func withNext(err error, next string) error { return &hinted{err: err, next: next} }

// errorf is fmt.Errorf with the next step attached.
func errorf(next, format string, args ...any) error {
	return withNext(fmt.Errorf(format, args...), next)
}

// requestKey is the context key of the MCP request a handler serves.
type requestKey struct{}

func withRequest(ctx context.Context, req mcp.CallToolRequest) context.Context {
	return context.WithValue(ctx, requestKey{}, req)
}

// progressToken returns the request's progress token, or nil.
func progressToken(ctx context.Context) mcp.ProgressToken {
	req, ok := ctx.Value(requestKey{}).(mcp.CallToolRequest)
	if !ok || req.Params.Meta == nil {
		return nil
	}
	return req.Params.Meta.ProgressToken
}

// Definitions returns every tool with handlers that have no project: for
// docs and schema snapshots, not for serving.
func Definitions() []Tool { return All(&Deps{Redactor: secrets.NewRedactor()}) }

// All returns every tool in the order docs list them. A new tool is one
// file plus one line here.
func All(d *Deps) []Tool {
	return []Tool{
		listEndpoints(d),
		checkCredentials(d),
		previewEndpoint(d),
		configurePipeline(d),
		startLoad(d),
		loadStatus(d),
		cancelLoad(d),
		explainLoad(d),
		pipelineInfo(d),
		describeTable(d),
		query(d),
		ciMetrics(d),
		explainBuild(d),
	}
}
