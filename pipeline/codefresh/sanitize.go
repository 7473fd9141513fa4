package codefresh

import (
	"bytes"
	"encoding/json"
	"strings"
)

// SanitizeBody makes a response body fit to keep in a debug record: the
// resource's SecretFields are dropped from its records wherever an envelope
// puts them. ok is false when the body is not JSON (a cut connection): then
// secret fields cannot be found in it, and the caller must not keep it.
func (r Resource) SanitizeBody(body []byte) (clean []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil || dec.More() {
		return nil, false
	}
	if len(r.SecretFields) > 0 {
		sels, _ := selectorsFor(r)
		for _, p := range r.SecretFields {
			path := splitPath(p)
			for _, sel := range sels {
				switch sel {
				case "", "$":
					dropPath(root, path)
				default:
					if top, isObj := root.(map[string]any); isObj {
						if v, found := lookupObject(top, splitPath(sel)); found {
							dropPath(v, path)
						}
					}
				}
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, false
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), true
}
