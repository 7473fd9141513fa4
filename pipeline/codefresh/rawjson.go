package codefresh

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// A small byte-level JSON walker (reads key order, cuts secret fields out of
// raw records, describes bodies) and the page decoder (pageDecoder) that
// checks, selects and decodes a page body in one pass. On malformed input
// every function reports failure instead of panicking.

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] ('"'), or -1.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !isDelim(b[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\n', '\r', '\t':
		return true
	}
	return false
}

// members calls fn for each member of the object b (leading whitespace
// allowed) with the decoded key, the raw key and the raw value. It reports
// whether b is a well-formed object.
func members(b []byte, fn func(key string, rawKey, val []byte)) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ke := stringEnd(b, i)
		if ke < 0 {
			return false
		}
		rawKey := b[i:ke]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		vs := skipWS(b, i+1)
		ve := valueEnd(b, vs)
		if ve < 0 {
			return false
		}
		fn(unquote(rawKey), rawKey, b[vs:ve])
		i = skipWS(b, ve)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

// elements calls fn for each element of the array b; it reports whether b is
// a well-formed array.
func elements(b []byte, fn func(val []byte)) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for {
		ve := valueEnd(b, i)
		if ve < 0 {
			return false
		}
		fn(b[i:ve])
		i = skipWS(b, ve)
		if i >= len(b) {
			return false
		}
		if b[i] == ']' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// member returns the raw value of key in object b (the last one if repeated,
// as encoding/json does).
func member(b []byte, key string) ([]byte, bool) {
	var out []byte
	found := false
	members(b, func(k string, _, v []byte) {
		if k == key {
			out, found = v, true
		}
	})
	return out, found
}

// stripRaw returns raw without the values the paths name (dropPath's syntax),
// everything else byte for byte and in order.
func stripRaw(raw []byte, paths []string) []byte {
	if len(paths) == 0 {
		return raw
	}
	active := make([][]string, len(paths))
	for i, p := range paths {
		active[i] = splitPath(p)
	}
	var out bytes.Buffer
	out.Grow(len(raw))
	stripInto(&out, bytes.TrimSpace(raw), active)
	return out.Bytes()
}

func stripInto(out *bytes.Buffer, b []byte, active [][]string) {
	if len(active) == 0 || len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		out.Write(b)
		return
	}
	first := true
	sep := func() {
		if !first {
			out.WriteByte(',')
		}
		first = false
	}
	if b[0] == '{' {
		out.WriteByte('{')
		members(b, func(k string, rawKey, val []byte) {
			var next [][]string
			for _, p := range active {
				if p[0] != "*" && p[0] != k {
					continue
				}
				if len(p) == 1 {
					return // dropped
				}
				next = append(next, p[1:])
			}
			sep()
			out.Write(rawKey)
			out.WriteByte(':')
			stripInto(out, val, next)
		})
		out.WriteByte('}')
		return
	}
	var next [][]string
	drop := false
	for _, p := range active {
		switch {
		case p[0] != "*":
			next = append(next, p) // lists are transparent to named keys
		case len(p) == 1:
			drop = true
		default:
			next = append(next, p[1:])
		}
	}
	out.WriteByte('[')
	elements(b, func(val []byte) {
		sep()
		if drop { // "*" last on a list: keep the slot, lose the value
			out.WriteString("null")
			return
		}
		stripInto(out, val, next)
	})
	out.WriteByte(']')
}

// objectKeyOrder returns the keys of the object at path in raw, in document
// order; nil if raw has no object there.
func objectKeyOrder(raw []byte, path []string) []string {
	cur := raw
	for _, seg := range path {
		v, ok := member(cur, seg)
		if !ok {
			return nil
		}
		cur = v
	}
	var keys []string
	if !members(cur, func(k string, _, _ []byte) { keys = append(keys, k) }) {
		return nil
	}
	return keys
}

// pageDecoder reads a page body in one strict pass: it checks the whole body
// as json.Valid does, builds every value as encoding/json with UseNumber does
// (objects map[string]any, arrays []any, numbers json.Number; invalid UTF-8
// and lone surrogates become U+FFFD; the last of repeated keys wins), and
// notes where the elements of the arrays the selectors name lie in the body
// and what the resource's secret paths cut out of each.
type pageDecoder struct {
	b     []byte
	i     int
	depth int
	keys  map[string]string // object keys, interned: every record repeats them
	hints [hintDepth]int    // size of the last object seen at each depth
	buf   []byte            // unescaping scratch
	long  map[string]string // long strings decoded so far, by their raw text

	path    []string  // object keys from the top, while only objects were crossed
	targets []*target // arrays at selector paths: their elements are records

	secretPaths []string
	secrets     [][]string // secretPaths split

	// the record being read
	spaced bool  // whitespace between its tokens
	cuts   []cut // what its secret paths drop, in body order
}

