package codefresh

import (
	"bytes"
	"encoding/json"
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
	d := newPageDecoder(Resource{}, nil)
	got, err := d.decode(body)
	if valid != (err == nil) {
		t.Fatalf("%q: decoder error %v, json.Valid %v", body, err, valid)
	}
	if valid && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", body, got, want)
	}
}

func TestPageDecoderMatchesEncodingJSON(t *testing.T) {
	for _, body := range decoderCorpus {
		checkDecoder(t, []byte(body))
	}
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, err := newPageDecoder(Resource{}, nil).decode([]byte(deep)); err == nil {
		t.Error("nesting deeper than encoding/json allows was accepted")
	}
}

func FuzzPageDecoder(f *testing.F) {
	for _, body := range decoderCorpus {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoder(t, body)
	})
}

// strippingResource drops secrets in every way the path syntax allows.
var strippingResource = Resource{Name: "x", DataSelector: "docs", AltSelectors: []string{"$"},
	SecretFields: []string{"token", "env.*.value", "creds.*", "a.b.c", "list.*.k"}}

var strippingCorpus = []string{
	`[{"token":"T","id":1}]`,
	`[{"id":1,"token":"T"},{"id":2,"token":"T","x":3},{"token":"T"}]`,
	`[{"token":"T","token":"U","id":1,"token":"V"}]`,
	`[{"env":{"p":[{"key":"A","value":"s"},{"value":"t","key":"B"}],"q":{"value":"u","k":1}},"id":1}]`,
	`[{"creds":["a",{"b":1},[2]],"id":1},{"creds":{"x":1,"y":2}},{"creds":[]},{"creds":{}}]`,
	`[{"a":{"b":{"c":1,"d":2},"e":{"c":3}},"z":{"b":{"c":4}}}]`,
	`[{"a":[{"b":[{"c":1},{"c":2,"d":3}]}]}]`,
	`[{"list":[{"k":1,"v":2},{"v":3,"k":4}],"list2":[{"k":1}]}]`,
	`[[{"token":"T"}],"s",1,null,{"\u0074oken":"T","ok":1}]`,
	`{"docs":[{"token":"T","id":1},{"id":2}],"token":"envelope stays"}`,
	"[ {\"token\" : \"T\" , \"id\" : 1} , {\"id\":2,\"env\":{ \"p\":[{\"value\":1}]}} ]",
	`[{"id":"a\"token\":\"b","token":"T\"}"}]`,
}

// TestPageDecoderStripsAsTheWalker: the records the decoder cuts secrets out
// of are byte for byte what stripRaw makes of them.
func TestPageDecoderStripsAsTheWalker(t *testing.T) {
	for _, body := range strippingCorpus {
		checkStripping(t, []byte(body))
	}
}

func FuzzPageDecoderStripping(f *testing.F) {
	for _, body := range strippingCorpus {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkStripping(t, body)
	})
}

func checkStripping(t *testing.T, body []byte) {
	t.Helper()
	r := strippingResource
	page, _, raws, err := decodePage(r, body)
	if !json.Valid(body) {
		if _, ok := err.(*malformedBody); !ok {
			t.Fatalf("%q: not JSON, decodePage error %v", body, err)
		}
		return
	}
	if err != nil {
		return // valid JSON of another shape
	}
	for i, raw := range raws {
		want := stripRaw(raw, r.SecretFields)
		if !bytes.Equal(page.Raw[i], want) {
			t.Fatalf("%q record %d:\n got %s\nwant %s", body, i, page.Raw[i], want)
		}
		if !json.Valid(page.Raw[i]) {
			t.Fatalf("%q record %d: stripped raw is not JSON: %s", body, i, page.Raw[i])
		}
	}
}

func TestDecodePageSelectors(t *testing.T) {
	builds := Resource{Name: "builds", DataSelector: "workflows.docs", SecretFields: []string{"exposedVariables.*.value"}}
	body := []byte(`{"workflows":{"docs":[{"id":"1","exposedVariables":{"pipeline":[{"key":"K","value":"V"}]}},{"id":"2"}]},"pagination":{"nextPage":false}}`)
	page, next, raws, err := decodePage(builds, body)
	if err != nil || next == nil || *next || len(page.Records) != 2 || len(raws) != 2 || page.Selector != "workflows.docs" {
		t.Fatalf("page=%+v next=%v err=%v", page, next, err)
	}
	if got := string(page.Raw[0]); got != `{"id":"1","exposedVariables":{"pipeline":[{"key":"K"}]}}` {
		t.Errorf("raw 0 = %s", got)
	}
	if &page.Raw[1][0] != &body[bytes.Index(body, []byte(`{"id":"2"}`))] {
		t.Error("a record with nothing to cut is copied, not sliced from the body")
	}
	if page.Records[0]["id"] != "1" {
		t.Errorf("record 0 = %v", page.Records[0])
	}

	// The last of repeated keys wins, for records and raw alike.
	body = []byte(`{"workflows":{"docs":[{"id":"old"}]},"workflows":{"docs":[{"id":"a"},{"id":"b"}]}}`)
	page, _, raws, err = decodePage(builds, body)
	if err != nil || len(page.Records) != 2 || string(raws[1]) != `{"id":"b"}` || page.Records[1]["id"] != "b" {
		t.Fatalf("repeated key: %v %v %s", err, page, raws)
	}
	// null: no records; another shape: a ShapeError.
	if page, _, _, err = decodePage(builds, []byte(`{"workflows":{"docs":null}}`)); err != nil || len(page.Records) != 0 {
		t.Errorf("null docs: %v %v", page, err)
	}
	if _, _, _, err = decodePage(builds, []byte(`{"workflows":{"docs":{}}}`)); err == nil {
		t.Error("an object where records belong was accepted")
	} else if _, ok := err.(*ShapeError); !ok {
		t.Errorf("shape: %T %v", err, err)
	}
	// A cut body is malformed, with encoding/json's words.
	_, _, _, err = decodePage(builds, body[:len(body)-3])
	if mb, ok := err.(*malformedBody); !ok || !strings.Contains(mb.Error(), "unexpected end of JSON input") {
		t.Errorf("cut body: %T %v", err, err)
	}
	// One object, stripped.
	one := Resource{Name: "one", SecretFields: []string{"token"}}
	page, _, _, err = decodePage(one, []byte(` {"a":1, "token":"T"} `))
	if err != nil || string(page.Raw[0]) != `{"a":1}` || page.Records[0]["token"] != "T" {
		t.Errorf("single object: %v %s %v", err, page.Raw, page.Records) // Prepare drops it from the record
	}
}

// readBody (client.go) reads exactly what the server sends, whatever length
// it announced.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	for _, announced := range []int64{-1, 0, 10, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 5, maxBodyBytes + 1} {
		got, err := readBody(strings.NewReader(body), announced)
		if err != nil || string(got) != body {
			t.Errorf("announced %d: %d bytes, %v", announced, len(got), err)
		}
	}
	if got, _ := readBody(strings.NewReader(body), int64(len(body))); cap(got) != len(body)+1 {
		t.Errorf("announced length: buffer of %d for %d bytes", cap(got), len(body))
	}
}
