package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// outsideFolder makes a folder beyond the project holding n files named as
// the project names its own (ext: .json traces, .jsonl records), and
// returns it with a snapshot of every file's bytes.
func outsideFolder(t *testing.T, n int, ext string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		name := fmt.Sprintf("1600000%03d.000001%s", i, ext)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("precious "+name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files(t, dir)
}

// files maps every file under dir to its bytes (a link to where it points).
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil || d.IsDir():
			return err
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[p] = "link to " + target
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func plant(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// failingFixture is a project whose pipelines listing always answers 500:
// every load of it fails and keeps a debug record.
func failingFixture(t *testing.T) *fixture {
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/pipelines" {
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"status":500,"message":"boom"}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	return f
}

var onlyPipelines = pipeline.Options{Resources: []string{"pipelines"}}

// Links planted at the project's state files and its DuckDB file, pointing
// outside the project, lead no write, prune or delete there: the outside
// files stay byte-identical and the operation says what it refused.
func TestPlantedLinksLeaveOutsideFilesAlone(t *testing.T) {
	t.Run("traces folder", func(t *testing.T) {
		out, before := outsideFolder(t, 25, ".json")
		f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
		link := filepath.Join(f.proj.Dir, ".codefresh-mcp", "traces")
		plant(t, out, link)
		f.run(onlyPipelines) // the load commits; its trace is not saved (a warning)
		want := fmt.Sprintf("read load traces: refused %s: it is a symbolic link (to %s), and this program's files in the project must be real files and folders; remove the link", link, out)
		if _, err := f.proj.Traces(0); err == nil || err.Error() != want {
			t.Errorf("Traces: %v\nwant %s", err, want)
		}
		if _, err := f.proj.Trace(""); err == nil || err.Error() != want {
			t.Errorf("Trace: %v\nwant %s", err, want)
		}
		// A failed load says its trace was not saved, and why.
		ff := failingFixture(t)
		plant(t, out, filepath.Join(ff.proj.Dir, ".codefresh-mcp", "traces"))
		_, err := ff.proj.Run(context.Background(), onlyPipelines)
		if err == nil || !strings.Contains(err.Error(), "; no trace saved: save load trace: refused "+filepath.Join(ff.proj.Dir, ".codefresh-mcp", "traces")+": it is a symbolic link") {
			t.Errorf("failed load: %v", err)
		}
		if after := files(t, out); !maps.Equal(before, after) {
			t.Error("files outside the project changed")
		}
	})
	t.Run("records folder", func(t *testing.T) {
		out, before := outsideFolder(t, 8, ".jsonl")
		f := failingFixture(t)
		link := filepath.Join(f.proj.Dir, ".codefresh-mcp", "records")
		plant(t, out, link)
		_, err := f.proj.Run(context.Background(), onlyPipelines)
		want := fmt.Sprintf("debug record folder: refused %s: it is a symbolic link (to %s), and this program's files in the project must be real files and folders; remove the link", link, out)
		var le *projectfs.LinkError
		if err == nil || err.Error() != want || !errors.As(err, &le) {
			t.Errorf("load: %v\nwant %s", err, want)
		}
		if _, err := f.proj.NewRecordPath(); err == nil || err.Error() != want {
			t.Errorf("NewRecordPath: %v", err)
		}
		if after := files(t, out); !maps.Equal(before, after) {
			t.Error("files outside the project changed")
		}
	})
	t.Run("dashboard.json", func(t *testing.T) {
		out := t.TempDir()
		target := filepath.Join(out, "dashboard.json")
		os.WriteFile(target, []byte("precious"), 0o644)
		dir := t.TempDir()
		plant(t, target, filepath.Join(dir, ".codefresh-mcp", "dashboard.json"))
		p, err := pipeline.OpenProject(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.RecordDashboard(pipeline.Dashboard{URL: "http://127.0.0.1:1/?token=secret", PID: 1})
		want := fmt.Sprintf("record dashboard: refused %s: it is a symbolic link (to %s), and this program's files in the project must be real files and folders; remove the link",
			filepath.Join(dir, ".codefresh-mcp", "dashboard.json"), target)
		if err == nil || err.Error() != want {
			t.Errorf("RecordDashboard: %v\nwant %s", err, want)
		}
		if _, ok := p.RunningDashboard(); ok {
			t.Error("a linked dashboard.json was read")
		}
		if b, _ := os.ReadFile(target); string(b) != "precious" {
			t.Errorf("outside file now %q", b)
		}
	})
	for _, c := range []struct{ name, link string }{{"duckdb file", "codefresh.duckdb"}, {"duckdb write-ahead log", "codefresh.duckdb.wal"}} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			target := filepath.Join(out, "victim")
			os.WriteFile(target, []byte("precious"), 0o644)
			f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
			link := filepath.Join(f.proj.Dir, c.link)
			plant(t, target, link)
			want := fmt.Sprintf("destination %s refused: %s is a symbolic link (to %s); the DuckDB file and the Parquet folder must be real files inside the project folder",
				filepath.Join(f.proj.Dir, "codefresh.duckdb"), link, target)
			_, err := f.proj.Run(context.Background(), onlyPipelines)
			var dre *pipeline.DestinationRefusedError
			if !errors.As(err, &dre) || !strings.HasPrefix(err.Error(), want+" (") {
				t.Errorf("load: %v\nwant %s", err, want)
			}
			if _, err := f.proj.Reader(context.Background()); err == nil || err.Error() != want {
				t.Errorf("reader: %v", err)
			}
			if b, _ := os.ReadFile(target); string(b) != "precious" {
				t.Errorf("outside file now %q", b)
			}
		})
	}
}

