package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// p5Queries are the small SELECTs an agent asks while a load runs.
var p5Queries = []string{
	`SELECT count(*) FROM builds`,
	`SELECT status, count(*) AS n FROM builds GROUP BY status ORDER BY n DESC`,
	`SELECT id, status, created FROM builds ORDER BY created DESC LIMIT 10`,
	`SELECT pipeline_name, count(*) FROM builds GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
}

// p5 measures the MCP server as an agent sees it: tools/list over a real
// stdio session, then query calls while a load of P5Builds builds runs in the
// same server and project (a full refresh over a first load of the same data).
func p5(ctx context.Context, o Options) error {
	fmt.Fprintf(o.Out, "P5 MCP latency: tools/list, and query while a load of %d builds runs (stdio server, same project)\n", o.P5Builds)
	dir, err := processProject("cfmcp-p5-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	base, stopSim, err := startSimulator(ctx, o.Binary, o.P5Builds, 5)
	if err != nil {
		return err
	}
	defer stopSim()
	env := append(os.Environ(), "CF_API_KEY="+benchKey)
	first := exec.CommandContext(ctx, o.Binary, "load", "--resources", "builds", "--project", dir, "--base-url", base)
	first.Env = env
	if out, err := first.CombinedOutput(); err != nil {
		return fmt.Errorf("first load: %w: %s", err, out)
	}

	c, err := client.NewStdioMCPClient(o.Binary, env, "serve", "--project", dir, "--base-url", base)
	if err != nil {
		return err
	}
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	var list []time.Duration
	for range 200 {
		start := time.Now()
		if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
			return fmt.Errorf("tools/list: %w", err)
		}
		list = append(list, time.Since(start))
	}
	fmt.Fprintf(o.Out, "  tools/list: %s over %d calls (goal p99 < 50ms)\n", percentiles(list), len(list))
	o.figure("P5 `tools/list`", "p99 < 50 ms", "%s over %d calls", percentiles(list), len(list))
	o.report.Fields.P5ToolsListP99MS = ptr(ms(percentile(list, 0.99)))

	var idle []time.Duration
	for i := range 40 {
		d, err := timedQuery(ctx, c, p5Queries[i%len(p5Queries)])
		if err != nil {
			return err
		}
		idle = append(idle, d)
	}
	fmt.Fprintf(o.Out, "  query, no load running: %s over %d calls\n", percentiles(idle), len(idle))

	text, err := callTool(ctx, c, "start_load", map[string]any{"resources": []string{"builds"}, "full_refresh": true})
	if err != nil {
		return err
	}
	var job struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal([]byte(text), &job); err != nil || job.JobID == "" {
		return fmt.Errorf("start_load answered %q", text)
	}
	loadStart := time.Now()
	ended := make(chan error, 1)
	go func() { ended <- waitJob(ctx, c, job.JobID) }()
	// A failed query counts, with its time, and the loop goes on: the
	// figures say how many failed, not only that one did.
	var during []time.Duration
	var loadErr error
	failures := 0
	for running := true; running; {
		select {
		case loadErr = <-ended:
			running = false
			continue
		default:
		}
		start := time.Now()
		_, err := callTool(ctx, c, "query", map[string]any{"sql": p5Queries[len(during)%len(p5Queries)]})
		during = append(during, time.Since(start))
		if err != nil {
			if failures++; failures <= 3 {
				fmt.Fprintf(o.Out, "  query %d during the load failed: %v\n", len(during), err)
			}
		}
	}
	if loadErr != nil {
		return loadErr
	}
	slow := 0
	for _, d := range during {
		if d > 100*time.Millisecond {
			slow++
		}
	}
	fmt.Fprintf(o.Out, "  query during the load (%.1fs): %s over %d calls, %d over 100ms, %d failed (goal p99 < 100ms, max < 1s, none failed)\n",
		time.Since(loadStart).Seconds(), percentiles(during), len(during), slow, failures)
	o.figure(fmt.Sprintf("P5 `query` during a load of %d builds", o.P5Builds), "p99 < 100 ms, max < 1 s, 0 failed", "%s over %d calls, %d over 100ms, %d failed",
		percentiles(during), len(during), slow, failures)
	if len(during) > 0 {
		o.report.Fields.P5QueryP99MS = ptr(ms(percentile(during, 0.99)))
		o.report.Fields.P5QueryMaxMS = ptr(ms(slices.Max(during)))
	}
	o.report.Fields.P5QueryFailures = ptr(failures)
	if len(during) < 200 {
		fmt.Fprintf(o.Out, "  note: fewer than 200 queries fit in the load\n")
	}
	return nil
}

func callTool(ctx context.Context, c *client.Client, name string, args map[string]any) (string, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	var text string
	if len(res.Content) > 0 {
		if tc, ok := res.Content[0].(mcp.TextContent); ok {
			text = tc.Text
		}
	}
	if res.IsError {
		return "", fmt.Errorf("%s: %s", name, text)
	}
	return text, nil
}

func timedQuery(ctx context.Context, c *client.Client, q string) (time.Duration, error) {
	start := time.Now()
	if _, err := callTool(ctx, c, "query", map[string]any{"sql": q}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// waitJob blocks until the load job ends; an error unless it succeeded.
func waitJob(ctx context.Context, c *client.Client, id string) error {
	for {
		text, err := callTool(ctx, c, "load_status", map[string]any{"job_id": id, "wait_seconds": 50})
		if err != nil {
			return err
		}
		var out struct {
			Job *struct {
				State trace.LoadStatus `json:"state"`
				Error string           `json:"error"`
			} `json:"job"`
		}
		if err := json.Unmarshal([]byte(text), &out); err != nil || out.Job == nil {
			return fmt.Errorf("load_status answered %q", text)
		}
		st := out.Job
		switch st.State {
		case trace.LoadRunning:
			continue
		case trace.LoadSucceeded:
			return nil
		default:
			return fmt.Errorf("load ended %s: %s", st.State, st.Error)
		}
	}
}

// percentiles is "p50 X, p99 Y, max Z" (nearest rank).
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no calls"
	}
	f := func(d time.Duration) string { return fmt.Sprintf("%.1fms", ms(d)) }
	return fmt.Sprintf("p50 %s, p99 %s, max %s", f(percentile(ds, 0.50)), f(percentile(ds, 0.99)), f(slices.Max(ds)))
}

// percentile is the nearest-rank p-th percentile of ds (not empty).
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// ms is d in milliseconds, to a tenth.
func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/100) / 10 }

// startSimulator runs `simulate` as its own process and returns its base URL.
func startSimulator(ctx context.Context, bin string, builds, seed int) (string, func(), error) {
	sim := exec.CommandContext(ctx, bin, "simulate", "--addr", "127.0.0.1:0", "--builds", fmt.Sprint(builds), "--seed", fmt.Sprint(seed))
	sim.Env = append(os.Environ(), "CF_API_KEY="+benchKey)
	out, err := sim.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := sim.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { sim.Process.Signal(syscall.SIGTERM); sim.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("simulator did not start: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}
