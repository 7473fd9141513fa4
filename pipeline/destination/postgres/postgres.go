// Package postgres is the PostgreSQL destination: one schema (the dataset)
// in a database, tables laid out as dlt lays them out and typed as the
// DuckDB destination types them. A load is bulk-copied from the stage and
// committed in one transaction. A connection is opened only inside each
// call.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Options configure a Destination.
type Options struct {
	// Dataset is the schema LastState and StoredSchema read; "" = destination.DefaultDataset.
	// Commit writes to the package's Dataset (this one when that is empty).
	Dataset     string
	Credentials secrets.PostgresOptions // where the connection and its password are found
	Logger      *slog.Logger            // nil = discard
	// LockWait bounds how long a commit waits while another load holds
	// the dataset; 0 waits until that load has committed.
	LockWait time.Duration
}

// Destination writes loads into a PostgreSQL database.
type Destination struct {
	dataset string
	opts    secrets.PostgresOptions
	log     *slog.Logger
	wait    time.Duration // Options.LockWait

	mu    sync.Mutex
	creds *secrets.PostgresCredentials // resolved on first use
	// afterStep, when set (tests), runs after each commit step.
	afterStep func(step string)
}

var _ destination.Destination = (*Destination)(nil)

// New returns the destination; nothing is resolved or connected until a
// call needs the server.
func New(opts Options) *Destination {
	d := &Destination{dataset: opts.Dataset, opts: opts.Credentials, log: opts.Logger, wait: opts.LockWait}
	if d.dataset == "" {
		d.dataset = destination.DefaultDataset
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return d
}

// Kind is "postgres".
func (d *Destination) Kind() string { return "postgres" }

// Location is the DSN without the password ("" when the settings are
// incomplete; Commit then says what is missing).
func (d *Destination) Location() string {
	s, err := secrets.ResolvePostgresSettings(d.opts)
	if err != nil {
		return ""
	}
	return s.Location()
}

// MaxIdentifierLength is PostgreSQL's name limit: normalize with it.
func (d *Destination) MaxIdentifierLength() int { return maxIdentifier }

var _ destination.IdentifierLimiter = (*Destination)(nil)

// Close releases nothing: no connection outlives a call.
func (d *Destination) Close() error { return nil }

// Connect resolves the credentials (once) and opens a connection.
func (d *Destination) Connect(ctx context.Context) (*pgx.Conn, error) {
	d.mu.Lock()
	creds := d.creds
	d.mu.Unlock()
	if creds == nil {
		c, err := secrets.ResolvePostgres(ctx, d.opts)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.creds, creds = c, c
		d.mu.Unlock()
	}
	return Connect(ctx, creds)
}

// Connect opens a connection with these credentials; its errors never
// carry the password.
func Connect(ctx context.Context, c *secrets.PostgresCredentials) (*pgx.Conn, error) {
	cfg, err := connConfig(c)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		hint := ""
		if c.PasswordSource == "" {
			hint = fmt.Sprintf("; if the server wants a password, set it in env %s, the keyring (service %s, user %s) or .dlt/secrets.toml [destination.postgres.credentials]",
				secrets.EnvPostgresCredentials, secrets.KeyringService, c.KeyringUser())
		}
		return nil, fmt.Errorf("connect to postgres %s: %w%s", c.Location(), redactPassword(c, err), hint)
	}
	return conn, nil
}

// LastState is the state written by the pipeline's last committed load; nil
// when the dataset or a state does not exist yet.
func (d *Destination) LastState(ctx context.Context, pipelineName string) (json.RawMessage, error) {
	q := fmt.Sprintf(`SELECT s.state FROM %s s JOIN %s l ON l.load_id = s._dlt_load_id
		WHERE s.pipeline_name = $1 AND l.status = $2
		ORDER BY s.version DESC, l.load_id DESC LIMIT 1`,
		qualify(d.dataset, destination.StateTable), qualify(d.dataset, destination.LoadsTable))
	state, err := d.newest(ctx, []string{destination.StateTable, destination.LoadsTable}, q, pipelineName, destination.LoadStatusDone)
	if err != nil {
		return nil, fmt.Errorf("postgres: read state of pipeline %s: %w", pipelineName, err)
	}
	return destination.DecodeState("postgres", "dataset "+d.dataset, pipelineName, state)
}

