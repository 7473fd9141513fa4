package secrets

// Static makes credentials from a key the program already holds (the demo
// simulator's key, tests), without resolving any source. The fingerprint and
// the one source report are filled in so that checks and reports work.
func Static(key, baseURL, source string) *Credentials {
	fp := Fingerprint(key)
	return &Credentials{
		key: key, Source: source, BaseURL: baseURL, BaseURLSource: source, Fingerprint: fp,
		Sources: []SourceReport{{Source: source, Status: StatusFound, Fingerprint: fp}},
	}
}
