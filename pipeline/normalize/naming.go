package normalize

import (
	"crypto/sha3"
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Naming follows dlt's snake_case convention
// (dlt/common/normalizers/naming/snake_case.py and naming.py).
//
// Identifiers are not made safe against SQL reserved words: every
// destination quotes every identifier, so a column named "select" or "order"
// works as it does in dlt.

const (
	// DefaultMaxIdentifierLength is where names are shortened with a hash
	// tag. dlt uses 63 for PostgreSQL and 65536 for DuckDB; 127 keeps every
	// realistic Codefresh name intact.
	DefaultMaxIdentifierLength = 127

	// PathSeparator joins flattened fields (a__b) and parent/child tables.
	PathSeparator = "__"

	emptyKey = "_empty" // what dlt names an empty or blank source key
)

// Identifier normalizes one source key or resource name the way
// dlt does for a table or column: the name is broken at "__", each part is
// put into snake_case and the path is shortened when too long.
// It returns "_empty" for an empty or blank name.
func Identifier(name string) string {
	return normalizeKey(name, DefaultMaxIdentifierLength)
}

// normalizeKey is what dlt applies to a key of a record (or to a table
// name): blank keys become "_empty", other keys are normalized as a path.
func normalizeKey(key string, maxLen int) string {
	if isBlank(key) {
		return emptyKey
	}
	if p := normalizePath(key, maxLen); p != "" {
		return p
	}
	// A key made only of "__" separators: dlt would produce an empty
	// name, which no database accepts.
	return emptyKey
}

// normalizePath breaks path at "__", normalizes every non-blank part and
// shortens the joined result (dlt's normalize_path).
func normalizePath(path string, maxLen int) string {
	parts := strings.Split(path, PathSeparator)
	out := parts[:0]
	for _, p := range parts {
		if isBlank(p) {
			continue
		}
		out = append(out, normalizeIdentifier(pyStrip(p), maxLen))
	}
	return shorten(strings.Join(out, PathSeparator), path, maxLen)
}

// shortenFragments joins already normalized names into a path and shortens
// it, the tag computed from the joined path (dlt's shorten_fragments).
func shortenFragments(path string, maxLen int) string {
	return shorten(path, path, maxLen)
}

// normalizeIdentifier is snake_case's normalize_identifier for a stripped,
// non-empty identifier.
func normalizeIdentifier(ident string, maxLen int) string {
	return shorten(snakeCase(ident), ident, maxLen)
}

// snakeCase reduces the alphabet, replaces what is not a letter, digit or
// underscore, breaks camelCase and fixes leading digits and trailing and
// doubled underscores, in dlt's order.
func snakeCase(ident string) string {
	// 1. reduce alphabet ("+-*@|" -> "x_xal") and 2. replace every run of
	// characters other than [a-zA-Z\d_] with one "_". Python's \d matches
	// any Unicode decimal digit.
	rs := make([]rune, 0, len(ident))
	inRun := false
	for _, r := range ident {
		switch r {
		case '+', '*':
			r = 'x'
		case '-':
			r = '_'
		case '@':
			r = 'a'
		case '|':
			r = 'l'
		}
		if isASCIILetter(r) || r == '_' || unicode.IsDigit(r) {
			rs = append(rs, r)
			inRun = false
			continue
		}
		if !inRun {
			rs = append(rs, '_')
			inRun = true
		}
	}

	// 3. ([^_])([A-Z][a-z]+) -> \1_\2, scanning left to right without overlap.
	b1 := make([]rune, 0, len(rs)+4)
	for i := 0; i < len(rs); {
		if rs[i] != '_' && i+2 < len(rs) && isUpper(rs[i+1]) && isLower(rs[i+2]) {
			j := i + 2
			for j < len(rs) && isLower(rs[j]) {
				j++
			}
			b1 = append(b1, rs[i], '_')
			b1 = append(b1, rs[i+1:j]...)
			i = j
			continue
		}
		b1 = append(b1, rs[i])
		i++
	}

	// 4. ([a-z0-9])([A-Z]) -> \1_\2, then lower case.
	b2 := make([]rune, 0, len(b1)+4)
	for i := 0; i < len(b1); {
		if i+1 < len(b1) && (isLower(b1[i]) || (b1[i] >= '0' && b1[i] <= '9')) && isUpper(b1[i+1]) {
			b2 = append(b2, b1[i], '_', b1[i+1])
			i += 2
			continue
		}
		b2 = append(b2, b1[i])
		i++
	}
	for i, r := range b2 {
		if isUpper(r) {
			b2[i] = r + ('a' - 'A')
		}
	}

	// 5. leading digits get a "_" prefix.
	if len(b2) > 0 && unicode.IsDigit(b2[0]) {
		b2 = append([]rune{'_'}, b2...)
	}

	// 6. every trailing "_" becomes "x".
	end := len(b2)
	for end > 0 && b2[end-1] == '_' {
		end--
	}
	for i := end; i < len(b2); i++ {
		b2[i] = 'x'
	}

	// 7. runs of "_" collapse to one, so "__" stays the path separator.
	var sb strings.Builder
	sb.Grow(len(b2))
	for i, r := range b2 {
		if r == '_' && i > 0 && b2[i-1] == '_' {
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// shorten trims normalized to maxLen characters, putting a tag computed
// from original in the middle (dlt's shorten_identifier; lengths count
// code points, as Python's len does).
func shorten(normalized, original string, maxLen int) string {
	if maxLen <= 0 || utf8.RuneCountInString(normalized) <= maxLen {
		return normalized
	}
	return trimAndTag(normalized, nameTag(original), maxLen)
}

// nameTag is a 6-character content hash: 4 bytes of SHAKE128, base64
// without padding, "/+" mapped to "ab", lower case.
func nameTag(original string) string {
	var d [4]byte
	h := sha3.NewSHAKE128()
	h.Write([]byte(original))
	h.Read(d[:])
	tag := []byte(base64.RawStdEncoding.EncodeToString(d[:]))
	for i, c := range tag {
		switch {
		case c == '/':
			tag[i] = 'a'
		case c == '+':
			tag[i] = 'b'
		case c >= 'A' && c <= 'Z':
			tag[i] = c + ('a' - 'A')
		}
	}
	return string(tag)
}

// trimAndTag keeps the head and the tail of ident around tag so the
// result is exactly maxLen long (the head takes the odd character).
func trimAndTag(ident, tag string, maxLen int) string {
	rs := []rune(ident)
	remaining := maxLen - len(tag)
	if remaining < 0 {
		return tag[:maxLen]
	}
	head := remaining/2 + remaining%2
	tail := remaining / 2
	return string(rs[:head]) + tag + string(rs[len(rs)-tail:])
}

func isASCIILetter(r rune) bool { return isUpper(r) || isLower(r) }
func isUpper(r rune) bool       { return r >= 'A' && r <= 'Z' }
func isLower(r rune) bool       { return r >= 'a' && r <= 'z' }

// pySpace is Python's str.isspace for one character: Unicode white space
// plus the ASCII separators 0x1c-0x1f.
func pySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func isBlank(s string) bool { return strings.TrimFunc(s, pySpace) == "" }

func pyStrip(s string) string { return strings.TrimFunc(s, pySpace) }
