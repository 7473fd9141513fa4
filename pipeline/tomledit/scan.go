// Package tomledit reads and edits TOML files as text: it bounds a file
// before a decoder sees it, and changes single keys while every other byte
// (comments, order, blank lines) stays the user's.
package tomledit

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// Limits bound a TOML text before it is decoded: a decoder's time and memory
// grow faster than linearly with nesting, so a small hostile file could
// stall every reader of it.
type Limits struct {
	MaxBytes int // the file's size
	// MaxDepth counts the levels of a value: the parts of its table's name
	// and of its dotted key, plus the arrays and inline tables around it.
	MaxDepth int
}

// LimitError is a text over one of its Limits.
type LimitError struct {
	Line  int    // where the limit was crossed (0 for the size)
	What  string // "size" or "nesting"
	Limit int
	Got   int // the size in bytes, or the depth reached
}

func (e *LimitError) Error() string {
	if e.What == "size" {
		return fmt.Sprintf("the file is %d bytes, over the limit of %d bytes", e.Got, e.Limit)
	}
	return fmt.Sprintf("nested %d levels deep, over the limit of %d (tables, dotted keys, arrays and inline tables)", e.Got, e.Limit)
}

// CheckLimits reports the first limit data crosses, in one pass over the
// text. Syntax errors are left to the decoder: the pass reads on past them.
func CheckLimits(data []byte, l Limits) error {
	if l.MaxBytes > 0 && len(data) > l.MaxBytes {
		return &LimitError{What: "size", Limit: l.MaxBytes, Got: len(data)}
	}
	s := scanner{src: string(data), maxDepth: l.MaxDepth, lenient: true}
	_, err := s.scan()
	return err
}

type entryKind int

const (
	keyVal entryKind = iota
	tableHeader
	arrayHeader // [[a.b]]
)

// entry is one key/value or table header and the lines it spans.
type entry struct {
	kind     entryKind
	from, to int      // lines [from, to), 0-based
	table    []string // a key/value's table; a header's own name
	key      []string // a key/value's dotted key
	prefix   string   // the first line up to the value: indent, key, " = "
	tail     string   // the last line after the value: spaces and a comment
	valueRaw string   // the value's text as written
}

// full is the key's path from the root.
func (e entry) full() []string {
	return append(append([]string(nil), e.table...), e.key...)
}

// scanner splits TOML text into entries. It tracks strings, comments and
// brackets only: enough to know where an entry ends and how deep it nests.
type scanner struct {
	src      string
	pos      int
	line     int // 0-based line of pos
	maxDepth int // 0: no limit
	lenient  bool
	table    []string
	entries  []entry
}

type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line+1, e.msg) }

func (s *scanner) scan() ([]entry, error) {
	for s.pos < len(s.src) {
		if err := s.statement(); err != nil {
			if _, limit := err.(*LimitError); limit || !s.lenient {
				return nil, err
			}
			s.skipLine()
		}
	}
	return s.entries, nil
}

func (s *scanner) statement() error {
	s.skipSpace()
	if s.pos >= len(s.src) {
		return nil
	}
	switch c := s.src[s.pos]; {
	case c == '\n':
		s.newline()
		return nil
	case c == '\r' && s.peek(1) == '\n':
		s.pos++
		s.newline()
		return nil
	case c == '#':
		s.skipComment()
		return s.endOfLine()
	case c == '[':
		return s.header()
	default:
		return s.keyValue()
	}
}

func (s *scanner) header() error {
	e := entry{kind: tableHeader, from: s.line}
	s.pos++
	if s.peek(0) == '[' {
		e.kind = arrayHeader
		s.pos++
	}
	path, err := s.key()
	if err != nil {
		return err
	}
	if err := s.checkDepth(len(path)); err != nil {
		return err
	}
	s.skipSpace()
	closing := "]"
	if e.kind == arrayHeader {
		closing = "]]"
	}
	if !strings.HasPrefix(s.src[s.pos:], closing) {
		return s.errorf("expected %q to end the table name", closing)
	}
	s.pos += len(closing)
	s.skipSpace()
	s.skipComment()
	if err := s.endOfLine(); err != nil {
		return err
	}
	e.table, e.to = path, s.line
	s.table = path
	s.entries = append(s.entries, e)
	return nil
}

func (s *scanner) keyValue() error {
	lineStart := strings.LastIndexByte(s.src[:s.pos], '\n') + 1
	e := entry{kind: keyVal, from: s.line, table: s.table}
	key, err := s.key()
	if err != nil {
		return err
	}
	e.key = key
	base := len(s.table) + len(key)
	if err := s.checkDepth(base); err != nil {
		return err
	}
	s.skipSpace()
	if s.peek(0) != '=' {
		return s.errorf("expected '=' after the key")
	}
	s.pos++
	s.skipSpace()
	e.prefix = s.src[lineStart:s.pos]
	valueStart := s.pos
	valueEnd, err := s.value(base)
	if err != nil {
		return err
	}
	e.valueRaw = s.src[valueStart:valueEnd]
	s.skipComment()
	e.tail = strings.TrimRight(s.src[valueEnd:s.pos], "\r")
	if err := s.endOfLine(); err != nil {
		return err
	}
	e.to = s.line
	s.entries = append(s.entries, e)
	return nil
}

