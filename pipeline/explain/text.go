package explain

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean makes log text safe to show on a terminal (the CLI prints it): it
// drops ANSI escape sequences and carriage returns and replaces other
// control and bidirectional formatting characters by U+FFFD.
func clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b:
			i += escapeLen(s[i:])
			continue
		case r == '\r':
		case r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || isBidi(r) || r == utf8.RuneError && size == 1:
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeLen is the length of the escape sequence at the start of s: CSI
// (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \) or ESC and one byte.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[':
		for i := 2; i < len(s); i++ {
			if s[i] >= 0x40 && s[i] <= 0x7e {
				return i + 1
			}
		}
		return len(s)
	case ']':
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
		}
		return len(s)
	}
	return 2
}

func isBidi(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// cut keeps the first n characters of s and says how many were cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + fmt.Sprintf("…[cut: %d more characters]", len(r)-n)
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func shortRev(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func sortStrings(s []string) { sort.Strings(s) }
