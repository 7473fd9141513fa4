package stage

import "fmt"

// The stage's DuckDB settings, in one place. The stage is a scratch file
// written during extraction: a load's memory is bounded by what DuckDB holds
// of the staged rows before they reach the file.
const (
	// baseMemoryMB is the stage's memory limit for ordinary rows, in MB
	// (DuckDB's 10^6 bytes): small, and threads one, so the stage does not
	// compete with extraction; DuckDB spills to disk beyond the limit. Not
	// less: each lane's transaction holds the row groups it is filling, and
	// at half this a load of child tables ran out of memory.
	baseMemoryMB = 64
	threads      = "1"

	// pinnedRows is what DuckDB holds pinned in memory at once while it
	// appends to a table, in rows: about 1024 rows, their long strings
	// packed into 256 KiB blocks, which can take up to twice the text (rows
	// of 80 KB failed below 88–96 MB, of 160 KB below 176–192 MB, of 200 KB
	// in two 100 KB strings below 256–320 MB). Rows of builds with a large
	// pipeline YAML need more than baseMemoryMB for that alone, so the limit
	// grows with the largest row (memoryFor), keeping otherMemoryMB for the
	// other lane and DuckDB's own.
	pinnedRows    = 2048
	otherMemoryMB = 32

	// maxMemoryMB caps that growth: a table whose rows need more fails
	// with an error that says so (memoryError).
	maxMemoryMB = 4000

	// bufferedRowGroups is how many full row groups of the open transaction
	// DuckDB keeps before writing them to the file (its default is several):
	// one, so a table of many row groups holds no more than the row group
	// being filled and the one being written.
	bufferedRowGroups = "1"

	// flushBytes bounds what a table's appender holds before it hands its
	// rows to the table: DuckDB's appender keeps its rows outside the memory
	// limit until then, at several times the size rowBytes estimates.
	flushBytes = 1 << 20
)

// memoryFor is the stage's memory limit in MB for rows of up to rowBytes.
func memoryFor(rowBytes int) int {
	return min(maxMemoryMB, max(baseMemoryMB, otherMemoryMB+(pinnedRows*rowBytes+999_999)/1_000_000))
}

// writeSettings are the options the stage's file is opened with for
// writing, at a memory limit of memoryMB.
func writeSettings(memoryMB int) []string {
	return []string{
		fmt.Sprintf("memory_limit=%dMB", memoryMB),
		"threads=" + threads,
		"write_buffer_row_group_count=" + bufferedRowGroups,
	}
}
