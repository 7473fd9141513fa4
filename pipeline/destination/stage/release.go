package stage

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Flush closes the appenders and releases the file, so every row written so
// far is in it and another DuckDB database may ATTACH or open it (DuckDB
// refuses a file that is open elsewhere in the same process). Writing may
// continue afterwards: the next Write reopens the file. A Flush that fails
// leaves the stage refusing every later write, flush and move: its lanes
// may have committed in part.
func (s *Stage) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("stage: flush after close")
	}
	if s.broken != nil {
		return s.broken
	}
	return s.release(ctx)
}

// release closes the appenders and commits every lane (in parallel: closing
// an appender compresses its last rows), then closes the database. s.mu is
// held exclusively. Any error marks the stage broken.
func (s *Stage) release(ctx context.Context) error {
	if s.db == nil {
		return nil
	}
	byLane := make([][]string, lanes)
	for _, name := range s.order {
		st := s.tables[name]
		byLane[st.lane] = append(byLane[st.lane], name)
	}
	errs := make([]error, lanes)
	var wg sync.WaitGroup
	for i := range s.lanes {
		if s.lanes[i].conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.commitLane(ctx, &s.lanes[i], byLane[i])
		}()
	}
	wg.Wait()
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		errs = append(errs, fmt.Errorf("stage: commit: %w", err))
	}
	if err := s.conn.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stage: close connection: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stage: close database: %w", err))
	}
	s.db, s.conn = nil, nil
	err := errors.Join(errs...)
	if err != nil {
		s.broken = fmt.Errorf("stage: an earlier release failed, the file may hold part of the rows: %w", err)
	}
	return err
}

// commitLane closes the appenders of ln's tables, then commits and closes
// its connection.
func (s *Stage) commitLane(ctx context.Context, ln *lane, tables []string) error {
	var errs []error
	for _, name := range tables {
		if err := s.tables[name].closeAppender(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stage: table %s: %w", name, err))
		}
	}
	if len(errs) == 0 {
		if _, err := ln.conn.ExecContext(ctx, "COMMIT"); err != nil {
			errs = append(errs, fmt.Errorf("stage: commit: %w", err))
		}
	}
	// Closing a connection in a transaction rolls it back.
	if err := ln.conn.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stage: close connection: %w", err))
	}
	ln.conn = nil
	return errors.Join(errs...)
}
