package dataset

import (
	"encoding/json"
	"fmt"
	"strings"
)

// FillResult reads rows from next (a fresh slice of driver values each,
// ok false after the last) until a cap: MaxRows rows or MaxBytes of JSON.
// convTypes are the columns' types as the converter knows them.
func FillResult(cols, types, convTypes []string, opts QueryOptions, next func() (row []any, ok bool, err error)) (*Result, error) {
	res := &Result{Columns: cols, Types: types, Rows: [][]any{}}
	limit := opts.MaxStringLen
	if opts.WideStringLen > 0 && len(cols) > 1 {
		limit = opts.WideStringLen
	}
	conv := &converter{maxStringLen: limit, summarize: opts.SummarizeDocuments && len(cols) > 1}
	cut, summarized := map[int]bool{}, map[int]bool{}
	size := 0
	for {
		row, ok, err := next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if len(res.Rows) == opts.MaxRows {
			res.Truncated = true
			res.Hint = fmt.Sprintf("only the first %d rows are shown (the row cap): aggregate (COUNT, GROUP BY), filter with WHERE, or page with LIMIT/OFFSET", opts.MaxRows)
			break
		}
		for i, v := range row {
			conv.cut, conv.summarized = false, false
			row[i] = conv.cell(v, convTypes[i])
			cut[i] = cut[i] || conv.cut
			summarized[i] = summarized[i] || conv.summarized
		}
		b, err := json.Marshal(row)
		if err != nil {
			return nil, fmt.Errorf("encode row %d: %w", len(res.Rows)+1, err)
		}
		if size+len(b)+1 > opts.MaxBytes {
			res.Truncated = true
			res.Hint = fmt.Sprintf("only the first %d rows are shown: the result passed the %d KiB output cap; select fewer columns, aggregate, or add LIMIT", len(res.Rows), opts.MaxBytes>>10)
			break
		}
		size += len(b) + 1
		res.Rows = append(res.Rows, row)
	}
	res.RowCount = len(res.Rows)
	var notes []string
	if res.Hint != "" {
		notes = append(notes, res.Hint)
	}
	if names := colNames(cols, summarized); names != "" {
		notes = append(notes, fmt.Sprintf("JSON/YAML values of %s are summarised (as [yaml: N lines, M chars]); select such a column alone to read it whole", names))
	}
	if names := colNames(cols, cut); names != "" {
		notes = append(notes, fmt.Sprintf("text of %s longer than %d characters was cut (marked …[cut: N more characters]); select the column alone (or raise max_value_chars) to read it whole, or a part with substr(column, start, length)", names, limit))
	}
	res.Hint = strings.Join(notes, "; ")
	return res, nil
}

// colNames lists the columns marked in set, in result order.
func colNames(cols []string, set map[int]bool) string {
	var names []string
	for i, c := range cols {
		if set[i] {
			names = append(names, c)
		}
	}
	return strings.Join(names, ", ")
}
