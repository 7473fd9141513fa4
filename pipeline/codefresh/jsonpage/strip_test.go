package jsonpage

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// strippingPaths drop secrets in every way the path syntax allows, from the
// records at strippingSelectors.
var (
	strippingPaths     = []string{"token", "env.*.value", "creds.*", "a.b.c", "list.*.k"}
	strippingSelectors = []string{"docs", "$"}
)

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
// of are byte for byte what Strip makes of them.
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
	d := New(strippingPaths, strippingSelectors)
	_, err := d.Decode(body)
	if !json.Valid(body) {
		if err == nil {
			t.Fatalf("%q: not JSON, decoded", body)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: valid JSON, decoder error %v", body, err)
	}
	for _, sel := range strippingSelectors {
		raws, stripped, ok := d.Records(sel)
		if !ok || len(raws) != len(stripped) {
			t.Fatalf("%q %s: %d raws, %d stripped, ok %v", body, sel, len(raws), len(stripped), ok)
		}
		for i, raw := range raws {
			want := Strip(raw, strippingPaths)
			if !bytes.Equal(stripped[i], want) {
				t.Fatalf("%q %s record %d:\n got %s\nwant %s", body, sel, i, stripped[i], want)
			}
			if !json.Valid(stripped[i]) {
				t.Fatalf("%q %s record %d: stripped raw is not JSON: %s", body, sel, i, stripped[i])
			}
		}
	}
	// On a tape the records lack what the secret paths name, as the
	// stripped raws do.
	dt := New(strippingPaths, strippingSelectors)
	tape, err := dt.DecodeTape(body)
	if err != nil {
		t.Fatalf("%q: valid JSON, tape error %v", body, err)
	}
	for _, sel := range strippingSelectors {
		_, stripped, _ := d.Records(sel)
		nodes, ok := d.RecordNodes(sel)
		if ok && nodes != nil {
			t.Fatalf("%q %s: Decode (not DecodeTape) gave tape nodes %v", body, sel, nodes)
		}
		raws, _, _ := d.Records(sel)
		if received, ok := dt.Received(sel); !ok || !slices.EqualFunc(received, raws, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("%q %s: received %q, Records gave %q", body, sel, received, raws)
		}
		nodes, ok = dt.RecordNodes(sel)
		if !ok || len(nodes) != len(stripped) {
			t.Fatalf("%q %s: %d tape records, %d stripped, ok %v", body, sel, len(nodes), len(stripped), ok)
		}
		for i, at := range nodes {
			want, _ := referenceDecode(stripped[i])
			if got := tape.Value(at); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q %s record %d: tape\n got %#v\nwant %#v (%s)", body, sel, i, got, want, stripped[i])
			}
		}
	}
}

// TestKeysAsDecoded: Keys names the members of an object as encoding/json
// decodes them (escapes, invalid UTF-8, repeats), in document order.
func TestKeysAsDecoded(t *testing.T) {
	for _, body := range append(append([]string{}, decoderCorpus...), strippingCorpus...) {
		checkKeys(t, []byte(body))
	}
	keys, ok := Keys([]byte(`{"spec":{"steps":{"b":1,"a":2}},"spec":{"steps":{"z":{"y":1},"c\u0061":2,"z":3}}}`), "spec", "steps")
	if !ok || !slices.Equal(keys, []string{"z", "ca", "z"}) {
		t.Errorf("keys of the last spec.steps: %q %v", keys, ok)
	}
	if keys, ok := Keys([]byte(`{"spec":[{"steps":{}}]}`), "spec", "steps"); ok || keys != nil {
		t.Errorf("a path through a list: %q %v", keys, ok)
	}
}

func FuzzKeys(f *testing.F) {
	for _, body := range decoderCorpus {
		f.Add([]byte(body))
	}
	f.Fuzz(checkKeys)
}

func checkKeys(t *testing.T, body []byte) {
	want, valid := referenceDecode(body)
	if !valid {
		Keys(body) // must not panic
		return
	}
	obj, isObject := want.(map[string]any)
	keys, ok := Keys(body)
	if ok != isObject {
		t.Fatalf("%q: Keys ok %v, decoded %T", body, ok, want)
	}
	for _, k := range keys {
		if _, found := obj[k]; !found {
			t.Fatalf("%q: key %q is not in the decoded object %v", body, k, obj)
		}
	}
	if seen := slices.Compact(slices.Sorted(slices.Values(keys))); len(seen) != len(obj) {
		t.Fatalf("%q: keys %q, decoded %v", body, keys, obj)
	}
}
