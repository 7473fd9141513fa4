package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// pgTypeName is a column type as PostgreSQL's format_type writes the
// common ones.
func pgTypeName(m *pgtype.Map, oid uint32) string {
	switch oid {
	case pgtype.Int8OID:
		return "bigint"
	case pgtype.Int4OID:
		return "integer"
	case pgtype.Int2OID:
		return "smallint"
	case pgtype.Float8OID:
		return "double precision"
	case pgtype.Float4OID:
		return "real"
	case pgtype.BoolOID:
		return "boolean"
	case pgtype.TimestamptzOID:
		return "timestamp with time zone"
	case pgtype.TimestampOID:
		return "timestamp without time zone"
	case pgtype.VarcharOID:
		return "character varying"
	}
	if t, ok := m.TypeForOID(oid); ok {
		return t.Name
	}
	return fmt.Sprintf("oid %d", oid)
}

// duckTypeOf names the PostgreSQL types the converter formats specially.
func duckTypeOf(pg string) string {
	switch pg {
	case "date":
		return "DATE"
	case "time":
		return "TIME"
	case "uuid":
		return "UUID"
	}
	return ""
}

// pgValue turns pgx's own value types into plain Go values.
func pgValue(v any) any {
	switch x := v.(type) {
	case pgtype.Numeric:
		// As the DuckDB reader gives decimals: exact, as a string.
		b, err := x.MarshalJSON()
		if err != nil || !x.Valid {
			return nil
		}
		return string(b)
	case [16]byte:
		return x[:]
	case pgtype.Interval:
		if !x.Valid {
			return nil
		}
		return map[string]any{"months": x.Months, "days": x.Days, "micros": x.Microseconds}
	case pgtype.Time:
		if !x.Valid {
			return nil
		}
		return time.UnixMicro(x.Microseconds).UTC().Format("15:04:05.999999")
	}
	return v
}
