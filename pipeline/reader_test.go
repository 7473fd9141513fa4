package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
)

// What a project's Destination commits, its Reader reads, on every kind.
func TestDestinationAndReaderOfEachKind(t *testing.T) {
	kinds := []string{"duckdb", "parquet", "postgres"}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			p := &Project{Dir: t.TempDir(), Env: func(string) string { return "" }}
			p.Config.Destination.Type = kind
			if kind == "postgres" {
				dsn := pgtest.DSN(t)
				s, d := pgtest.Settings(t, dsn), &p.Config.Destination
				d.Host, d.Port, d.Database, d.User, d.SSLMode = s.Host, s.Port, s.Database, s.User, s.SSLMode
				p.Config.DatasetName = pgtest.Dataset(t, dsn)
				loc, err := p.PostgresLocation()
				if err != nil || !strings.HasPrefix(loc, "postgresql://") {
					t.Fatalf("location %s, %v", loc, err)
				}
			}
			dest, err := p.Destination()
			if err != nil {
				t.Fatal(err)
			}
			if dest.Kind() != kind {
				t.Fatalf("kind = %s", dest.Kind())
			}
			pkgs, err := conformance.NewBuilder(p.Config.Dataset(), t.TempDir()).Loads(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer pkgs[0].Stage.Close()
			defer pkgs[1].Stage.Close()
			defer pkgs[2].Stage.Close()
			if _, err := dest.Commit(ctx, pkgs[0]); err != nil {
				t.Fatal(err)
			}
			r, err := p.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			info, err := r.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.Destination != kind || len(info.Loads) != 1 || info.Loads[0].LoadID != conformance.Load1 {
				t.Fatalf("info = %+v", info)
			}
			res, err := r.Query(ctx, "SELECT count(*) FROM "+p.Config.Dataset()+".builds", dataset.QueryOptions{})
			if err != nil || res.RowCount != 1 || res.Rows[0][0] != int64(4) {
				t.Fatalf("count = %+v, %v", res, err)
			}
		})
	}
}

// A `load --destination parquet` leaves the pipeline file as it was: the
// reader then finds the Parquet folder when there is no DuckDB file.
func TestReaderFindsParquetOfAFlagLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	loaded := &Project{Dir: dir}
	loaded.Config.Destination.Type = "parquet"
	dest, err := loaded.Destination()
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := conformance.NewBuilder(loaded.Config.Dataset(), t.TempDir()).Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pk := range pkgs {
		defer pk.Stage.Close()
	}
	if _, err := dest.Commit(ctx, pkgs[0]); err != nil {
		t.Fatal(err)
	}
	p, err := OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.Info(ctx)
	if err != nil || info.Destination != "parquet" {
		t.Fatalf("info = %+v, %v", info, err)
	}
}