const (
	maxDepth  = 10000 // as encoding/json
	hintDepth = 16
	maxKeys   = 4096
)

// target collects the records of the array at one selector path: the last
// such array in the body, as the decoded tree holds the last repeated key.
type target struct {
	path     []string
	raws     []json.RawMessage // as received
	stripped []json.RawMessage // minus the secret paths
}

// cut is a span of the body a secret path removes; null ones become null.
type cut struct {
	start, end int
	null       bool
}

// syntaxError is a body that is not JSON.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (offset %d)", e.msg, e.off) }

func newPageDecoder(r Resource, selectors []string) *pageDecoder {
	d := &pageDecoder{keys: map[string]string{}, secretPaths: r.SecretFields}
	for _, p := range r.SecretFields {
		d.secrets = append(d.secrets, splitPath(p))
	}
	for _, sel := range selectors {
		switch sel {
		case "":
		case "$":
			d.targets = append(d.targets, &target{path: []string{}})
		default:
			d.targets = append(d.targets, &target{path: splitPath(sel)})
		}
	}
	return d
}

// decode parses body; the records of each target are then in the targets.
func (d *pageDecoder) decode(body []byte) (any, error) {
	d.b, d.i, d.depth, d.path = body, 0, 0, d.path[:0]
	for _, t := range d.targets {
		t.raws, t.stripped = nil, nil
	}
	v, err := d.value(nil, true)
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, d.errf("invalid character %q after top-level value", d.b[d.i])
	}
	return v, nil
}

// target returns the target whose path is the current path, if any.
func (d *pageDecoder) target() *target {
	for _, t := range d.targets {
		if slices.Equal(t.path, d.path) {
			return t
		}
	}
	return nil
}

// targetAt returns the target of a selector ("$" or a dot path).
func (d *pageDecoder) targetAt(sel string) *target {
	path := []string{}
	if sel != "$" {
		path = splitPath(sel)
	}
	for _, t := range d.targets {
		if slices.Equal(t.path, path) {
			return t
		}
	}
	return nil
}

func (d *pageDecoder) errf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), off: d.i}
}

func (d *pageDecoder) eof() error {
	return &syntaxError{msg: "unexpected end of JSON input", off: d.i}
}

func (d *pageDecoder) ws() {
	i := d.i
	for i < len(d.b) && (d.b[i] == ' ' || d.b[i] == '\n' || d.b[i] == '\r' || d.b[i] == '\t') {
		i++
	}
	if i != d.i {
		d.spaced = true
		d.i = i
	}
}

// value reads one value. active are the secret paths still to apply at this
// position inside a record (nil elsewhere); onPath says only objects were
// crossed from the top.
func (d *pageDecoder) value(active [][]string, onPath bool) (any, error) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, d.eof()
	}
	switch c := d.b[d.i]; c {
	case '{':
		return d.object(active, onPath)
	case '[':
		return d.array(active, onPath)
	case '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.errf("invalid character %q looking for beginning of value", c)
	}
}

func (d *pageDecoder) literal(lit string) error {
	if len(d.b)-d.i < len(lit) {
		if string(d.b[d.i:]) == lit[:len(d.b)-d.i] {
			return d.eof()
		}
		return d.errf("invalid literal")
	}
	if string(d.b[d.i:d.i+len(lit)]) != lit {
		return d.errf("invalid literal")
	}
	d.i += len(lit)
	return nil
}

func (d *pageDecoder) number() (any, error) {
	b, i := d.b, d.i
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		d.i = i
		return nil, d.eof()
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return nil, d.errf("invalid character %q in numeric literal", b[i])
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.errf("invalid numeric literal: no digit after decimal point")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.errf("invalid numeric literal: no digit in exponent")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return json.Number(b[start:i]), nil
}

