package secrets

// Static makes credentials from a key the program already holds (the demo
// simulator's key, tests), without resolving any source.
func Static(key, baseURL, source string) *Credentials {
	return &Credentials{key: key, Source: source, BaseURL: baseURL, BaseURLSource: source}
}
