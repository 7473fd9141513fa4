package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

const (
	pipelineName = conformance.Pipeline
	load1        = conformance.OrderLoad1
	load2        = conformance.OrderLoad2
)

// A PostgreSQL schema does what every destination does.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Factory{
		Name:    "postgres",
		Dataset: func(t *testing.T) string { return pgtest.Dataset(t, pgtest.DSN(t)) },
		New: func(t *testing.T, ds string) conformance.Instance {
			dsn := pgtest.DSN(t)
			creds := secrets.PostgresOptions{Env: pgtest.Env(dsn)}
			f := &fixture{d: New(Options{Dataset: ds, Credentials: creds}), dsn: dsn, dataset: ds}
			r, err := OpenReader(context.Background(), ds, ReaderOptions{Credentials: creds})
			if err != nil {
				t.Fatal(err)
			}
			return conformance.Instance{Dest: f.d, Reader: r,
				AfterStep: func(fn func(string)) { f.d.afterStep = fn },
				Stored:    f.snapshot,
			}
		},
		Types: map[normalize.DataType]string{normalize.Bigint: "bigint", normalize.Text: "text", normalize.Double: "double precision",
			normalize.Bool: "boolean", normalize.Timestamp: "timestamp with time zone", normalize.JSON: "jsonb"},
		NotNull:   true,
		CastError: "group",
	})
}

func col(name string, t normalize.DataType) *normalize.Column { return conformance.Col(name, t) }

// orderSchema is the conformance suite's order fixture.
func orderSchema(disposition string) *normalize.Schema { return conformance.OrderSchema(disposition) }

type order struct {
	id    int64
	group string
	items []string
}

func stageOrders(t *testing.T, s *normalize.Schema, loadID string, orders ...order) *stage.Stage {
	t.Helper()
	rows := make([]conformance.Order, len(orders))
	for i, o := range orders {
		rows[i] = conformance.Order{ID: o.id, Group: o.group, Items: o.items}
	}
	return conformance.StageOrders(t, "", s, loadID, rows...)
}

type fixture struct {
	d       *Destination
	dsn     string
	dataset string
}

func newDest(t *testing.T) *fixture {
	t.Helper()
	dsn := pgtest.DSN(t)
	ds := pgtest.Dataset(t, dsn)
	return &fixture{d: New(Options{Dataset: ds, Credentials: secrets.PostgresOptions{Env: pgtest.Env(dsn)}}), dsn: dsn, dataset: ds}
}

func (f *fixture) pkg(s *normalize.Schema, st *stage.Stage, loadID, state string) *destination.Package {
	return conformance.OrderPackage(f.dataset, s, st, loadID, state)
}

// query returns q's rows as "a,b;c,d" (NULL as <nil>), with the dataset on the search path.
func (f *fixture) query(t *testing.T, q string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET search_path = "`+f.dataset+`"`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var all [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return destinationtest.Text(all, destinationtest.UTC)
}

// snapshot is every table of the dataset: its columns and all its rows.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(f.query(t, `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, f.dataset))
	for _, name := range strings.Split(f.query(t, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, f.dataset), ";") {
		if name == "" {
			continue
		}
		n := f.query(t, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, f.dataset, name)
		var order []string
		for i := 1; i <= atoi(n); i++ {
			order = append(order, fmt.Sprint(i))
		}
		fmt.Fprintf(&b, "\n%s: %s", name, f.query(t, fmt.Sprintf("SELECT * FROM %s ORDER BY %s", stage.QuoteIdent(name), strings.Join(order, ", "))))
	}
	return b.String()
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func TestCommitRejectsBadPackages(t *testing.T) {
	// No server needed: these fail before connecting.
	d := New(Options{Credentials: secrets.PostgresOptions{Settings: secrets.PostgresSettings{Host: "127.0.0.1", Port: 1, Database: "x", User: "u"}}})
	for _, p := range []*destination.Package{nil, {LoadID: load1, PipelineName: pipelineName}, {Schema: orderSchema("append"), PipelineName: pipelineName}} {
		if _, err := d.Commit(context.Background(), p); err == nil || strings.Contains(err.Error(), "connect") {
			t.Fatalf("package %+v: err = %v", p, err)
		}
	}
	s := orderSchema("append")
	s.Tables[0].Columns = append(s.Tables[0].Columns, col(strings.Repeat("c", 64), normalize.Text))
	_, err := d.Commit(context.Background(), &destination.Package{LoadID: load1, PipelineName: pipelineName, Schema: s})
	if err == nil || !strings.Contains(err.Error(), "longer than PostgreSQL's 63-byte limit") {
		t.Fatalf("long name: err = %v", err)
	}
}

// Two loads committing into one dataset at once are serialised by the
// dataset lock: both land, nothing is lost or duplicated.
func TestConcurrentCommits(t *testing.T) {
	f := newDest(t)
	s := orderSchema("merge")
	errs := make(chan error, 2)
	for i, id := range []string{load1, load2} {
		st := stageOrders(t, s, id, order{int64(i + 1), "x", []string{"i"}}, order{10, id, nil})
		go func() {
			_, err := f.d.Commit(context.Background(), f.pkg(s, st, id, ""))
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := f.query(t, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items), (SELECT count(*) FROM _dlt_loads)`); got != "3,2,2" {
		t.Fatalf("counts = %s", got)
	}
}
