package projectfs

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"
)

var loadIDName = regexp.MustCompile(`^[0-9]+\.[0-9]{6}\.json$`)

// outside makes a folder beyond the project with files named like the
// project's own, and returns it with a snapshot of its contents.
func outside(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for i := range 25 {
		name := fmt.Sprintf("17000000%02d.000001.json", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("precious "+name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "dashboard.json"), []byte("precious dashboard"), 0o600)
	return dir, snapshot(t, dir)
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
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

func open(t *testing.T, dir string) *Root {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// A link planted where the state lives, pointing outside or inside the
// project, is refused by every operation with a LinkError naming it; the
// files it points at stay byte-identical.
func TestLinksAreRefused(t *testing.T) {
	for _, target := range []string{"outside", "inside"} {
		t.Run(target, func(t *testing.T) {
			out, before := outside(t)
			proj := t.TempDir()
			os.MkdirAll(filepath.Join(proj, "state"), 0o700)
			dest := out
			if target == "inside" {
				dest = filepath.Join(proj, "elsewhere")
				os.CopyFS(dest, os.DirFS(out))
			}
			if err := os.Symlink(dest, filepath.Join(proj, "state", "traces")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(dest, "dashboard.json"), filepath.Join(proj, "state", "dashboard.json")); err != nil {
				t.Fatal(err)
			}
			insideBefore := snapshot(t, proj)
			r := open(t, proj)
			want := &LinkError{Path: filepath.Join(proj, "state", "traces"), Target: dest}
			wantDash := &LinkError{Path: filepath.Join(proj, "state", "dashboard.json"), Target: filepath.Join(dest, "dashboard.json")}
			ops := map[string]error{}
			ops["MkdirAll"] = r.MkdirAll("state/traces", 0o700)
			ops["WriteFile"] = r.WriteFile("state/traces/1800000000.000001.json", []byte("x"), 0o600)
			_, ops["ReadFile"] = r.ReadFile("state/traces/1700000001.000001.json", 1<<20)
			_, ops["Files"] = r.Files("state/traces", loadIDName)
			_, ops["Prune"] = r.Prune("state/traces", loadIDName, 0)
			_, ops["Create"] = r.Create("state/traces/x.jsonl", 0o600)
			ops["Remove"] = r.Remove("state/traces/1700000001.000001.json")
			ops["RemoveStaleTemps"] = r.RemoveStaleTemps("state/traces", 0)
			for _, op := range slices.Sorted(maps.Keys(ops)) {
				var le *LinkError
				if !errors.As(ops[op], &le) || *le != *want {
					t.Errorf("%s: %v, want %v", op, ops[op], want)
				}
			}
			dashOps := map[string]error{"WriteFile": r.WriteFile("state/dashboard.json", []byte("url+token"), 0o600)}
			_, dashOps["ReadFile"] = r.ReadFile("state/dashboard.json", 1<<20)
			for op, err := range dashOps {
				var le *LinkError
				if !errors.As(err, &le) || *le != *wantDash {
					t.Errorf("dashboard %s: %v, want %v", op, err, wantDash)
				}
			}
			if got := wantDash.Error(); got != "refused "+filepath.Join(proj, "state", "dashboard.json")+": it is a symbolic link (to "+
				filepath.Join(dest, "dashboard.json")+"), and this program's files in the project must be real files and folders; remove the link" {
				t.Errorf("message %q", got)
			}
			if after := snapshot(t, out); !maps.Equal(before, after) {
				t.Errorf("files outside the project changed")
			}
			after := snapshot(t, proj)
			if !maps.Equal(insideBefore, after) {
				t.Errorf("files inside the project changed: %d before, %d after", len(insideBefore), len(after))
			}
		})
	}
}

// Pruning removes only the oldest regular files named as this program names
// them: a foreign file, a link with a load-id name and a folder stay.
func TestPruneOnlyOwnNames(t *testing.T) {
	out, before := outside(t)
	proj := t.TempDir()
	dir := filepath.Join(proj, "traces")
	os.MkdirAll(dir, 0o700)
	for _, n := range []string{"1700000001.000001.json", "1700000002.000001.json", "1700000003.000001.json", "1700000004.000001.json", "notes.json", "0.json"} {
		os.WriteFile(filepath.Join(dir, n), []byte(n), 0o600)
	}
	os.Symlink(filepath.Join(out, "1700000000.000001.json"), filepath.Join(dir, "1600000000.000001.json")) // sorts first
	os.Mkdir(filepath.Join(dir, "1500000000.000001.json"), 0o700)
	r := open(t, proj)
	removed, err := r.Prune("traces", loadIDName, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1700000001.000001.json", "1700000002.000001.json"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if want := []string{"0.json", "1500000000.000001.json", "1600000000.000001.json", "1700000003.000001.json", "1700000004.000001.json", "notes.json"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
	if !maps.Equal(before, snapshot(t, out)) {
		t.Error("files outside the project changed")
	}
}

// A write that fails leaves neither the file nor its temporary file; only
// stale temporary files are cleaned up later, a fresh one (another
// process's write in progress) stays.
func TestWriteFileLeavesNoPartialFile(t *testing.T) {
	proj := t.TempDir()
	os.MkdirAll(filepath.Join(proj, "d", "x.json", "busy"), 0o700) // renaming onto a non-empty folder fails
	r := open(t, proj)
	err := r.WriteFile("d/x.json", []byte("data"), 0o600)
	if err == nil {
		t.Fatal("write over a folder succeeded")
	}
	ents, _ := os.ReadDir(filepath.Join(proj, "d"))
	if len(ents) != 1 || ents[0].Name() != "x.json" {
		t.Fatalf("left in d: %v", ents)
	}

	os.WriteFile(filepath.Join(proj, "d", ".old.json-1.tmp"), nil, 0o600)
	os.WriteFile(filepath.Join(proj, "d", ".fresh.json-2.tmp"), nil, 0o600)
	os.WriteFile(filepath.Join(proj, "d", "kept.tmp"), nil, 0o600) // not ours: no leading dot
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(proj, "d", ".old.json-1.tmp"), old, old)
	os.Chtimes(filepath.Join(proj, "d", "kept.tmp"), old, old)
	if err := r.RemoveStaleTemps("d", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	ents, _ = os.ReadDir(filepath.Join(proj, "d"))
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if want := []string{".fresh.json-2.tmp", "kept.tmp", "x.json"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}

// A file past the reader's bound is refused, not read whole.
func TestReadFileBound(t *testing.T) {
	proj := t.TempDir()
	os.WriteFile(filepath.Join(proj, "big"), make([]byte, 101), 0o600)
	_, err := open(t, proj).ReadFile("big", 100)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 100 || tl.Path != filepath.Join(proj, "big") {
		t.Fatalf("err %v", err)
	}
}

// Disk-full errors from the OS and from DuckDB (its own writes, and its
// temporary folder filling up, which it words as out of memory) are told
// apart from others and name the folder written to.
func TestAsDiskFull(t *testing.T) {
	dir := t.TempDir()
	fallback := filepath.Join(dir, "proj")
	os.Mkdir(fallback, 0o700)
	offload := errors.New("commit: TransactionContext Error: Failed to commit: failed to offload data block of size 32.0 KiB (0 bytes/0 bytes used).\n" +
		"This limit was set by the 'max_temp_directory_size' setting.\n\nPossible solutions:\n* Increasing the memory limit (SET memory_limit='...GB')")
	cases := []struct {
		name    string
		err     error
		dir     string // "" = not disk full
		message string
	}{
		{"go write", &fs.PathError{Op: "write", Path: filepath.Join(dir, "proj", ".x.tmp"), Err: syscall.ENOSPC}, fallback,
			"write " + filepath.Join(dir, "proj", ".x.tmp") + ": no space left on device"},
		{"duckdb temp folder", offload, fallback,
			"commit: TransactionContext Error: Failed to commit: failed to offload data block of size 32.0 KiB (0 bytes/0 bytes used)."},
		{"duckdb write of a folder since removed", errors.New(`stage: commit: Could not write file "` + filepath.Join(dir, "cfmcp-stage-1", "stage.duckdb.wal") + `": No space left on device`), dir,
			`stage: commit: Could not write file "` + filepath.Join(dir, "cfmcp-stage-1", "stage.duckdb.wal") + `": No space left on device`},
		{"quota", &fs.PathError{Op: "write", Path: filepath.Join(fallback, "f"), Err: syscall.EDQUOT}, fallback,
			"write " + filepath.Join(fallback, "f") + ": disk quota exceeded"},
		{"other", errors.New("permission denied"), "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := AsDiskFull(c.err, fallback, "committing 3.0 MiB of staged rows")
			var dfe *DiskFullError
			if c.dir == "" {
				if got != c.err {
					t.Fatalf("%v became %v", c.err, got)
				}
				return
			}
			if !errors.As(got, &dfe) || dfe.Dir != c.dir || !errors.Is(got, c.err) {
				t.Fatalf("got %#v", got)
			}
			want := fmt.Sprintf("disk full: %s has %s free, too little for committing 3.0 MiB of staged rows (%s)", c.dir, Bytes(dfe.Free), c.message)
			if got.Error() != want {
				t.Errorf("message\n%s\nwant\n%s", got, want)
			}
		})
	}
	// A server's disk (PostgreSQL) has no folder here: left as it is.
	pg := errors.New(`could not extend file "base/16384/2619": No space left on device`)
	if got := AsDiskFull(pg, "", ""); got != pg {
		t.Errorf("postgres error became %v", got)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 16 << 20: "16.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestReserve(t *testing.T) {
	for total, want := range map[int64]int64{100 << 20: 64 << 20, 10 << 30: 512 << 20, 1 << 40: 1 << 30} {
		if got := (Space{Free: 1, Total: total}).Reserve(); got != want {
			t.Errorf("reserve of %d = %d, want %d", total, got, want)
		}
	}
}
