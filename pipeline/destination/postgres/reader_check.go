package postgres

import (
	"fmt"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// deniedFunctions are functions a query may not name even where the
// login's rights would allow them: they change the session's role or
// settings (set_config), run SQL given as text, read or write server
// files, or act on other sessions and the server. The read-only
// transaction and pg_read_all_data are the sandbox; this list covers what
// a superuser login could still reach through them.
var deniedFunctions = map[string]bool{
	"set_config": true, "query_to_xml": true, "query_to_xmlschema": true, "query_to_xml_and_xmlschema": true,
	"cursor_to_xml": true, "cursor_to_xmlschema": true,
	"pg_read_file": true, "pg_read_binary_file": true, "pg_stat_file": true, "pg_file_write": true,
	"pg_file_rename": true, "pg_file_unlink": true, "pg_file_sync": true,
	"lo_import": true, "lo_export": true, "lo_from_bytea": true, "lo_put": true, "lo_create": true,
	"lo_creat": true, "lo_unlink": true, "lo_truncate": true,
	"pg_terminate_backend": true, "pg_cancel_backend": true, "pg_reload_conf": true, "pg_rotate_logfile": true,
	"pg_promote": true, "pg_switch_wal": true, "pg_create_restore_point": true, "pg_logical_emit_message": true,
	"pg_notify": true, "pg_log_backend_memory_contexts": true, "pg_import_system_collations": true,
}

// deniedPrefixes name families of such functions.
var deniedPrefixes = []string{"dblink", "pg_ls_", "pg_advisory", "pg_stat_reset", "pg_replication_", "pg_create_logical_", "pg_create_physical_", "pg_drop_replication"}

// checkPostgresQuery reads the query's tokens as PostgreSQL does (strings,
// dollar quotes, quoted names, nested comments) and refuses one that names
// a denied function.
func checkPostgresQuery(q string) error {
	deny := func(word string) error {
		w := strings.ToLower(word)
		bad := deniedFunctions[w]
		for _, p := range deniedPrefixes {
			bad = bad || strings.HasPrefix(w, p)
		}
		if bad {
			return &dataset.RefusedError{Reason: fmt.Sprintf("%s is not allowed: a query reads the dataset's tables; server files, settings, other sessions and SQL given as text are out of reach", word)}
		}
		return nil
	}
	isWord := func(c byte) bool {
		return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				return nil
			}
			i += end + 1
		case strings.HasPrefix(q[i:], "/*"):
			depth := 0
			for i < len(q) {
				if strings.HasPrefix(q[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(q[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			// E'...' strings take backslash escapes; standard strings do not.
			escapes := i > 0 && (q[i-1] == 'e' || q[i-1] == 'E') && (i == 1 || !isWord(q[i-2]))
			for i++; i < len(q); i++ {
				if escapes && q[i] == '\\' {
					i++
					continue
				}
				if q[i] == '\'' {
					if i+1 < len(q) && q[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
			i++
		case c == '"':
			start := i + 1
			var name strings.Builder
			for i++; i < len(q); i++ {
				if q[i] == '"' {
					if i+1 < len(q) && q[i+1] == '"' {
						name.WriteString(q[start : i+1])
						i++
						start = i + 1
						continue
					}
					break
				}
			}
			name.WriteString(q[start:min(i, len(q))])
			i++
			if err := deny(name.String()); err != nil {
				return err
			}
		case c == '$' && (i == 0 || !isWord(q[i-1])):
			// $tag$ ... $tag$ (a $1 parameter has no closing $).
			if i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
				return &dataset.RefusedError{Reason: "query parameters ($1, ...) are not supported: write the values into the query"}
			}
			j := i + 1
			for j < len(q) && isWord(q[j]) && q[j] != '$' {
				j++
			}
			if j < len(q) && q[j] == '$' && (j == i+1 || !(q[i+1] >= '0' && q[i+1] <= '9')) {
				tag := q[i : j+1]
				end := strings.Index(q[j+1:], tag)
				if end < 0 {
					return nil
				}
				i = j + 1 + end + len(tag)
				continue
			}
			i++
		case isWord(c):
			start := i
			for i < len(q) && isWord(q[i]) {
				i++
			}
			word := q[start:i]
			if (word == "U" || word == "u") && i+1 < len(q) && q[i] == '&' && (q[i+1] == '"' || q[i+1] == '\'') {
				return &dataset.RefusedError{Reason: "Unicode-escaped names and strings (U&) are not supported: write the characters"}
			}
			if err := deny(word); err != nil {
				return err
			}
		default:
			i++
		}
	}
	return nil
}
