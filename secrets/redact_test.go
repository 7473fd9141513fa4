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

// jsonSpell writes each character of s as picked: 'p' plain, 'l' \u00xx
// lower hex, 'u' \u00XX upper hex, 's' \/ (slashes only).
func jsonSpell(s, picks string) string {
	var b strings.Builder
	for i, c := range s {
		switch picks[i%len(picks)] {
		case 'l':
			fmt.Fprintf(&b, `\u%04x`, c)
		case 'u':
			fmt.Fprintf(&b, `\u%04X`, c)
		case 's':
			if c == '/' {
				b.WriteString(`\/`)
			} else {
				b.WriteRune(c)
			}
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// A key echoed back in a JSON body may come in any mix of escaped and plain
// characters; every spelling is redacted, and the JSON stays valid.
func TestRedactorJSONEscapedSpellings(t *testing.T) {
	const key = "cfk/CANARY.7f3a9d1e5b/x"
	r := NewRedactor(key)
	for _, picks := range []string{"l", "u", "pl", "lpu", "s", "sl", "ppppu", "upppppppppppppppppppppl"} {
		spelled := jsonSpell(key, picks)
		body := `{"a":"before ` + spelled + ` after","b":"\n"}`
		got := r.Redact(body)
		if want := `{"a":"before ` + Redacted + ` after","b":"\n"}`; got != want {
			t.Errorf("spelling %q (%s): got %s, want %s", picks, spelled, got, want)
		}
		if rb := r.RedactBytes([]byte(spelled)); string(rb) != Redacted {
			t.Errorf("RedactBytes(%s) = %s", spelled, rb)
		}
	}
	// A key outside the Basic Multilingual Plane, escaped as a surrogate pair.
	r2 := NewRedactor("key-\U0001F511-value")
	if got := r2.Redact(`"key-\ud83d\uDD11-value"`); got != `"`+Redacted+`"` {
		t.Errorf("surrogate pair: %s", got)
	}
	// JSON text inside a JSON string: the escapes' backslashes escaped again.
	nested := []string{
		strings.ReplaceAll(jsonSpell(key, "lp"), `\`, `\\`),
		strings.ReplaceAll(jsonSpell(key, "u"), `\`, `\\\\`),
		strings.ReplaceAll(jsonSpell(key, "ls"), `\`, `\u005c`),
	}
	for _, s := range nested {
		if got := r.Redact(`{"n":"{\"t\":\"` + s + `\"}"}`); got != `{"n":"{\"t\":\"`+Redacted+`\"}"}` {
			t.Errorf("nested %s: got %s", s, got)
		}
	}
	// Near misses stay as they are.
	for _, s := range []string{`cfk\/CANARY.7f3a9d1e5c\/x`, `\u0063fk/CANARY`, `cfk\u002FCANARY.7f3a9d1e5b\u002`, `\`} {
		if got := r.Redact(s); got != s {
			t.Errorf("Redact(%s) = %s, want it unchanged", s, got)
		}
	}
}
