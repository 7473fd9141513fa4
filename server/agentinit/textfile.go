package agentinit

import (
	"errors"
	"strings"
)

// Markers around the part of a project's AGENTS.md that init owns, so a
// project's own AGENTS.md keeps its text and a later init updates only ours.
const (
	sectionBegin = "<!-- BEGIN codefresh-mcp: written by `codefresh-mcp init`; this section is replaced on the next init -->"
	sectionEnd   = "<!-- END codefresh-mcp -->"
)

// withSection puts body between our markers in text: replaced where the
// markers are, appended otherwise. Text that already holds body verbatim
// (the embedded file copied by hand) is left alone.
func withSection(text, body string) (string, error) {
	body = strings.TrimRight(body, "\n")
	section := sectionBegin + "\n" + body + "\n" + sectionEnd + "\n"
	b := strings.Index(text, sectionBegin)
	if b < 0 {
		if strings.Contains(text, body) {
			return text, nil
		}
		if strings.TrimSpace(text) == "" {
			return section, nil
		}
		return ensureNewline(text) + "\n" + section, nil
	}
	e := strings.Index(text[b:], sectionEnd)
	if e < 0 {
		return "", errors.New("has the codefresh-mcp BEGIN marker but no END marker; restore or remove the section and run init again")
	}
	end := b + e + len(sectionEnd)
	if end < len(text) && text[end] == '\n' {
		end++
	}
	return text[:b] + section + text[end:], nil
}

// withLines appends the lines text lacks (compared trimmed; "/x" counts as
// "x"), under a comment naming us, and keeps everything else.
func withLines(text, comment string, lines []string) string {
	have := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		have[l] = true
		have[strings.TrimPrefix(l, "/")] = true
	}
	var missing []string
	for _, l := range lines {
		if !have[l] {
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 {
		return text
	}
	var b strings.Builder
	if strings.TrimSpace(text) != "" {
		b.WriteString(ensureNewline(text))
		b.WriteString("\n")
	}
	if comment != "" && !have[comment] {
		b.WriteString(comment + "\n")
	}
	for _, l := range missing {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// withImport adds the line "@AGENTS.md" to a CLAUDE.md that lacks it.
func withImport(text, line string) string {
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t == line || t == "@./"+strings.TrimPrefix(line, "@") {
			return text
		}
	}
	if strings.TrimSpace(text) == "" {
		return line + "\n"
	}
	return ensureNewline(text) + "\n" + line + "\n"
}

func ensureNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
