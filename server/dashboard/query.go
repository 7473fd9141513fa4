package dashboard

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// The query box runs in the MCP query tool's sandbox (a person's statement is
// as untrusted as an agent's) with caps of its own: a page shows at most
// 24 KB of rows, half the tool's 48 KiB (tools/query.go).
const (
	queryDefaultRows = 100
	queryMaxRows     = 1000
	queryMaxBytes    = 24 << 10
	queryTimeout     = 30 * time.Second
	maxSQLLen        = 64 << 10
)

// exampleSQL fills an empty box: builds by status.
func exampleSQL(dataset string) string {
	return "SELECT status, count(*) AS builds\nFROM " + dataset + ".builds\nGROUP BY status\nORDER BY builds DESC"
}

type queryData struct {
	SQL       string
	MaxRows   int
	Result    *dataset.Result
	Refused   string // the sandbox said no: nothing ran
	Error     string
	Caps      string
	Dataset   string
	Submitted bool
}

func queryCaps(maxRows int) dataset.QueryOptions {
	return dataset.QueryOptions{MaxRows: maxRows, MaxBytes: queryMaxBytes, Timeout: queryTimeout}
}

func capsText(maxRows int) string {
	return "one read-only SELECT; at most " + strconv.Itoa(maxRows) + " rows and about " + strconv.Itoa(queryMaxBytes>>10) + " KB, " + queryTimeout.String() + " timeout (the MCP query tool's sandbox)"
}

func (s *Server) queryForm(_ context.Context, r *http.Request) (any, error) {
	sql := r.URL.Query().Get("sql")
	if sql == "" {
		sql = exampleSQL(s.opts.Dataset)
	}
	return &queryData{SQL: sql, MaxRows: queryDefaultRows, Caps: capsText(queryDefaultRows), Dataset: s.opts.Dataset}, nil
}

// queryInput reads the form: the statement and the row cap.
func queryInput(r *http.Request) (sql string, maxRows int, err error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxSQLLen+1024)
	if err := r.ParseForm(); err != nil {
		return "", 0, errors.New("the form could not be read: " + err.Error())
	}
	sql = r.PostForm.Get("sql")
	maxRows = queryDefaultRows
	if n, err := strconv.Atoi(r.PostForm.Get("max_rows")); err == nil && n > 0 {
		maxRows = min(n, queryMaxRows)
	}
	return sql, maxRows, nil
}

func (s *Server) queryRun(ctx context.Context, r *http.Request) (any, error) {
	sql, maxRows, err := queryInput(r)
	d := &queryData{SQL: sql, MaxRows: maxRows, Caps: capsText(maxRows), Submitted: true, Dataset: s.opts.Dataset}
	if err != nil {
		d.Error = err.Error()
		return d, nil
	}
	res, err := s.opts.Reader.Query(ctx, sql, queryCaps(maxRows))
	var refused *dataset.RefusedError
	switch {
	case errors.As(err, &refused):
		d.Refused = refused.Reason
	case errors.Is(err, dataset.ErrNoData):
		return d, err
	case err != nil:
		d.Error = err.Error()
	default:
		d.Result = res
	}
	return d, nil
}

// queryCSV runs the statement as the query box does and sends the rows as
// CSV. Cells that a spreadsheet would run as a formula get a leading quote.
func (s *Server) queryCSV(w http.ResponseWriter, r *http.Request) {
	sql, maxRows, err := queryInput(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := s.oneAtATime(r.Context(), func() (any, error) { return s.opts.Reader.Query(r.Context(), sql, queryCaps(maxRows)) })
	res, _ := out.(*dataset.Result)
	var refused *dataset.RefusedError
	switch {
	case errors.As(err, &refused):
		http.Error(w, "refused: "+refused.Reason, http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="query.csv"`)
	if res.Truncated {
		w.Header().Set("X-Result-Truncated", "true")
	}
	cw := csv.NewWriter(w)
	cw.Write(res.Columns)
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = defuseFormula(cellText(v))
		}
		cw.Write(cells)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.opts.Logger.Warn("dashboard csv", "err", err)
	}
}

// defuseFormula prefixes text a spreadsheet would evaluate (=, +, -, @ and
// control characters first) with an apostrophe; numbers stay as they are.
func defuseFormula(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}
