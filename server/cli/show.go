package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/server/dashboard"
)

func newShowCmd(a *app) *cobra.Command {
	var addr string
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Open a local dashboard of the loaded data: tables, loads, schema, CI insights, a query box",
		Long: `Serve a dashboard of the project's loaded data on a local HTTP port and open it
in the browser. It reads through the same read-only sandbox as the query tool
and opens a DuckDB file only briefly per page, so it keeps answering while a
load runs. The URL carries a random token; without it every request gets 403.
It listens on 127.0.0.1 (a free port) unless --addr says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runShow(cmd.Context(), a, cmd.OutOrStdout(), addr, !noBrowser)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "address to listen on (host:port; port 0 = a free one)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the URL without opening a browser")
	return cmd
}

func runShow(ctx context.Context, a *app, out io.Writer, addr string, browser bool) error {
	p, err := a.openProject()
	if err != nil {
		return err
	}
	log := a.logger()
	p.Logger = log
	// A page runs several queries: the file stays open between them, as in
	// the MCP server, and is let go when a load waits for it.
	p.Handles = dataset.NewHandles(0)
	defer p.Handles.Close()
	r, err := p.Reader(ctx)
	if err != nil {
		return err
	}
	defer r.Close()

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer ln.Close()
	extra, public := exposedHosts(ln.Addr())
	if public {
		log.Warn("the dashboard listens beyond loopback: anyone who can reach this address and learns the token can read the data", "addr", ln.Addr().String())
	}
	d, err := dashboard.New(dashboard.Options{
		Reader: r, Pipeline: p.Config.Pipeline(), Dataset: p.Config.Dataset(),
		ExtraHosts: extra, Logger: log,
		Traces: func(context.Context) ([]dashboard.LoadTrace, error) { return dashboardTraces(p) },
	})
	if err != nil {
		return err
	}
	url := d.URL(ln.Addr())
	remove, err := p.RecordDashboard(pipeline.Dashboard{URL: url, PID: os.Getpid(), Started: time.Now().UTC()})
	if err != nil {
		log.Warn("pipeline_info will not know the dashboard's URL", "err", err)
	} else {
		defer remove()
	}
	fmt.Fprintf(out, "Dashboard of the data in %s: %s\n(Ctrl-C stops it)\n", p.Dir, url)
	if browser {
		if err := openBrowser(ctx, url); err != nil {
			fmt.Fprintf(out, "could not open a browser (%v): open the URL above\n", err)
		}
	}
	err = d.Serve(ctx, ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// exposedHosts lists the interface addresses a browser may name when the
// listener is not loopback-only, and says whether it is.
func exposedHosts(addr net.Addr) (hosts []string, public bool) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return nil, false
	}
	if !tcp.IP.IsUnspecified() {
		return nil, true
	}
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if n, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, n.IP.String())
			}
		}
	}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	return hosts, true
}

// openBrowser hands the URL to the desktop's opener; none on a headless box.
func openBrowser(ctx context.Context, url string) error {
	var c *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		c = exec.CommandContext(ctx, "open", url)
	case "windows":
		c = exec.CommandContext(ctx, "rundll32", "url.dll,FileProtocolHandler", url)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no display")
		}
		c = exec.CommandContext(ctx, "xdg-open", url)
	}
	if err := c.Start(); err != nil {
		return err
	}
	go c.Wait() // reap it; the opener exits once the browser has the URL
	return nil
}

// dashboardTraces gives the dashboard the project's kept load traces.
func dashboardTraces(p *pipeline.Project) ([]dashboard.LoadTrace, error) {
	ts, err := p.Traces(0)
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.LoadTrace, 0, len(ts))
	for _, t := range ts {
		lt := dashboard.LoadTrace{LoadID: t.LoadID, Status: string(t.Status), Started: t.Started,
			Finished: t.Started.Add(time.Duration(t.Duration) * time.Millisecond), Error: dashboardError(t.Error)}
		byRes := map[string][]string{}
		for _, d := range t.Warnings {
			w := d.Resource + ": expected " + d.Expected + ", got " + d.Got + "; " + d.Action
			lt.Warnings = append(lt.Warnings, w)
			byRes[d.Resource] = append(byRes[d.Resource], w)
		}
		if t.Record != "" {
			lt.Warnings = append(lt.Warnings, "debug record kept at "+t.Record)
		}
		for _, r := range t.Resources {
			if r.Requests == 0 && r.Status == trace.StatusNotReached {
				continue
			}
			lt.Resources = append(lt.Resources, dashboard.ResourceTrace{
				Resource: r.Name, Status: string(r.Status), Duration: time.Duration(r.Time) * time.Millisecond,
				Requests: r.Requests, Pages: r.Pages, Retries: r.Retries, Rows: map[string]int64{r.Name: r.Rows},
				Warnings: byRes[r.Name], Error: dashboardError(r.Error),
			})
		}
		out = append(out, lt)
	}
	return out, nil
}

func dashboardError(e *trace.Error) *dashboard.TraceError {
	if e == nil {
		return nil
	}
	msg := e.Message
	if q := e.Request; q != nil {
		msg += fmt.Sprintf(" (last failing request: %s %s?%s -> %d)", q.Method, q.Path, q.Query, q.Status)
	}
	return &dashboard.TraceError{Message: msg, Cause: string(e.Cause), Next: e.NextStep}
}
