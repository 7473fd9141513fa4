package secrets

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
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
	longest  []string // the values, longest first
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
	r.longest = vs
}

// Redact returns s with every known secret replaced by [REDACTED], in
// whatever spelling a JSON text can carry it: plain, URL-escaped, or with
// any of its characters written as a JSON escape (\u0063 in either hex
// case, \/ for a slash), as an API that echoes a key back may send it.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rep, vals := r.replacer, r.longest
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	if strings.IndexByte(s, '\\') >= 0 {
		return redactEscaped(s, vals)
	}
	// Most text holds no secret: searching is cheaper than replacing.
	for _, v := range vals {
		if strings.Contains(s, v) {
			return rep.Replace(s)
		}
	}
	return s
}

// redactEscaped replaces every spelling of vals (longest first) in s,
// where any character may be a JSON escape.
func redactEscaped(s string, vals []string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		for _, v := range vals {
			if s[i] != v[0] && s[i] != '\\' {
				continue
			}
			if n := matchEscaped(s[i:], v); n > 0 {
				b.WriteString(s[last:i])
				b.WriteString(Redacted)
				i += n - 1
				last = i + 1
				break
			}
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// matchEscaped is the length of the prefix of s that spells v, each of v's
// characters either itself or a JSON escape of it; 0 when s does not start
// with v.
func matchEscaped(s, v string) int {
	j := 0
	for _, c := range v {
		if strings.HasPrefix(s[j:], string(c)) {
			j += utf8.RuneLen(c)
			continue
		}
		got, n := jsonEscape(s[j:])
		if n == 0 || got != c {
			return 0
		}
		j += n
	}
	return j
}

// jsonEscape decodes the JSON escape at the start of s (a surrogate pair
// as one character) and its length; 0 when s starts with none. The escape's
// backslash may itself be escaped, any number of times (\\u0063,
// \u005cu0063): JSON text inside a JSON string.
func jsonEscape(s string) (rune, int) {
	i := 0
	for i < len(s) && s[i] == '\\' {
		i++
		for strings.HasPrefix(s[i:], "u005c") || strings.HasPrefix(s[i:], "u005C") {
			i += len("u005c")
			if i < len(s) && s[i] == '\\' {
				break // the next backslash token
			}
		}
	}
	if i == 0 || i >= len(s) {
		return 0, 0
	}
	if c, ok := shortEscapes[s[i]]; ok && c != '\\' {
		return c, i + 1
	}
	r, ok := hex4(s, i+1)
	if s[i] != 'u' || !ok {
		return 0, 0
	}
	n := i + 5
	if utf16.IsSurrogate(r) && r < 0xdc00 { // a high surrogate: its low half follows
		if lo, m := jsonEscape(s[n:]); m > 0 {
			if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
				return pair, n + m
			}
		}
	}
	return r, n
}

var shortEscapes = map[byte]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 reads four hex digits (either case) of s at i.
func hex4(s string, i int) (rune, bool) {
	if len(s) < i+4 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 32)
	return rune(n), err == nil
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
