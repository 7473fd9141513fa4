package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// The load lock of a dataset is a transaction-level advisory lock on this
// key: one load at a time per dataset, across processes and machines,
// released by commit or rollback (also when the connection drops).
const lockKeySQL = `hashtext($1)::bigint`

// LoadLockKey is the text whose hash locks the dataset for a load.
func LoadLockKey(dataset string) string { return "codefresh-mcp:" + dataset }

// applicationName names this process in pg_stat_activity, so that a load
// that finds the dataset locked can say which process holds it. At most 63
// bytes, the server's limit.
func applicationName() string {
	host, _ := os.Hostname()
	name := "codefresh-mcp load on " + host + " (PID " + strconv.Itoa(os.Getpid()) + ")"
	if len(name) > maxIdentifier {
		suffix := " (PID " + strconv.Itoa(os.Getpid()) + ")"
		name = name[:maxIdentifier-len(suffix)] + suffix
	}
	return name
}

// lockDataset takes the dataset's load lock inside tx. wait <= 0 waits as
// long as the holder keeps it (its commit ends it); otherwise the wait is
// bounded and a timeout is a *duckfile.LockedError naming the holder.
func lockDataset(ctx context.Context, tx pgx.Tx, dataset, location string, wait time.Duration) error {
	if _, err := tx.Exec(ctx, `SELECT set_config('application_name', $1, false)`, applicationName()); err != nil {
		return fmt.Errorf("name this session: %w", err)
	}
	key := LoadLockKey(dataset)
	if wait <= 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockKeySQL+`)`, key); err != nil {
			return fmt.Errorf("lock dataset %s: %w", dataset, err)
		}
		return nil
	}
	start := time.Now()
	delay := 50 * time.Millisecond
	for {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+lockKeySQL+`)`, key).Scan(&got); err != nil {
			return fmt.Errorf("lock dataset %s: %w", dataset, err)
		}
		if got {
			return nil
		}
		waited := time.Since(start)
		if waited >= wait {
			return &duckfile.LockedError{Path: dataset + " at " + location, What: "postgres dataset",
				Holder: lockHolder(ctx, tx, key), Waited: waited}
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), &duckfile.LockedError{Path: dataset + " at " + location,
				What: "postgres dataset", Holder: "holder not looked up", Waited: waited})
		case <-time.After(min(delay, wait-waited)):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}

// lockHolder describes the session that holds the load lock of key: its
// application name (another load's names its host and PID), server
// backend, role, client address and since when its transaction runs.
// Columns the role may not see are left out.
func lockHolder(ctx context.Context, tx pgx.Tx, key string) string {
	var (
		pid               int32
		app, user, client *string
		since             *time.Time
		q                 = `WITH k AS (SELECT ` + lockKeySQL + ` AS key)
		SELECT l.pid, a.application_name, a.usename::text, host(a.client_addr), a.xact_start
		FROM pg_catalog.pg_locks l
		CROSS JOIN k
		LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = k.key
		LIMIT 1`
	)
	err := tx.QueryRow(ctx, q, key).Scan(&pid, &app, &user, &client, &since)
	if errors.Is(err, pgx.ErrNoRows) {
		return "its holder let go just now"
	}
	if err != nil {
		return "holder unknown: " + err.Error()
	}
	var parts []string
	if app != nil && *app != "" {
		parts = append(parts, strconv.Quote(*app))
	}
	parts = append(parts, "server backend PID "+strconv.Itoa(int(pid)))
	if user != nil && *user != "" {
		parts = append(parts, "role "+*user)
	}
	if client != nil && *client != "" {
		parts = append(parts, "from "+*client)
	}
	if since != nil {
		parts = append(parts, "in a transaction since "+since.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}
