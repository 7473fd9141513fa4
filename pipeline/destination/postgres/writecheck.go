package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

var _ destination.WriteChecker = (*Destination)(nil)

// maxNamedRelations bounds the tables a refusal names one by one.
const maxNamedRelations = 3

// CheckWrite asks the server whether the login has what a commit needs:
// a writable session, CREATE on the database (a load creates the dataset
// schema and the CI views schema when missing, and CREATE SCHEMA IF NOT
// EXISTS asks for it even when they exist), USAGE and CREATE on both
// schemas, and ownership of their tables and views (a load adds columns
// and replaces views). It only reads the catalogs.
func (d *Destination) CheckWrite(ctx context.Context) error {
	conn, err := d.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var (
		role, db                       string
		super, readOnly, standby, dbOK bool
	)
	err = conn.QueryRow(ctx, `SELECT current_user, current_database(),
			(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
			current_setting('default_transaction_read_only') = 'on', pg_catalog.pg_is_in_recovery(),
			pg_catalog.has_database_privilege(current_database(), 'CREATE')`).
		Scan(&role, &db, &super, &readOnly, &standby, &dbOK)
	if err != nil {
		return fmt.Errorf("postgres: check the rights of the login: %w", err)
	}
	var missing []string
	switch {
	case standby:
		missing = append(missing, "a primary server (this one is a read-only standby)")
	case readOnly:
		missing = append(missing, "a login whose default_transaction_read_only is off (it is on for "+role+")")
	}
	if !super {
		if !dbOK {
			missing = append(missing, "CREATE on database "+db)
		}
		more, err := schemaRights(ctx, conn, d.dataset)
		if err != nil {
			return err
		}
		missing = append(missing, more...)
	}
	if len(missing) > 0 {
		return &destination.WriteDeniedError{Kind: "PostgreSQL", Role: role, Schema: d.dataset, Missing: missing}
	}
	return nil
}

// schemaRights lists what the login lacks on the dataset schema and the CI
// views schema, those that exist: USAGE, CREATE, ownership of their relations.
func schemaRights(ctx context.Context, conn *pgx.Conn, dataset string) ([]string, error) {
	var missing []string
	for _, schema := range []string{dataset, civiews.Schema(dataset)} {
		var exists, usage, create bool
		err := conn.QueryRow(ctx, `SELECT n.oid IS NOT NULL,
				n.oid IS NOT NULL AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'),
				n.oid IS NOT NULL AND pg_catalog.has_schema_privilege(n.oid, 'CREATE')
			FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1`, schema).Scan(&exists, &usage, &create)
		if err != nil {
			return nil, fmt.Errorf("postgres: check the rights on schema %s: %w", schema, err)
		}
		if !exists {
			continue
		}
		switch {
		case !usage && !create:
			missing = append(missing, "USAGE and CREATE on schema "+schema)
		case !usage:
			missing = append(missing, "USAGE on schema "+schema)
		case !create:
			missing = append(missing, "CREATE on schema "+schema)
		}
		rows, err := conn.Query(ctx, `SELECT c.relname, pg_catalog.pg_get_userbyid(c.relowner)
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')
			  AND NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
			ORDER BY c.relname COLLATE "C"`, schema)
		if err != nil {
			return nil, fmt.Errorf("postgres: check the owners of the tables of %s: %w", schema, err)
		}
		type owned struct{ name, owner string }
		others, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (owned, error) {
			var o owned
			return o, r.Scan(&o.name, &o.owner)
		})
		if err != nil {
			return nil, fmt.Errorf("postgres: check the owners of the tables of %s: %w", schema, err)
		}
		for i, o := range others {
			if i == maxNamedRelations {
				missing = append(missing, fmt.Sprintf("ownership of %d more tables or views of %s", len(others)-i, schema))
				break
			}
			missing = append(missing, fmt.Sprintf("ownership of %s.%s (owner %s)", schema, o.name, o.owner))
		}
	}
	return missing, nil
}
