package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// MaxMessageBytes bounds one JSON-RPC message on stdio. mcp-go reads a whole
// line before anything looks at it, so a 50 MB line would be held and
// parsed whole: a longer line is skipped as it streams by and answered with
// an error instead. The tools bound their arguments well below this.
const MaxMessageBytes = 1 << 20

// lineLimiter passes stdin on line by line, each at most max bytes. An
// over-long line is read to its end without being kept, and refused says
// so to the client in its place.
type lineLimiter struct {
	r       *bufio.Reader
	max     int
	refused func(head []byte, size int64)
	pending []byte
	err     error
}

func newLineLimiter(r io.Reader, max int, refused func(head []byte, size int64)) *lineLimiter {
	return &lineLimiter{r: bufio.NewReaderSize(r, 64<<10), max: max, refused: refused}
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	for len(l.pending) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		l.pending, l.err = l.next()
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

// next returns the next line that fits, with its newline; an over-long one
// is skipped (and refused) and yields nothing.
func (l *lineLimiter) next() ([]byte, error) {
	var line []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		if len(line)+len(chunk) > l.max {
			return nil, l.skip(append(line, chunk[:l.max-len(line)]...), int64(len(line)+len(chunk)), err)
		}
		line = append(line, chunk...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// skip reads the rest of an over-long line, counting it, then refuses it.
func (l *lineLimiter) skip(head []byte, size int64, err error) error {
	for err == bufio.ErrBufferFull {
		var chunk []byte
		chunk, err = l.r.ReadSlice('\n')
		size += int64(len(chunk))
	}
	l.refused(head, size)
	return err
}

// lockedWriter makes each Write whole with respect to the others: mcp-go
// writes every message with one Write, and a refusal is written beside it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// refuseOversized answers an over-long message with a JSON-RPC error, for
// its id when the head names one (ids come before params in what clients send).
func refuseOversized(w io.Writer, head []byte, size int64) error {
	msg := fmt.Sprintf("message of %d bytes refused: a message may be at most %d bytes (%d KiB); send shorter arguments (query's sql may be at most 64 KiB)",
		size, MaxMessageBytes, MaxMessageBytes>>10)
	resp := mcp.NewJSONRPCError(mcp.NewRequestId(requestID(head)), mcp.INVALID_REQUEST, msg, nil)
	b, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("encode refusal: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// requestID finds the id among the top-level members of a message's head
// before the first large value; nil when it is not there.
func requestID(head []byte) any {
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		if k == "id" {
			switch id := v.(type) {
			case string:
				return id
			case json.Number:
				if n, err := id.Int64(); err == nil {
					return n
				}
			}
			return nil
		}
	}
	return nil
}