// plain marks the bytes a string may hold as they are: printable ASCII but
// the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainEnd returns where the run of bytes that need no unescaping starts to
// end at i (valid UTF-8 included).
func plainEnd(b []byte, i int) int {
	// Eight bytes at a time while none is a quote, a backslash, a control
	// character or non-ASCII.
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(ones*'"'), x^(ones*'\\')
		if (x|(x-ones*0x20)|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
		i += 8
	}
	for i < len(b) {
		c := b[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return i
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return i
}

// key reads an object key, interned.
func (d *pageDecoder) key() (string, error) {
	start := d.i + 1
	j := plainEnd(d.b, start)
	if j < len(d.b) && d.b[j] == '"' {
		raw := d.b[start:j]
		d.i = j + 1
		if s, ok := d.keys[string(raw)]; ok {
			return s, nil
		}
		s := string(raw)
		if len(d.keys) < maxKeys {
			d.keys[s] = s
		}
		return s, nil
	}
	return d.str()
}

// Long strings repeat across a page's records (a pipeline's YAML in each of
// its builds): one decoded copy serves them all, which saves unescaping and
// most of a page's allocation.
const (
	longString = 128
	maxLong    = 256 // cached long strings per page
)

// str reads a string starting at the quote. Its text is scanned once when
// it holds nothing to unescape; else from the first escape on its end is
// found with IndexByte before a long one is looked up.
func (d *pageDecoder) str() (string, error) {
	b := d.b
	start := d.i + 1
	plain := plainEnd(b, start)
	end := plain
	if end >= len(b) || b[end] != '"' {
		end = quoteEnd(b, plain)
	}
	long := end-start >= longString
	if long {
		if s, ok := d.long[string(b[start:end])]; ok {
			d.i = end + 1
			return s, nil
		}
	}
	s, err := d.unquote(start, plain)
	if long && err == nil && len(d.long) < maxLong {
		if d.long == nil {
			d.long = map[string]string{}
		}
		d.long[string(b[start:end])] = s
	}
	return s, err
}

// quoteEnd is the index of the quote that closes a string, searched from
// start, where no backslash lies before it in the string; -1 if none.
func quoteEnd(b []byte, start int) int {
	for i := start; ; {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		k := j - 1
		for k >= start && b[k] == '\\' {
			k--
		}
		if (j-1-k)%2 == 0 { // an even run of backslashes escapes nothing
			return j
		}
		i = j + 1
	}
}

// unquote decodes the string whose text starts at start and needs no
// unescaping up to i (plainEnd's answer).
func (d *pageDecoder) unquote(start, i int) (string, error) {
	b := d.b
	if i < len(b) && b[i] == '"' {
		d.i = i + 1
		return string(b[start:i]), nil
	}
	out := append(d.buf[:0], b[start:i]...)
	for {
		if i >= len(b) {
			d.i = i
			return "", d.eof()
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			d.buf = out
			return string(out), nil
		case c == '\\':
			if i+1 >= len(b) {
				d.i = i + 1
				return "", d.eof()
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n, err := d.unicodeEscape(i)
				if err != nil {
					return "", err
				}
				out = utf8.AppendRune(out, r)
				i += n - 2
			default:
				d.i = i + 1
				return "", d.errf("invalid character %q in string escape code", e)
			}
			i += 2
		case c < 0x20:
			d.i = i
			return "", d.errf("invalid character %q in string literal", c)
		default: // invalid UTF-8
			out = utf8.AppendRune(out, utf8.RuneError)
			i++
		}
		i = plainRun(b, i, &out)
	}
}

// unicodeEscape reads the \uXXXX escape at b[i] and the low half after it
// when it is a surrogate pair; it returns the rune and the bytes read.
func (d *pageDecoder) unicodeEscape(i int) (rune, int, error) {
	b := d.b
	r := hex4(b[i+2:])
	if r < 0 {
		d.i = i + 2
		if len(b)-i-2 < 4 && validHexPrefix(b[i+2:]) {
			return 0, 0, d.eof()
		}
		return 0, 0, d.errf("invalid character in \\u hexadecimal character escape")
	}
	if !utf16.IsSurrogate(r) {
		return r, 6, nil
	}
	if len(b)-i >= 12 && b[i+6] == '\\' && b[i+7] == 'u' {
		if r2 := hex4(b[i+8:]); r2 >= 0 {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, 12, nil
			}
		}
	}
	return utf8.RuneError, 6, nil
}

// plainRun appends the plain bytes from i to out and returns where they end.
func plainRun(b []byte, i int, out *[]byte) int {
	j := plainEnd(b, i)
	*out = append(*out, b[i:j]...)
	return j
}

func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

func validHexPrefix(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (d *pageDecoder) object(active [][]string, onPath bool) (any, error) {
	d.i++ // '{'
	if d.depth++; d.depth > maxDepth {
		return nil, d.errf("exceeded max depth")
	}
	hint := 0
	if d.depth < hintDepth {
		hint = d.hints[d.depth]
	}
	m := make(map[string]any, hint)
	// Members the secret paths drop are cut with the comma that joins them
	// to a kept member, so what is left is still JSON.
	lastKept, dropFrom, dropEnd := -1, -1, -1
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return m, nil
	}
	for {
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.eof()
		}
		if d.b[d.i] != '"' {
			return nil, d.errf("invalid character %q looking for beginning of object key string", d.b[d.i])
		}
		start := d.i
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.eof()
		}
		if d.b[d.i] != ':' {
			return nil, d.errf("invalid character %q after object key", d.b[d.i])
		}
		d.i++
		var next [][]string
		drop := false
		for _, p := range active {
			if p[0] != "*" && p[0] != k {
				continue
			}
			if len(p) == 1 {
				drop = true
				break
			}
			next = append(next, p[1:])
		}
		if drop {
			next = nil
			if dropFrom < 0 {
				dropFrom = start
			}
		} else if dropFrom >= 0 {
			d.cuts = append(d.cuts, cut{start: dropFrom, end: start})
			dropFrom = -1
		}
		if onPath {
			d.path = append(d.path, k)
		}
		v, err := d.value(next, onPath)
		if err != nil {
			return nil, err
		}
		if onPath {
			d.path = d.path[:len(d.path)-1]
		}
		m[k] = v
		if drop {
			dropEnd = d.i
		} else {
			lastKept = d.i
		}
		more, err := d.separator('}', "object key:value pair")
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	if dropFrom >= 0 { // a run of dropped members ends the object
		from := dropFrom
		if lastKept >= 0 {
			from = lastKept
		}
		d.cuts = append(d.cuts, cut{start: from, end: dropEnd})
	}
	if d.depth < hintDepth {
		d.hints[d.depth] = len(m)
	}
	d.depth--
	return m, nil
}

