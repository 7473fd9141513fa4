package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// checkSchemaUsage refuses a login that may not even look into the
// dataset schema, naming the rights it lacks: without it every name would
// read as missing.
func (s *pgSession) checkSchemaUsage(ctx context.Context) error {
	var usage bool
	if err := s.tx.QueryRow(ctx, `SELECT pg_catalog.has_schema_privilege($1, 'USAGE')`, s.dataset).Scan(&usage); err != nil {
		return fmt.Errorf("postgres: check the read rights of %s: %w", s.role, err)
	}
	if usage {
		return nil
	}
	missing, err := s.missingReadRights(ctx)
	if err != nil {
		return err
	}
	return s.readRightsRefusal(missing)
}

func (s *pgSession) readRightsRefusal(missing []string) error {
	return &dataset.RefusedError{Reason: fmt.Sprintf("the PostgreSQL role %s may not read the dataset: it lacks %s (a reader needs USAGE on schemas %s and %s and SELECT on their tables and views)",
		s.role, strings.Join(missing, ", "), s.dataset, civiews.Schema(s.dataset))}
}

// readRightsError says which read rights the login lacks when the server
// refused a read for want of a right (SQLSTATE 42501); when it lacks none,
// the statement wanted more than reading and err stands.
func (r *Reader) readRightsError(ctx context.Context, err error) error {
	s, oerr := r.open(ctx, dataset.DefaultTimeout)
	if oerr != nil {
		return err
	}
	defer s.Close()
	missing, merr := s.missingReadRights(ctx)
	if merr != nil || len(missing) == 0 {
		return err
	}
	return s.readRightsRefusal(missing)
}

// missingReadRights lists the rights on the dataset and CI views schemas
// (those that exist) that the session's role lacks.
func (s *pgSession) missingReadRights(ctx context.Context) ([]string, error) {
	rows, err := s.tx.Query(ctx, `SELECT what FROM (SELECT 1 AS kind, 'USAGE on schema ' || n.nspname AS what
		FROM pg_catalog.pg_namespace n
		WHERE n.nspname IN ($1, $2) AND NOT pg_catalog.has_schema_privilege(n.oid, 'USAGE')
		UNION ALL
		SELECT 2, 'SELECT on ' || n.nspname || '.' || c.relname
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ($1, $2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		  AND NOT pg_catalog.has_table_privilege(c.oid, 'SELECT')
		) lacking ORDER BY kind, what COLLATE "C"`, s.dataset, civiews.Schema(s.dataset))
	if err != nil {
		return nil, fmt.Errorf("check the read rights of %s: %w", s.role, err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("check the read rights of %s: %w", s.role, err)
	}
	if len(missing) > maxNamedRelations+1 {
		missing = append(missing[:maxNamedRelations], fmt.Sprintf("%d more", len(missing)-maxNamedRelations))
	}
	return missing, nil
}
