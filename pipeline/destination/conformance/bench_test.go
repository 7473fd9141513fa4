package conformance

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/duckdb"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/parquet"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// BenchmarkCommit commits one staged load of build records (each with
// three steps and an annotation: 5 rows) into each destination and
// reports rows/s. CFMCP_BENCH_BUILDS sets the builds (default 200000):
//
//	go test -run '^$' -bench Commit -benchtime 1x ./pipeline/destination/conformance/
func BenchmarkCommit(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("CFMCP_BENCH_BUILDS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	pkg, err := BuildRows(ctx, destination.DefaultDataset, b.TempDir(), "1704067200.000001", n)
	if err != nil {
		b.Fatal(err)
	}
	defer pkg.Stage.Close()
	kinds := map[string]func(b *testing.B) destination.Destination{
		"duckdb": func(b *testing.B) destination.Destination {
			return duckdb.New(filepath.Join(b.TempDir(), "codefresh.duckdb"), duckdb.Options{})
		},
		"parquet": func(b *testing.B) destination.Destination {
			return parquet.New(filepath.Join(b.TempDir(), "codefresh_parquet"), parquet.Options{})
		},
		"postgres": func(b *testing.B) destination.Destination {
			dsn := pgtest.DSN(b)
			return postgres.New(postgres.Options{Dataset: pgtest.Dataset(b, dsn), Credentials: secrets.PostgresOptions{Env: pgtest.Env(dsn)}})
		},
	}
	for _, kind := range []string{"duckdb", "parquet", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var total float64
			for range b.N {
				b.StopTimer()
				d := kinds[kind](b)
				p := *pkg
				p.Dataset = ""
				b.StartTimer()
				m, err := MeasureCommit(ctx, d, &p)
				if err != nil {
					b.Fatal(err)
				}
				total += m.RowsPerSec
				b.Logf("%s: %d rows in %s", kind, m.Rows, m.Duration)
			}
			b.ReportMetric(total/float64(b.N), "rows/s")
		})
	}
}
