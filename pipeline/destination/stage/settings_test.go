package stage

import (
	"context"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// TestWriteSettingsInEffect: the database the stage writes through runs
// with the stage's settings (settings.go), as DuckDB reports them.
func TestWriteSettingsInEffect(t *testing.T) {
	s := openStage(t)
	tbl := &normalize.Table{Name: "t", Columns: []*normalize.Column{col("id", normalize.Bigint)}}
	if err := s.Write(tbl, []any{int64(1)}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory_limit":                 "61.0 MiB", // 64MB as DuckDB prints it
		"threads":                      threads,
		"write_buffer_row_group_count": bufferedRowGroups,
	}
	ctx := context.Background()
	for name, value := range want {
		var got string
		if err := s.conn.QueryRowContext(ctx, "SELECT current_setting('"+name+"')::VARCHAR").Scan(&got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
}