// separator steps over what follows an object member or array element: a comma
// (more is true) or the closing bracket (more is false).
func (d *pageDecoder) separator(closing byte, after string) (more bool, err error) {
	d.ws()
	if d.i >= len(d.b) {
		return false, d.eof()
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return true, nil
	case closing:
		d.i++
		return false, nil
	}
	return false, d.errf("invalid character %q after %s", d.b[d.i], after)
}

func (d *pageDecoder) array(active [][]string, onPath bool) (any, error) {
	d.i++ // '['
	if d.depth++; d.depth > maxDepth {
		return nil, d.errf("exceeded max depth")
	}
	var t *target
	if onPath {
		if t = d.target(); t != nil {
			t.raws, t.stripped = nil, nil
		}
	}
	// A named key applies to each element of a list; "*" is every element,
	// and "*" last keeps the slot but not the value.
	var next [][]string
	nullAll := false
	for _, p := range active {
		switch {
		case p[0] != "*":
			next = append(next, p)
		case len(p) == 1:
			nullAll = true
		default:
			next = append(next, p[1:])
		}
	}
	out := []any{}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return out, nil
	}
	for {
		d.ws()
		start := d.i
		var v any
		var err error
		switch {
		case t != nil:
			d.spaced, d.cuts = false, d.cuts[:0]
			if v, err = d.value(d.secrets, false); err == nil {
				t.add(d, start)
			}
		case nullAll:
			if v, err = d.value(nil, false); err == nil {
				d.cuts = append(d.cuts, cut{start: start, end: d.i, null: true})
			}
		default:
			v, err = d.value(next, false)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		more, err := d.separator(']', "array element")
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	d.depth--
	return out, nil
}

// add keeps the record that ends at d.i, as received and minus its secrets.
func (t *target) add(d *pageDecoder, start int) {
	raw := json.RawMessage(d.b[start:d.i])
	t.raws = append(t.raws, raw)
	switch {
	case len(d.secrets) == 0 || len(d.cuts) == 0 && !d.spaced:
		t.stripped = append(t.stripped, raw)
	case d.spaced: // the walker's output drops the spaces it walks over
		t.stripped = append(t.stripped, stripRaw(raw, d.secretPaths))
	default:
		out := make([]byte, 0, len(raw))
		pos := start
		for _, c := range d.cuts {
			out = append(out, d.b[pos:c.start]...)
			if c.null {
				out = append(out, "null"...)
			}
			pos = c.end
		}
		t.stripped = append(t.stripped, append(out, d.b[pos:d.i]...))
	}
}