// value scans a value up to the end of its last line (before a trailing
// comment) and returns where its text ends.
func (s *scanner) value(base int) (int, error) {
	var stack []byte // open brackets
	inKey := false   // in an inline table, before a key's '='
	keyDots := 0
	end := s.pos
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == '"' || c == '\'':
			if err := s.quoted(c); err != nil {
				return 0, err
			}
			end = s.pos
			continue
		case c == '[' || c == '{':
			stack = append(stack, c)
			inKey, keyDots = c == '{', 0
			if err := s.checkDepth(base + len(stack)); err != nil {
				return 0, err
			}
		case c == ']' || c == '}':
			if len(stack) == 0 {
				return 0, s.errorf("unexpected %q", c)
			}
			stack = stack[:len(stack)-1]
			inKey = false
		case c == ',' && len(stack) > 0 && stack[len(stack)-1] == '{':
			inKey, keyDots = true, 0
		case c == '=' && inKey:
			inKey = false
		case c == '.' && inKey:
			keyDots++
			if err := s.checkDepth(base + len(stack) + keyDots); err != nil {
				return 0, err
			}
		case c == '#':
			if len(stack) == 0 {
				return end, nil
			}
			s.skipComment()
			continue
		case c == '\n':
			if len(stack) == 0 {
				return end, nil
			}
			s.newline()
			continue
		}
		s.pos++
		if c != ' ' && c != '\t' && c != '\r' {
			end = s.pos
		}
	}
	if len(stack) > 0 {
		return 0, s.errorf("unclosed %q", stack[len(stack)-1])
	}
	return end, nil
}

// quoted skips a string: basic or literal, single- or multi-line.
func (s *scanner) quoted(q byte) error {
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(s.src[s.pos:], triple) {
		s.pos += 3
		for s.pos < len(s.src) {
			switch c := s.src[s.pos]; {
			case c == '\\' && q == '"':
				if s.peek(1) == '\n' {
					s.pos++
					s.newline()
					continue
				}
				s.pos += 2
			case strings.HasPrefix(s.src[s.pos:], triple):
				s.pos += 3
				for n := 0; n < 2 && s.peek(0) == q; n++ { // """a"""" ends a string ending in a quote
					s.pos++
				}
				return nil
			case c == '\n':
				s.newline()
			default:
				s.pos++
			}
		}
		return s.errorf("unclosed multi-line string")
	}
	s.pos++
	for s.pos < len(s.src) {
		switch c := s.src[s.pos]; {
		case c == '\\' && q == '"':
			s.pos += 2
		case c == q:
			s.pos++
			return nil
		case c == '\n':
			return s.errorf("unclosed string")
		default:
			s.pos++
		}
	}
	return s.errorf("unclosed string")
}

// key reads a dotted key: bare, "basic" or 'literal' parts.
func (s *scanner) key() ([]string, error) {
	var parts []string
	for {
		s.skipSpace()
		start := s.pos
		switch c := s.peek(0); {
		case c == '"' || c == '\'':
			if err := s.quoted(c); err != nil {
				return nil, err
			}
			part, err := unquoteKey(s.src[start:s.pos])
			if err != nil {
				return nil, s.errorf("key %s: %v", s.src[start:s.pos], err)
			}
			parts = append(parts, part)
		case isBare(c):
			for s.pos < len(s.src) && isBare(s.src[s.pos]) {
				s.pos++
			}
			parts = append(parts, s.src[start:s.pos])
		default:
			return nil, s.errorf("expected a key")
		}
		s.skipSpace()
		if s.peek(0) != '.' {
			return parts, nil
		}
		s.pos++
	}
}

func unquoteKey(raw string) (string, error) {
	if strings.HasPrefix(raw, "'") {
		return strings.Trim(raw, "'"), nil
	}
	var m map[string]string
	if _, err := toml.Decode("k = "+raw, &m); err != nil {
		return "", err
	}
	return m["k"], nil
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (s *scanner) checkDepth(d int) error {
	if s.maxDepth > 0 && d > s.maxDepth {
		return &LimitError{Line: s.line + 1, What: "nesting", Limit: s.maxDepth, Got: d}
	}
	return nil
}

func (s *scanner) peek(n int) byte {
	if s.pos+n < len(s.src) {
		return s.src[s.pos+n]
	}
	return 0
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) && (s.src[s.pos] == ' ' || s.src[s.pos] == '\t') {
		s.pos++
	}
}

// skipComment skips a comment up to (not including) its line's end.
func (s *scanner) skipComment() {
	for s.pos < len(s.src) && (s.src[s.pos] == ' ' || s.src[s.pos] == '\t') {
		s.pos++
	}
	if s.peek(0) != '#' {
		return
	}
	for s.pos < len(s.src) && s.src[s.pos] != '\n' {
		s.pos++
	}
}

// endOfLine consumes the line's end; only spaces may come before it.
func (s *scanner) endOfLine() error {
	s.skipSpace()
	if s.peek(0) == '\r' && s.peek(1) == '\n' {
		s.pos++
	}
	switch {
	case s.pos >= len(s.src):
		s.line++
		return nil
	case s.src[s.pos] == '\n':
		s.newline()
		return nil
	}
	return s.errorf("unexpected %q after the value", s.src[s.pos])
}

func (s *scanner) skipLine() {
	for s.pos < len(s.src) && s.src[s.pos] != '\n' {
		s.pos++
	}
	if s.pos < len(s.src) {
		s.newline()
	}
}

func (s *scanner) newline() {
	s.pos++
	s.line++
}

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{line: s.line, msg: fmt.Sprintf(format, args...)}
}
