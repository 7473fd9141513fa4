package jsonpage

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Strings are where a page spends its time: keys are interned, runs that
// need no unescaping are scanned a word at a time, and long strings that
// repeat across records are decoded once.

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
	// Eight bytes at a time: a word with a quote, a backslash, a control
	// character or non-ASCII in it flags that byte's high bit, and the lowest
	// flag is exact (a borrow only runs up from a flagged byte), so the scan
	// goes on from it without reading the word again byte by byte.
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(ones*'"'), x^(ones*'\\')
		m := (x | (x - ones*0x20) | (q-ones)&^q | (bs-ones)&^bs) & highs
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) >> 3
		if b[i] < utf8.RuneSelf {
			return i
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
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

// key reads the object key that is member n of its object, interned. The
// records of a page repeat their keys in the same order, so the key last
// read at this depth and position is tried first, by its bytes alone; a
// hint is only ever a key whose text is its raw bytes.
func (d *Decoder) key(n int) (string, error) {
	b, start := d.b, d.i+1
	var hint *string
	if d.depth < len(d.keyHints) && n < len(d.keyHints[0]) {
		hint = &d.keyHints[d.depth][n]
		if d.takeHint(*hint) {
			return *hint, nil
		}
	}
	j := plainEnd(b, start)
	if j < len(b) && b[j] == '"' {
		raw := b[start:j]
		d.i = j + 1
		s, ok := d.keys[string(raw)]
		if !ok {
			s = string(raw)
			if len(d.keys) < maxKeys {
				d.keys[s] = s
			}
		}
		if hint != nil {
			*hint = s
		}
		return s, nil
	}
	return d.str()
}

// takeHint steps over the string at d.i if its raw bytes are hint's and
// a quote follows them.
func (d *Decoder) takeHint(hint string) bool {
	b, start := d.b, d.i+1
	end := start + len(hint)
	if hint == "" || end >= len(b) || b[end] != '"' || string(b[start:end]) != hint {
		return false
	}
	d.i = end + 1
	return true
}

// hintedStr is str for a string that often repeats the one before it in the
// same place (a status, an account): when its bytes are hint's and a quote
// follows, it is hint, with no allocation. A hint is only ever a string
// whose text is its raw bytes, shorter than a long one.
func (d *Decoder) hintedStr(hint *string) (string, error) {
	if d.takeHint(*hint) {
		return *hint, nil
	}
	b, start := d.b, d.i+1
	s, err := d.str()
	if err == nil && len(s) < longString && d.i-1-start == len(s) && string(b[start:d.i-1]) == s {
		*hint = s
	}
	return s, err
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
func (d *Decoder) str() (string, error) {
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
func (d *Decoder) unquote(start, i int) (string, error) {
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
func (d *Decoder) unicodeEscape(i int) (rune, int, error) {
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
