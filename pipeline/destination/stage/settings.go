package stage

// The stage's DuckDB settings, in one place. The stage is a scratch file
// written during extraction: a load's memory is bounded by what DuckDB holds
// of the staged rows before they reach the file.
const (
	// memoryLimit is small and threads one: the stage must not compete with
	// extraction; DuckDB spills to disk beyond the limit. Not less: each
	// lane's transaction holds the row groups it is filling, and at half
	// this a load of child tables ran out of memory.
	memoryLimit = "64MB"
	threads     = "1"

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

// writeSettings are the options the stage's file is opened with for writing.
func writeSettings() []string {
	return []string{
		"memory_limit=" + memoryLimit,
		"threads=" + threads,
		"write_buffer_row_group_count=" + bufferedRowGroups,
	}
}
