package cli

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline"
)

// On a terminal a log line clears the progress line, then the progress line
// comes back below it; without a terminal nothing is rewritten.
func TestStatusLineKeepsLogAndProgressApart(t *testing.T) {
	var out bytes.Buffer
	screen := newStatusLine(&out, true)
	log := slog.New(slog.NewTextHandler(screen, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	screen.show("extract builds 3 pages")
	log.Info("load committed")
	screen.show("load    builds 4 pages")
	screen.done()
	log.Info("after")
	want := "\r\033[Kextract builds 3 pages" +
		"\r\033[Klevel=INFO msg=\"load committed\"\nextract builds 3 pages" +
		"\r\033[Kload    builds 4 pages\n" +
		"level=INFO msg=after\n"
	if got := out.String(); got != want {
		t.Errorf("terminal output\n got %q\nwant %q", got, want)
	}

	out.Reset()
	plain := newStatusLine(&out, false)
	progressPrinter(plain)(pipeline.Progress{Phase: "extract", Resource: "builds", Pages: 1, Rows: 10})
	slog.New(slog.NewTextHandler(plain, nil)).Info("x")
	if got := out.String(); bytes.Contains(out.Bytes(), []byte("\r")) || !bytes.HasPrefix(out.Bytes(), []byte("extract builds (1 pages, 10 records so far)\n")) {
		t.Errorf("plain output %q", got)
	}
}