// A link anywhere in a Parquet folder (a table folder, a file) is refused:
// DuckDB writes there by path.
func TestParquetFolderWithALinkIsRefused(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "victim.parquet"), []byte("precious"), 0o644)
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
	f.proj.Config.Destination = pipeline.DestinationConfig{Type: "parquet"}
	f.run(onlyPipelines)
	link := filepath.Join(f.proj.Dir, "codefresh_parquet", "codefresh_data", "pipelines", "old.parquet")
	plant(t, out, link)
	want := fmt.Sprintf("destination %s refused: %s is a symbolic link (to %s); the DuckDB file and the Parquet folder must be real files inside the project folder",
		filepath.Join(f.proj.Dir, "codefresh_parquet"), link, out)
	if _, err := f.proj.Run(context.Background(), onlyPipelines); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("load: %v\nwant %s", err, want)
	}
	if _, err := f.proj.Reader(context.Background()); err == nil || err.Error() != want {
		t.Errorf("reader: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "victim.parquet")); string(b) != "precious" {
		t.Errorf("outside file now %q", b)
	}
}

// A link inside the project on the way to the destination is refused too
// (it defeated the destination-path check), and so is a path outside.
func TestDestinationThroughALinkInsideIsRefused(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
	os.Mkdir(filepath.Join(f.proj.Dir, "real"), 0o700)
	plant(t, "real", filepath.Join(f.proj.Dir, "data"))
	for _, typ := range []string{"duckdb", "parquet"} {
		f.proj.Config.Destination = pipeline.DestinationConfig{Type: typ, Path: "data/out"}
		want := fmt.Sprintf("destination %s refused: %s is a symbolic link (to real); the DuckDB file and the Parquet folder must be real files inside the project folder",
			filepath.Join(f.proj.Dir, "data", "out"), filepath.Join(f.proj.Dir, "data"))
		if _, err := f.proj.Run(context.Background(), onlyPipelines); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s load: %v\nwant %s", typ, err, want)
		}
		if _, err := f.proj.Reader(context.Background()); err == nil || err.Error() != want {
			t.Errorf("%s reader: %v", typ, err)
		}
	}
	f.proj.Config.Destination = pipeline.DestinationConfig{Path: "../elsewhere.duckdb"}
	want := fmt.Sprintf("destination %s refused: it is outside the project folder %s; the DuckDB file and the Parquet folder must be real files inside the project folder",
		filepath.Join(filepath.Dir(f.proj.Dir), "elsewhere.duckdb"), f.proj.Dir)
	if _, err := f.proj.Reader(context.Background()); err == nil || err.Error() != want {
		t.Errorf("outside: %v\nwant %s", err, want)
	}
	if ents, _ := os.ReadDir(filepath.Join(f.proj.Dir, "real")); len(ents) != 0 {
		t.Errorf("written through the link: %v", ents)
	}
}

// Pruning keeps the last 20 traces and never touches a file this program
// did not name.
func TestPruneLeavesForeignFiles(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
	dir := filepath.Join(f.proj.Dir, ".codefresh-mcp", "traces")
	os.MkdirAll(dir, 0o700)
	for i := range 25 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("1600000%03d.000001.json", i)), []byte("{}"), 0o600)
	}
	for _, n := range []string{"notes.json", "1.json", "README"} {
		os.WriteFile(filepath.Join(dir, n), []byte(n), 0o600)
	}
	info := f.run(onlyPipelines)
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{"1.json", "README", "notes.json"}
	for i := 6; i < 25; i++ { // 25 old + the new one, 20 kept
		want = append(want, fmt.Sprintf("1600000%03d.000001.json", i))
	}
	want = append(want, info.LoadID+".json")
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("traces folder holds\n%v\nwant\n%v", names, want)
	}
}

