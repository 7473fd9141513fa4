package stage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// MoveTo makes the staging file the database file dst, which must not exist:
// a first load then writes its rows once. It is a hard link, so dst appears
// whole or not at all and an existing dst is never replaced (the error is
// then os.ErrExist); across file systems the file is first copied beside dst.
// The stage is flushed first; afterwards it takes no writes and cannot be
// read or committed again. Close still removes its own directory.
func (s *Stage) MoveTo(ctx context.Context, dst string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.moved {
		return errors.New("stage: move after close")
	}
	if s.broken != nil {
		return s.broken
	}
	if err := s.release(ctx); err != nil {
		return err
	}
	// A clean close checkpoints everything into the file; a WAL left over
	// would hold rows the link does not carry.
	if _, err := os.Stat(s.path + ".wal"); err == nil {
		return fmt.Errorf("stage: %s.wal remains after close", s.path)
	}
	// The link shares the file's mode: private before it appears as dst.
	if err := os.Chmod(s.path, duckfile.FileMode); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	err := os.Link(s.path, dst)
	var le *os.LinkError
	if err != nil && errors.As(err, &le) && !errors.Is(err, os.ErrExist) {
		err = copyThenLink(ctx, s.path, dst)
	}
	if err != nil {
		return fmt.Errorf("stage: move to %s: %w", dst, err)
	}
	s.moved = true
	// The file is the destination's now: the stage's name for it goes, so
	// that nothing reads it as a stage any more.
	// (Close removes the directory in any case.)
	os.Remove(s.path)
	return nil
}

// copyThenLink copies src into a temporary file beside dst, syncs it, then
// links it to dst: a reader never sees half a file.
func copyThenLink(ctx context.Context, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, ctxReader{ctx, in})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp.Name(), dst)
}

// ctxReader stops a long copy when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
