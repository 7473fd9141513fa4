package dataset

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Readers of Result cells for code that computes from query results. Cells
// are JSON-friendly (see Result): numbers come as int64, float64 or, for
// huge integers and decimals, strings; timestamps as RFC 3339 strings.

// CellString is v as text, "" for NULL.
func CellString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// CellInt is v as an integer; ok is false for NULL and for text that is no number.
func CellInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	case float64:
		return int64(x), true
	case string:
		if n, ok := new(big.Int).SetString(x, 10); ok && n.IsInt64() {
			return n.Int64(), true
		}
		f, err := strconv.ParseFloat(x, 64)
		return int64(f), err == nil
	}
	return 0, false
}

// CellFloat is v as a number; ok is false for NULL and for text that is no number.
func CellFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// CellTime is v as a UTC time; ok is false for NULL and for text that is no
// time. DuckDB's and PostgreSQL's text forms are read too.
func CellTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999Z07:00", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// QuoteLiteral writes s as a SQL string literal, in the standard quoting
// DuckDB and PostgreSQL both read.
func QuoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