// A damaged newest trace is reported as such, not replaced by the load
// before it.
func TestUnreadableNewestTraceIsReported(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
	first := f.run(onlyPipelines)
	second := f.run(onlyPipelines)
	path := filepath.Join(f.proj.Dir, ".codefresh-mcp", "traces", second.LoadID+".json")
	if err := os.WriteFile(path, []byte(`{"load_id": "`), 0o600); err != nil { // cut short, as by a full disk
		t.Fatal(err)
	}
	want := fmt.Sprintf("the trace of load %s (%s) cannot be read: not a load trace: unexpected end of JSON input; the trace before it is load %s's", second.LoadID, path, first.LoadID)
	for _, id := range []string{"", second.LoadID} {
		_, err := f.proj.Trace(id)
		var ute *trace.UnreadableError
		if !errors.As(err, &ute) || err.Error() != want {
			t.Errorf("Trace(%q): %v\nwant %s", id, err, want)
		}
	}
	ts, err := f.proj.Traces(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].LoadID != second.LoadID || ts[0].Status != trace.Unreadable || ts[0].Error.Cause != trace.CauseTrace ||
		ts[0].Error.Message != strings.TrimSuffix(want, fmt.Sprintf("; the trace before it is load %s's", first.LoadID)) ||
		ts[1].LoadID != first.LoadID || ts[1].Status != trace.LoadSucceeded {
		t.Errorf("Traces: %+v", ts)
	}
}

// On a disk short of space the failed load's debug record is dropped, not
// left to eat the space the commit needs, and the error names only what
// was kept (the trace), and why there is no record.
func TestLowDiskDropsTheDebugRecord(t *testing.T) {
	records := func(f *fixture) []string {
		ents, _ := os.ReadDir(filepath.Join(f.proj.Dir, ".codefresh-mcp", "records"))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	t.Run("before the load", func(t *testing.T) {
		f := failingFixture(t)
		pipeline.SetFreeSpace(f.proj, func(string) projectfs.Space { return projectfs.Space{Free: 10 << 20, Total: 100 << 20} })
		info, err := f.proj.Run(context.Background(), onlyPipelines)
		dropped := fmt.Sprintf("debug record not kept: the disk holding %s has 10.0 MiB free, less than the 64.0 MiB kept free for loads",
			filepath.Join(f.proj.Dir, ".codefresh-mcp", "records"))
		if err == nil || !strings.HasSuffix(err.Error(), " ("+dropped+"; `codefresh-mcp info` shows the trace)") {
			t.Fatalf("load: %v\nwant it to end with %s", err, dropped)
		}
		if info.Record != "" || len(records(f)) != 0 {
			t.Errorf("record %q, records folder %v", info.Record, records(f))
		}
		tr, err := f.proj.Trace("")
		if err != nil || tr.Record != "" || tr.RecordDropped != dropped {
			t.Errorf("trace record %q dropped %q (%v)", tr.Record, tr.RecordDropped, err)
		}
	})
	t.Run("while it is written", func(t *testing.T) {
		f := failingFixture(t)
		calls := 0
		pipeline.SetFreeSpace(f.proj, func(string) projectfs.Space {
			calls++
			if calls == 1 {
				return projectfs.Space{Free: 90 << 20, Total: 100 << 20}
			}
			return projectfs.Space{Free: 60 << 20, Total: 100 << 20} // the record ate into the reserve
		})
		info, err := f.proj.Run(context.Background(), onlyPipelines)
		if err == nil || !strings.Contains(err.Error(), "has 60.0 MiB free, less than the 64.0 MiB kept free for loads") || strings.Contains(err.Error(), "kept at") {
			t.Fatalf("load: %v", err)
		}
		if info.Record != "" || len(records(f)) != 0 {
			t.Errorf("record %q, records folder %v", info.Record, records(f))
		}
	})
	t.Run("plenty of space", func(t *testing.T) {
		f := failingFixture(t)
		pipeline.SetFreeSpace(f.proj, func(string) projectfs.Space { return projectfs.Space{Free: 90 << 20, Total: 100 << 20} })
		info, err := f.proj.Run(context.Background(), onlyPipelines)
		if err == nil || info.Record == "" || !strings.Contains(err.Error(), "(debug record of the requests kept at "+info.Record+"; ") {
			t.Fatalf("load: %v", err)
		}
		if got := records(f); len(got) != 1 || got[0] != info.LoadID+".jsonl" {
			t.Errorf("records folder %v", got)
		}
	})
}

// A stale temporary trace file (a killed process's, or a full disk's) is
// removed by the next load; another process's fresh one is left alone.
func TestStaleTemporaryFilesRemoved(t *testing.T) {
	f := newFixture(t, cfsim.Config{Pipelines: 2, Builds: 20, Projects: 1}, nil)
	dir := filepath.Join(f.proj.Dir, ".codefresh-mcp", "traces")
	os.MkdirAll(dir, 0o700)
	stale, fresh := filepath.Join(dir, ".1600000000.000001.tmp"), filepath.Join(dir, ".1600000001.000001.json-abc.tmp")
	os.WriteFile(stale, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	f.run(onlyPipelines)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file left: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file removed: %v", err)
	}
}
