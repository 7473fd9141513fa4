package cfsim

import (
	"strconv"
	"time"
)

// jw is an append-only JSON writer. Bodies are rendered on demand for every
// request (a million builds are never held as JSON), so it avoids reflection
// and keeps keys in the order the public samples show them.
//
// Separators are automatic: a value or key that follows another value gets a
// comma; one that follows '{', '[' or ':' does not.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':':
		default:
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) open(c byte)  { w.sep(); w.b = append(w.b, c) }
func (w *jw) close(c byte) { w.b = append(w.b, c) }

// key writes "k": — keys are constant ASCII in this package, never escaped.
func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) str(v string) { w.sep(); w.b = appendJSONString(w.b, v) }
func (w *jw) int(v int64)  { w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) float(v float64) {
	w.sep()
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}
func (w *jw) boolean(v bool) { w.sep(); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) null()          { w.sep(); w.b = append(w.b, "null"...) }

// raw appends pre-rendered JSON (a value, or a run of "k":v members).
func (w *jw) raw(p []byte) { w.sep(); w.b = append(w.b, p...) }

// time writes an ISO-8601 UTC timestamp with milliseconds, as Codefresh does.
func (w *jw) time(ms int64) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = appendISO(w.b, ms)
	w.b = append(w.b, '"')
}

func (w *jw) ks(k, v string)        { w.key(k); w.str(v) }
func (w *jw) ki(k string, v int64)  { w.key(k); w.int(v) }
func (w *jw) kb(k string, v bool)   { w.key(k); w.boolean(v) }
func (w *jw) kn(k string)           { w.key(k); w.null() }
func (w *jw) kt(k string, ms int64) { w.key(k); w.time(ms) }

// ktn writes a timestamp, or null when ms is 0 (not yet happened).
func (w *jw) ktn(k string, ms int64) {
	if ms == 0 {
		w.kn(k)
		return
	}
	w.kt(k, ms)
}

// kss writes "k":["a","b"].
func (w *jw) kss(k string, vs ...string) {
	w.key(k)
	w.open('[')
	for _, v := range vs {
		w.str(v)
	}
	w.close(']')
}

// kempty writes "k":[] — the many always-present empty lists.
func (w *jw) kempty(k string) { w.key(k); w.b = append(w.b, '[', ']') }

// kobj0 writes "k":{}.
func (w *jw) kobj0(k string) { w.key(k); w.b = append(w.b, '{', '}') }

// appendISO formats Unix milliseconds as 2006-01-02T15:04:05.000Z by hand:
// it runs three times per build and time.AppendFormat is several times
// slower (BenchmarkListBuilds).
func appendISO(b []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	milli := t.Nanosecond() / 1e6
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, s)
	b = append(b, '.', byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), 'Z')
	return b
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string. Generated text is plain ASCII
// except for the escapes below, so one pass with a fast path is enough.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
