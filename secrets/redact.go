package secrets

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces every secret value in redacted text.
const Redacted = "[REDACTED]"

// minSecretLen keeps short strings out of the redactor: redacting "a" or ""
// would mangle every message and protect nothing.
const minSecretLen = 8

// Redactor removes the secret values known to the process (the API key and
// anything else added) from text, logs and errors. Callers hold one and pass
// it along; it is safe for concurrent use.
type Redactor struct {
	mu       sync.RWMutex
	values   map[string]bool
	replacer *strings.Replacer
}

// NewRedactor returns a redactor for values (short or empty ones are ignored).
func NewRedactor(values ...string) *Redactor {
	r := &Redactor{values: map[string]bool{}}
	for _, v := range values {
		r.Add(v)
	}
	return r
}

// Add teaches the redactor one more secret, with its URL-escaped spelling.
func (r *Redactor) Add(v string) {
	if len(v) < minSecretLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	before := len(r.values)
	r.values[v] = true
	r.values[url.QueryEscape(v)] = true
	r.values[url.PathEscape(v)] = true
	if len(r.values) == before {
		return
	}
	// Longest first, so a secret that contains another is replaced whole.
	vs := make([]string, 0, len(r.values))
	for s := range r.values {
		vs = append(vs, s)
	}
	sort.Slice(vs, func(i, j int) bool {
		if len(vs[i]) != len(vs[j]) {
			return len(vs[i]) > len(vs[j])
		}
		return vs[i] < vs[j]
	})
	pairs := make([]string, 0, 2*len(vs))
	for _, s := range vs {
		pairs = append(pairs, s, Redacted)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// Redact returns s with every known secret replaced by [REDACTED].
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rep := r.replacer
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// RedactBytes is Redact for byte slices; b itself is not modified.
func (r *Redactor) RedactBytes(b []byte) []byte {
	s := string(b)
	if red := r.Redact(s); red != s {
		return []byte(red)
	}
	return b
}

// Error returns err with its text redacted. errors.Is and errors.As still
// see the original chain; only the message changes. A nil error stays nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := r.Redact(msg)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Handler wraps h so that record messages and attribute values are redacted
// before h sees them.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	return &redactingHandler{r: r, next: h}
}

type redactingHandler struct {
	r    *Redactor
	next slog.Handler
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.r.attr(a)
	}
	return &redactingHandler{r: h.r, next: h.next.WithAttrs(red)}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{r: h.r, next: h.next.WithGroup(name)}
}

// attr redacts one attribute. Values that print a secret become redacted
// strings; others keep their type.
func (r *Redactor) attr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(r.Redact(a.Value.String()))
	case slog.KindGroup:
		g := a.Value.Group()
		red := make([]slog.Attr, len(g))
		for i, ga := range g {
			red[i] = r.attr(ga)
		}
		a.Value = slog.GroupValue(red...)
	case slog.KindAny:
		var s string
		switch v := a.Value.Any().(type) {
		case error:
			s = v.Error()
		case []byte:
			s = string(v)
		default:
			s = fmt.Sprintf("%+v", v)
		}
		if red := r.Redact(s); red != s {
			a.Value = slog.StringValue(red)
		}
	}
	return a
}
