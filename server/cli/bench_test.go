package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every benchmark runs end to end at toy sizes and prints its figures, so
// `bench` cannot rot between the runs that measure.
func TestBenchRunsEveryBenchmarkSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	readme := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(readme, []byte("# x\n<!-- bench:start -->\n<!-- bench:end -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "bench", "--p1-builds", "2000", "--p2-builds", "2000", "--p2-latency", "5ms",
		"--p3-builds", "2000", "--p4-sizes", "500,1000", "--p5-builds", "3000", "--write-readme", readme, "--json")
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stderr.Bytes() // --json keeps stdout for the figures
	// Every named figure is there, and no query failed during the load.
	var fields map[string]any
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || dec.More() {
		t.Fatalf("--json printed %q: %v", stdout.String(), err)
	}
	for _, name := range []string{"p1_ratio", "p2_ratio", "p3_percent", "p4_peak_mb", "p4_growth",
		"p5_tools_list_p99_ms", "p5_query_p99_ms", "p5_query_max_ms", "p5_query_failures"} {
		if _, ok := fields[name].(json.Number); !ok {
			t.Errorf("--json field %s = %v, want a number", name, fields[name])
		}
	}
	if len(fields) != 9 {
		t.Errorf("--json printed %d fields: %v", len(fields), fields)
	}
	if fields["p5_query_failures"] != json.Number("0") {
		t.Errorf("queries failed during the P5 load: %v\n%s", fields["p5_query_failures"], out)
	}
	for _, want := range []string{
		"ratio ours/read_json = ", "last page normalized at ", "CPU-s in this process",
		"(goal <= 1.2x)", "% of the full run's requests", "after the incremental run 0 of ",
		"growth ", "tools/list: p50 ", "query, no load running: p50 ", "query during the load (",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bench output lacks %q:\n%s", want, out)
		}
	}
	b, _ := os.ReadFile(readme)
	section, err := readmeSection(string(b), "bench")
	if err == nil {
		err = checkBenchSection(section)
	}
	if err != nil || strings.Count(section, "\n| P") != 7 {
		t.Errorf("--write-readme wrote %v:\n%s", err, b)
	}
}
