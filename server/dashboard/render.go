package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

func assetFS() fs.FS {
	sub, err := fs.Sub(assetFiles, "assets")
	if err != nil {
		panic(err) // the embedded folder exists at build time
	}
	return sub
}

// pages holds one template set per page: the layout plus the page's content.
type pages struct{ byName map[string]*template.Template }

var pageNames = []string{"overview", "loads", "schema", "ci", "query"}

func parsePages(funcs template.FuncMap) (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what the layout gets: the page's own data in Data.
type view struct {
	Page    string
	Title   string
	NoData  string // why there is nothing to show yet
	Problem string // an error reading the data
	Data    any
}

var titles = map[string]string{"overview": "Overview", "loads": "Loads", "schema": "Schema", "ci": "CI insights", "query": "Query"}

// page adapts a loader of one page's data into a handler. Reading errors
// become a message on the page; nothing is cached between requests.
func (s *Server) page(name string, load func(ctx context.Context, r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := view{Page: name, Title: titles[name]}
		data, err := s.oneAtATime(r.Context(), func() (any, error) { return load(r.Context(), r) })
		v.Data = data
		status := http.StatusOK
		var locked *duckfile.LockedError
		switch {
		case err == nil:
		case errors.Is(err, dataset.ErrNoData):
			v.NoData = err.Error()
		case errors.As(err, &locked):
			status = http.StatusServiceUnavailable
			v.Problem = "the database is busy (a load is committing): reload in a moment. " + err.Error()
		default:
			status = http.StatusInternalServerError
			v.Problem = err.Error()
			s.opts.Logger.Warn("dashboard page", "page", name, "err", err)
		}
		var buf bytes.Buffer
		if err := s.pages.byName[name].Execute(&buf, v); err != nil {
			s.opts.Logger.Error("dashboard render", "page", name, "err", err)
			http.Error(w, "render failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		w.Write(buf.Bytes())
	}
}

// oneAtATime runs read while no other page reads, and not before the
// pause the previous read left (see Server.turn).
func (s *Server) oneAtATime(ctx context.Context, read func() (any, error)) (any, error) {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.turn }()
	if wait := time.Until(s.freeFrom); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	start := time.Now()
	defer func() { s.freeFrom = time.Now().Add(min(time.Since(start), maxPause)) }()
	return read()
}

// maxPause bounds the wait after a slow read (a long query).
const maxPause = 2 * time.Second

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"num":     num,
		"when":    when,
		"ago":     func(t time.Time) string { return ago(s.opts.Now(), t) },
		"dur":     dur,
		"secs":    func(f float64) string { return dur(time.Duration(f * float64(time.Second))) },
		"pct":     func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
		"cell":    cellText,
		"state":   statusClass,
		"variant": isVariant,
	}
}

// num writes an integer with thousands separators.
func num(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	default:
		return fmt.Sprint(v)
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago says how long before now t was, in the largest sensible unit.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in the future"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

func dur(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		m := int(d.Minutes())
		return fmt.Sprintf("%dm %02ds", m, int(math.Round(d.Seconds()))-60*m)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

// cellText shows one query value: NULL for null, nested values as JSON text.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return jsonText(v)
}

// statusClass maps a build or load status to a CSS class; unknown values get
// a neutral one, so data never picks a class name.
func statusClass(status string) string {
	switch status {
	case "success", "loaded", "succeeded", "complete":
		return "s-success"
	case "error", "failed", "denied":
		return "s-error"
	case "terminated", "terminating", "cancelled", "skipped":
		return "s-terminated"
	case "running", "elected", "approved":
		return "s-running"
	case "pending", "pending-approval", "delayed":
		return "s-pending"
	}
	return "s-other"
}
