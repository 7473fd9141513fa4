package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := NewRedactor(canary, "short", "")
	r.Add(otherKey)

	got := r.Redact("a " + canary + " b " + otherKey + " c " + url.QueryEscape("x y"+canary) + " short")
	if strings.Contains(got, canary) || strings.Contains(got, otherKey) {
		t.Fatalf("not redacted: %q", got)
	}
	if !strings.Contains(got, "short") || strings.Count(got, Redacted) != 3 {
		t.Fatalf("want 3 redactions and short values left alone: %q", got)
	}

	b := []byte("key=" + canary)
	if rb := r.RedactBytes(b); string(rb) != "key="+Redacted || string(b) != "key="+canary {
		t.Fatalf("RedactBytes %q (input now %q)", rb, b)
	}
	clean := []byte("nothing here")
	if rb := r.RedactBytes(clean); &rb[0] != &clean[0] {
		t.Fatal("clean input should be returned as is")
	}

	// A secret containing another is replaced whole.
	r2 := NewRedactor("abcdefgh", "abcdefgh-longer")
	if got := r2.Redact("abcdefgh-longer"); got != Redacted {
		t.Fatalf("got %q", got)
	}

	var nilR *Redactor
	if nilR.Redact(canary) != canary {
		t.Fatal("nil redactor must pass text through")
	}
}

func TestRedactorError(t *testing.T) {
	r := NewRedactor(canary)
	if r.Error(nil) != nil {
		t.Fatal("nil error must stay nil")
	}
	plain := errors.New("no secret")
	if r.Error(plain) != plain {
		t.Fatal("an error without secrets is returned unchanged")
	}
	base := &fs.PathError{Op: "open", Path: "/x/" + canary, Err: fs.ErrNotExist}
	err := r.Error(fmt.Errorf("loading: %w", base))
	if strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "loading: open /x/"+Redacted) {
		t.Fatalf("got %q", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("redacted error lost its chain")
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

func TestRedactingHandler(t *testing.T) {
	for _, json := range []bool{false, true} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
		if json {
			h = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
		}
		r := NewRedactor(canary)
		log := slog.New(r.Handler(h)).With("pre", "k="+canary).WithGroup("g")
		log.Info("msg "+canary,
			"s", canary,
			"err", fmt.Errorf("wrapped: %s", canary),
			"bytes", []byte(canary),
			"stringer", stringer{canary},
			"n", 42,
			slog.Group("inner", "x", canary),
			"clean", "ok",
		)
		out := buf.String()
		if strings.Contains(out, canary) {
			t.Fatalf("json=%v: canary leaked: %s", json, out)
		}
		if strings.Count(out, Redacted) != 7 || !strings.Contains(out, "42") || !strings.Contains(out, "ok") {
			t.Fatalf("json=%v: want 7 redactions and clean values kept: %s", json, out)
		}
	}
}
