package codefresh

import "github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"

// SanitizeBody makes a response body fit to keep in a debug record: the
// resource's SecretFields are dropped from its records wherever an envelope
// puts them. ok is false when the body is not JSON (a cut connection): then
// secret fields cannot be found in it, and the caller must not keep it.
func (r Resource) SanitizeBody(body []byte) (clean []byte, ok bool) {
	return jsonpage.StripText(body, r.bodySecretPaths())
}

// bodySecretPaths are the paths of SecretFields in a whole body: below each
// selector a body may put the records at (a named key applied to a list
// applies to each element).
func (r Resource) bodySecretPaths() []string {
	if len(r.SecretFields) == 0 {
		return nil
	}
	sels, _ := selectorsFor(r)
	var paths []string
	for _, sel := range sels {
		for _, p := range r.SecretFields {
			switch sel {
			case "", "$":
				paths = append(paths, p)
			default:
				paths = append(paths, sel+"."+p)
			}
		}
	}
	return paths
}