// StoredSchema is the newest schema of that name in _dlt_version; nil when
// there is none.
func (d *Destination) StoredSchema(ctx context.Context, schemaName string) (*normalize.Schema, error) {
	q := fmt.Sprintf(`SELECT "schema" FROM %s WHERE schema_name = $1
		ORDER BY inserted_at DESC, version DESC LIMIT 1`, qualify(d.dataset, destination.VersionTable))
	text, err := d.newest(ctx, []string{destination.VersionTable}, q, schemaName)
	if err != nil {
		return nil, fmt.Errorf("postgres: read schema %s: %w", schemaName, err)
	}
	return destination.DecodeSchema("postgres", "dataset "+d.dataset, schemaName, text)
}

// newest is the text the one-row query q answers, when every one of
// tables exists in the dataset; nil when the schema, a table or the row
// does not.
func (d *Destination) newest(ctx context.Context, tables []string, q string, args ...any) (*string, error) {
	var text *string
	err := d.read(ctx, tables, func(conn *pgx.Conn) error {
		err := conn.QueryRow(ctx, q, args...).Scan(&text)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return text, err
}

// read connects and runs fn when every one of tables exists in the
// dataset; a missing schema or table is not an error.
func (d *Destination) read(ctx context.Context, tables []string, fn func(*pgx.Conn) error) error {
	conn, err := d.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = ANY($2)`,
		d.dataset, tables).Scan(&n)
	if err != nil {
		return err
	}
	if n < len(tables) {
		return nil
	}
	return fn(conn)
}

// Commit writes pkg in one transaction: tables and columns, rows by write
// disposition (bulk-copied from the stage), the schema version, the state
// and the _dlt_loads row. On any error the transaction rolls back and the
// database is as it was.
func (d *Destination) Commit(ctx context.Context, pkg *destination.Package) (*destination.CommitStats, error) {
	if err := pkg.Check(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	dataset := pkg.DatasetOr(d.dataset)
	if err := checkNames(dataset, pkg); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if pkg.Stage != nil {
		if err := pkg.Stage.Flush(ctx); err != nil {
			return nil, fmt.Errorf("postgres commit: %w", err)
		}
	}
	start := time.Now()
	stats, err := d.commit(ctx, dataset, pkg)
	if err != nil {
		return nil, fmt.Errorf("postgres commit: %w", err)
	}
	for name, ts := range stats.Tables {
		d.log.Debug("committed table", "load_id", pkg.LoadID, "table", name, "inserted", ts.Inserted, "deleted", ts.Deleted)
	}
	d.log.Info("load committed", "load_id", pkg.LoadID, "location", d.Location(), "dataset", dataset,
		"tables", len(stats.Tables), "duration", time.Since(start).Round(time.Millisecond))
	return stats, nil
}

func (d *Destination) commit(ctx context.Context, dataset string, pkg *destination.Package) (*destination.CommitStats, error) {
	conn, err := d.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	c := &committer{conn: conn, dataset: dataset, pkg: pkg, afterStep: d.afterStep, location: d.Location(), lockWait: d.wait,
		stats: &destination.CommitStats{Tables: map[string]destination.TableStats{}}}
	if pkg.Stage != nil && len(pkg.Stage.Tables()) > 0 {
		// The stage is read through DuckDB while rows are copied.
		src, err := pkg.Stage.OpenReadOnly(ctx)
		if err != nil {
			return nil, err
		}
		defer src.Close()
		c.stage = src
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	c.tx = tx
	if err := c.run(ctx); err != nil {
		// A cancelled ctx closes the connection, which rolls back too.
		if rerr := tx.Rollback(context.Background()); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) && !conn.IsClosed() {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return c.stats, nil
}
