package pipeline

import "github.com/cfmcp/codefresh-mcp/pipeline/projectfs"

// SetFreeSpace makes p see the disk space free answers (a full disk without filling one).
func SetFreeSpace(p *Project, free func(dir string) projectfs.Space) { p.freeSpace = free }
