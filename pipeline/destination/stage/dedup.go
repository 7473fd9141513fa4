package stage

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Dedup keeps, of the rows of root that share a primary key (keys), the one
// written last, and deletes the others with the rows of children (tables
// whose _dlt_root_id points at a root row's _dlt_id) that belonged to them.
// A listing that shifts while it is read (a record inserted at the front
// between two offset pages) hands the same record over twice; the later copy
// is the newer read. Rows with a NULL key column are left alone: they cannot
// be told apart. It returns how many root rows it deleted; the file is
// released afterwards, as after Flush.
func (s *Stage) Dedup(ctx context.Context, root string, keys, children []string) (int64, error) {
	if len(keys) == 0 {
		return 0, errors.New("stage: dedup needs the primary key columns")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.moved {
		return 0, errors.New("stage: dedup after close")
	}
	if s.broken != nil {
		return 0, s.broken
	}
	st := s.tables[root]
	if st == nil {
		return 0, nil
	}
	// Appended rows are committed first, so that undoing a failed dedup
	// undoes only its own deletes.
	if err := s.release(ctx); err != nil {
		return 0, err
	}
	if err := s.open(ctx); err != nil {
		return 0, err
	}
	deleted, childDeleted, err := s.dedup(ctx, root, keys, children)
	if err != nil {
		// The transaction's deletes go with the rollback the release cannot commit.
		_, _ = s.conn.ExecContext(context.Background(), "ROLLBACK")
		_, _ = s.conn.ExecContext(context.Background(), "BEGIN TRANSACTION")
		return 0, errors.Join(fmt.Errorf("stage: dedup %s: %w", root, err), s.release(ctx))
	}
	if err := s.release(ctx); err != nil {
		return 0, err
	}
	st.rows -= deleted
	for name, n := range childDeleted {
		s.tables[name].rows -= n
	}
	return deleted, nil
}

// dedup runs Dedup's statements in the stage's open transaction.
func (s *Stage) dedup(ctx context.Context, root string, keys, children []string) (int64, map[string]int64, error) {
	quoted := make([]string, len(keys))
	notNull := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = QuoteIdent(k)
		notNull[i] = quoted[i] + " IS NOT NULL"
	}
	table := s.qualified(root)
	where := strings.Join(notNull, " AND ")
	group := strings.Join(quoted, ", ")
	// The common case, no key twice, costs one aggregate over the keys.
	var repeated int64
	q := fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1)", table, where, group)
	if err := s.conn.QueryRowContext(ctx, q).Scan(&repeated); err != nil {
		return 0, nil, fmt.Errorf("count repeated keys: %w", err)
	}
	if repeated == 0 {
		return 0, nil, nil
	}
	// Appends keep rowid in write order: the largest rowid of a key is its
	// last row.
	q = fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE cfmcp_dropped AS
		SELECT rowid AS r, _dlt_id FROM %s WHERE %s AND rowid NOT IN (SELECT max(rowid) FROM %s WHERE %s GROUP BY %s)`,
		table, where, table, where, group)
	if _, err := s.conn.ExecContext(ctx, q); err != nil {
		return 0, nil, fmt.Errorf("find repeated rows: %w", err)
	}
	defer s.conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS temp.cfmcp_dropped")
	res, err := s.conn.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE rowid IN (SELECT r FROM temp.cfmcp_dropped)", table))
	if err != nil {
		return 0, nil, fmt.Errorf("delete repeated rows: %w", err)
	}
	deleted, err := res.RowsAffected()
	if err != nil {
		return 0, nil, err
	}
	// A _dlt_id a kept row also has (one given by the source) keeps its children.
	orphans := fmt.Sprintf("SELECT _dlt_id FROM temp.cfmcp_dropped EXCEPT SELECT _dlt_id FROM %s", table)
	childDeleted := map[string]int64{}
	for _, c := range children {
		if s.tables[c] == nil {
			continue
		}
		res, err := s.conn.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE _dlt_root_id IN (%s)", s.qualified(c), orphans))
		if err != nil {
			return 0, nil, fmt.Errorf("delete child rows of repeated rows from %s: %w", c, err)
		}
		if childDeleted[c], err = res.RowsAffected(); err != nil {
			return 0, nil, err
		}
	}
	return deleted, childDeleted, nil
}

// qualified is a staging table's name with its schema.
func (s *Stage) qualified(table string) string {
	return QuoteIdent(s.schema) + "." + QuoteIdent(table)
}
