package jsonpage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// decoderCorpus are bodies, valid and not, that the page decoder must read
// exactly as encoding/json (UseNumber) and json.Valid do.
var decoderCorpus = []string{
	`{}`, `[]`, ` [ ] `, `{"a":1}`, `[1,2,3]`, `"s"`, `1`, `-0`, `null`, `true`, `false`,
	`{"a":{"b":[1,{"c":null}],"d":true},"e":-1.5e+10,"f":0.25E-3,"g":"x"}`,
	"{\n\t\"a\" :\r [ 1 , 2 ] , \"b\" : { } }\n",
	`{"a":1,"a":2}`, `{"a":{"x":1},"a":[1]}`,
	`{"s":"\"\\\/\b\f\n\r\t"}`, `{"s":"\u00e9\u4e2d\ud83d\ude00"}`,
	`{"s":"\ud83d"}`, `{"s":"\ude00"}`, `{"s":"\ud83d\u0041"}`, `{"s":"\ud83dx"}`,
	`{"s":"\ud83d\ud83d\ude00"}`, `{"\u0073ecret":"k"}`, `{"s":"é中😀"}`,
	"{\"s\":\"\xff\xfe ok \xc3\"}", "{\"s\":\"a\xe2\x82\"}", "{\"k\xff\":1}",
	`{"n":[0,-0,1,-1,10,1.0,1e1,1E1,1e+1,1e-1,123456789012345678901234567890]}`,
	// long strings: specials after whole 8-byte words
	`{"s":"abcdefghijklmnopqrstuvwxyz0123456789\"quoted\" and é at 9 \u00e9 then plain text again to the end"}`,
	`"0123456789abcdefgh\nijklmnopqrstuvwx\\yz"`, "\"0123456789abcdef\xc3\xa9 and \xe4\xb8\xad\"", "\"0123456789abcdef\xff0123456789\"",
	"\"0123456789abcdef\x01\"", "\"0123456789abcdef\x7f0123456789\"", "\"01234567\"", "\"0123456\"", "\"012345678\"",
	// long strings (the repeat cache): the same text twice, backslash runs before quotes, a bad one repeated
	`[` + strings.Repeat(`{"y":"`+longYAML+`"},`, 3) + `{"y":"` + longYAML + `x"}]`,
	`["` + longYAML + `\\\\", "` + longYAML + `\\\\", "` + longYAML + `\\\"still in\\"]`,
	`["` + longYAML + "\x01" + `", "` + longYAML + "\x01" + `"]`,
	`["` + longYAML + `", "` + longYAML,
	// not JSON
	``, ` `, `{`, `[`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,}`, `[1,]`, `[,1]`,
	`{"a" 1}`, `{a:1}`, `{"a":1}}`, `{"a":1} x`, `[1] [2]`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`,
	`+1`, `tru`, `truex`, `nul`, `nulll`, `"abc`, `"a\x"`, `"\u12"`, `"\u12g4"`, `"\`,
	"\"a\tb\"", "\"a\nb\"", "\"\x00\"", `{"docs":[{"a":1},{"a":`, `[1,2`, `{"a":[1,2}`,
	`{"a":{"b":1]}`, `{"a":1 "b":2}`, `{,}`, `{"a":1,,"b":2}`, `[1 2]`, `-01`, `1.5e3.2`,
	`NaN`, `Infinity`, `[-]`, `{"a":-}`, `"\ud83d\u"`,
}

// boundaryCorpus puts each kind of byte the string scanner stops at (a
// quote, escapes, \u surrogates, multi-byte UTF-8, invalid UTF-8, control
// bytes) at every offset across its 8-byte words, in values and in keys,
// and repeats keys in and out of the order the key hints expect.
func boundaryCorpus() []string {
	specials := []string{`\"`, `\\`, `\n`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\ude00x`, "é", "😀",
		"\xff", "\xc3", "\xe2\x82", "\x01", "\x1f", "\x7f", `\`}
	var out []string
	for _, sp := range specials {
		for off := 0; off < 18; off++ {
			pad := strings.Repeat("p", off)
			out = append(out, `["`+pad+sp+`tail0123456789"]`, `{"`+pad+sp+`":1}`, `["`+pad+sp+`"]`)
		}
	}
	wide := make([]string, 70) // more members than the key hints keep
	for i := range wide {
		wide[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	obj := "{" + strings.Join(wide, ",") + "}"
	deep := strings.Repeat(`{"a":`, 12) + "1" + strings.Repeat("}", 12)
	return append(out,
		`[{"a":1,"b":2},{"a":3,"b":4},{"b":5,"a":6},{"ab":7,"a":8},{"a\u0062":9,"a":1},{"\u0061":1,"b":2},{"a":{"a":1}}]`,
		`[{"id":1,"name":"x"},{"i":2},{"idx":3,"name":"y"},{"id":4,"nam":"z"},{"id":5,"name\"":"w"}]`,
		"[{\"k\":1},{\"k\xff\":2},{\"k\":3},{\"é\":4},{\"é\":5},{\"\":6},{\"\":7}]",
		"["+obj+","+obj+`,{"k0":"a","k1":"b"}]`,
		"["+deep+","+deep+"]",
		`[{"a":1,"b":2},{"a":1,"b"`,
		// string values tried against the last one in their place
		`[{"s":"abc"},{"s":"abc"},{"s":"abcd"},{"s":"ab"},{"s":"ab\"c"},{"s":"ab\u0063"},{"s":"abc"},{"s":""},{"s":""},{"s":1},{"s":"abc"}]`,
		"[{\"s\":\"a\xffb\"},{\"s\":\"a\xffb\"},{\"s\":\"a\u00e9\"},{\"s\":\"aé\"},{\"s\":\"aé\"},{\"s\":\"a\xc3\"}]",
		`[{"s":"abc","t":"abc"},{"t":"abc","s":"abd"},{"s":"abc"},{"s":"abc`,
		`[{"s":"ab\"c"},{"s":"ab"c"}]`, "[{\"s\":\"a\\nb\"},{\"s\":\"a\nb\"}]", `[{"k\"":1},{"k"":1}]`,
		`[{"s":"abc"},{"s":"abc\u0000"},{"s":"abc"},{"s":"abc\`,
		`[{"s":"`+strings.Repeat("x", 140)+`"},{"s":"`+strings.Repeat("x", 140)+`"},{"s":"`+strings.Repeat("x", 139)+`"}]`,
		`[{"a":1,"b":2},{"a":1,"b`,
	)
}

// longYAML is a JSON-escaped text longer than the decoder's long-string threshold.
var longYAML = strings.Repeat(`version: \"1.0\"\nsteps:\n  build:\n    image: \u00e9\t\\ `, 6)

func referenceDecode(b []byte) (any, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func checkDecoder(t *testing.T, body []byte) {
	t.Helper()
	want, valid := referenceDecode(body)
	got, err := New(nil, nil).Decode(body)
	if valid != (err == nil) {
		t.Fatalf("%q: decoder error %v, json.Valid %v", body, err, valid)
	}
	if valid && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", body, got, want)
	}
	// The tape holds the same values, without maps.
	tape, err := New(nil, nil).DecodeTape(body)
	if valid != (err == nil) {
		t.Fatalf("%q: tape error %v, json.Valid %v", body, err, valid)
	}
	if !valid {
		return
	}
	if end := int(tape.Nodes[0].End); end != len(tape.Nodes) {
		t.Fatalf("%q: the top value ends at %d of %d nodes", body, end, len(tape.Nodes))
	}
	if got := tape.Value(0); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: tape\n got %#v\nwant %#v", body, got, want)
	}
}

func TestPageDecoderMatchesEncodingJSON(t *testing.T) {
	for _, body := range append(append([]string{}, decoderCorpus...), boundaryCorpus()...) {
		checkDecoder(t, []byte(body))
	}
	// A decoder that failed inside a member reads the next body afresh.
	d := New(nil, nil)
	if _, err := d.DecodeTape([]byte(`{"k":-}`)); err == nil {
		t.Fatal("a bad number decoded")
	}
	if tape, err := d.DecodeTape([]byte(`{"k":1}`)); err != nil || tape.Nodes[0].Key != "" || tape.Nodes[1].Key != "k" {
		t.Fatalf("after an error: %v %+v", err, tape)
	}
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, err := New(nil, nil).Decode([]byte(deep)); err == nil {
		t.Error("nesting deeper than encoding/json allows was accepted")
	}
}

func FuzzPageDecoder(f *testing.F) {
	for _, body := range append(append([]string{}, decoderCorpus...), boundaryCorpus()...) {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoder(t, body)
	})
}
