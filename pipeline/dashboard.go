package pipeline

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
)

// dashboardFile records the running `codefresh-mcp show` of a project, so
// the tool layer can tell an agent where its user should look. It holds the
// URL with its token: mode 0600, removed when the dashboard stops.
const dashboardFile = ".codefresh-mcp/dashboard.json"

// Dashboard is a running dashboard.
type Dashboard struct {
	URL     string    `json:"url"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// RecordDashboard writes d for the project, refusing a link in its place
// (the file holds the URL's token); the returned func removes it.
func (p *Project) RecordDashboard(d Dashboard) (remove func(), err error) {
	root, err := p.files()
	if err != nil {
		return nil, fmt.Errorf("record dashboard: %w", err)
	}
	if err := p.makeStateDir(root, stateFolder); err != nil {
		return nil, fmt.Errorf("record dashboard: %w", err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("record dashboard: %w", err)
	}
	if err := root.WriteFile(dashboardFile, b, 0o600); err != nil {
		return nil, fmt.Errorf("record dashboard: %w", err)
	}
	return func() {
		// Only our own record: a later `show` may have replaced it.
		if cur, ok := readDashboard(root); ok && cur.PID == d.PID && cur.URL == d.URL {
			root.Remove(dashboardFile)
		}
	}, nil
}

// RunningDashboard returns the project's recorded dashboard when it still
// accepts connections (a killed `show` leaves its record behind).
func (p *Project) RunningDashboard() (Dashboard, bool) {
	root, err := p.files()
	if err != nil {
		return Dashboard{}, false
	}
	d, ok := readDashboard(root)
	if !ok {
		return Dashboard{}, false
	}
	u, err := url.Parse(d.URL)
	if err != nil || u.Host == "" {
		return Dashboard{}, false
	}
	c, err := net.DialTimeout("tcp", u.Host, 300*time.Millisecond)
	if err != nil {
		return Dashboard{}, false
	}
	c.Close()
	return d, true
}

func readDashboard(root *projectfs.Root) (Dashboard, bool) {
	b, err := root.ReadFile(dashboardFile, maxStateFile)
	if err != nil {
		return Dashboard{}, false
	}
	var d Dashboard
	if json.Unmarshal(b, &d) != nil || d.URL == "" {
		return Dashboard{}, false
	}
	return d, true
}
