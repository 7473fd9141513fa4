package codefresh

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// SanitizeBody strips the secret fields in place of the body's bytes; what
// it keeps must decode to what decoding the body and dropping the same
// paths from it (below each selector a body may use) gives.
func TestSanitizeBodyDropsSecretFieldsAndKeepsTheRest(t *testing.T) {
	builds, _ := Lookup("builds")
	user, _ := Lookup("user")
	for _, c := range []struct {
		name string
		res  Resource
		body string
		want string // exact output; "" when not JSON
	}{
		{"envelope", builds,
			`{"workflows":{"docs":[{"id":"1","exposedVariables":{"pipeline":[{"key":"K","value":"V"}],"project":[{"key":"P","value":"W"}]}},{"id":"2"}]},"pagination":{"nextPage":false}}`,
			`{"workflows":{"docs":[{"id":"1","exposedVariables":{"pipeline":[{"key":"K"}],"project":[{"key":"P"}]}},{"id":"2"}]},"pagination":{"nextPage":false}}`},
		{"fallback selector", builds,
			`{"docs": [ {"id":"1", "exposedVariables": {"p": [{"value": 1, "key": "k"}]}} ]}`,
			`{"docs":[{"id":"1","exposedVariables":{"p":[{"key":"k"}]}}]}`},
		{"bare array", builds, `[{"exposedVariables":{"p":[{"value":"V"}]},"b":"\u003c"}]`, `[{"exposedVariables":{"p":[{}]},"b":"\u003c"}]`},
		{"wildcard in the path", user, `{"logins":[{"personalGit":{"token":"T","login":"me"}}],"account":{"a":{"integrations":{"x":1},"n":2}}}`,
			`{"logins":[{"personalGit":{"login":"me"}}],"account":{"a":{"n":2}}}`},
		{"nothing secret", builds, ` {"x": [1, 2.50, "y"]} `, `{"x":[1, 2.50, "y"]}`}, // an object a path goes into loses its whitespace
		{"cut body", builds, `{"workflows":{"docs":[{"id":"1"`, ""},
		{"more after the value", builds, `{"a":1} {"b":2}`, ""},
		{"not JSON", builds, `<html>502</html>`, ""},
	} {
		got, ok := c.res.SanitizeBody([]byte(c.body))
		if c.want == "" {
			if ok {
				t.Errorf("%s: ok for %s: %s", c.name, c.body, got)
			}
			continue
		}
		if !ok || string(got) != c.want {
			t.Errorf("%s: %s, %v\nwant %s", c.name, got, ok, c.want)
			continue
		}
		if want := dropDecoded(t, c.res, c.body); !reflect.DeepEqual(decodeAny(t, got), want) {
			t.Errorf("%s: decodes to %v, want %v", c.name, decodeAny(t, got), want)
		}
	}
}

// dropDecoded is the body decoded, minus the resource's secret fields under
// every selector (the map walk Prepare uses on records).
func dropDecoded(t *testing.T, r Resource, body string) any {
	root := decodeAny(t, []byte(body))
	sels, _ := selectorsFor(r)
	for _, p := range r.SecretFields {
		for _, sel := range sels {
			switch sel {
			case "", "$":
				dropPath(root, splitPath(p))
			default:
				if top, isObj := root.(map[string]any); isObj {
					if v, found := lookupObject(top, splitPath(sel)); found {
						dropPath(v, splitPath(p))
					}
				}
			}
		}
	}
	return root
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}
