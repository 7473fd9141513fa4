package dashboard

import (
	"fmt"
	"sort"
	"time"
)

// The chart is SVG drawn here rather than by a script library: it shows
// without JavaScript, costs no embedded dependency, and its numbers are
// plain attributes a test can read.

type dayCount struct {
	Day    time.Time
	Status string
	Builds int64
}

// barChart is a stacked bar per day, one segment per status.
type barChart struct {
	Width, Height  int
	PlotTop, PlotH int
	Bars           []bar
	YMax           int64
	YTicks         []tick
	XLabels        []tick
	Legend         []legendItem
}

type bar struct {
	X, W     float64
	Day      string
	Total    int64
	Segments []segment
}

type segment struct {
	Y, H   float64
	Class  string
	Status string
	Builds int64
}

type tick struct {
	Pos   float64
	Label string
}

type legendItem struct {
	Class, Status string
	Builds        int64
}

// statusOrder stacks outcomes first, then unfinished ones.
var statusOrder = map[string]int{"success": 0, "error": 1, "terminated": 2, "running": 3, "pending": 4}

func rank(status string) int {
	if r, ok := statusOrder[status]; ok {
		return r
	}
	return len(statusOrder)
}

// newBarChart lays days (the last `days` up to the newest one with builds,
// empty days included) out as bars.
func newBarChart(points []dayCount, days int) *barChart {
	if len(points) == 0 {
		return nil
	}
	c := &barChart{Width: 900, Height: 260, PlotTop: 10, PlotH: 200}
	const left, right = 44.0, 8.0
	last := points[0].Day
	for _, p := range points {
		if p.Day.After(last) {
			last = p.Day
		}
	}
	first := last.AddDate(0, 0, -(days - 1))
	perDay := map[string][]dayCount{}
	totals := map[string]int64{}
	for _, p := range points {
		k := p.Day.Format(time.DateOnly)
		perDay[k] = append(perDay[k], p)
		totals[p.Status] += p.Builds
	}
	for _, ps := range perDay {
		var sum int64
		for _, p := range ps {
			sum += p.Builds
		}
		c.YMax = max(c.YMax, sum)
	}
	c.YMax = niceCeil(c.YMax)
	slot := (float64(c.Width) - left - right) / float64(days)
	scale := float64(c.PlotH) / float64(c.YMax)
	base := float64(c.PlotTop + c.PlotH)
	for i := 0; i < days; i++ {
		day := first.AddDate(0, 0, i)
		k := day.Format(time.DateOnly)
		b := bar{X: left + float64(i)*slot + slot*0.1, W: slot * 0.8, Day: k}
		ps := perDay[k]
		sort.Slice(ps, func(a, z int) bool {
			return rank(ps[a].Status) < rank(ps[z].Status) || (rank(ps[a].Status) == rank(ps[z].Status) && ps[a].Status < ps[z].Status)
		})
		y := base
		for _, p := range ps {
			h := float64(p.Builds) * scale
			y -= h
			b.Segments = append(b.Segments, segment{Y: y, H: h, Class: statusClass(p.Status), Status: p.Status, Builds: p.Builds})
			b.Total += p.Builds
		}
		c.Bars = append(c.Bars, b)
		if i%7 == 0 {
			c.XLabels = append(c.XLabels, tick{Pos: b.X + b.W/2, Label: day.Format("Jan 2")})
		}
	}
	for i := 0; i <= 4; i++ {
		v := c.YMax * int64(i) / 4
		c.YTicks = append(c.YTicks, tick{Pos: base - float64(v)*scale, Label: fmt.Sprint(v)})
	}
	for st, n := range totals {
		c.Legend = append(c.Legend, legendItem{Class: statusClass(st), Status: st, Builds: n})
	}
	sort.Slice(c.Legend, func(i, j int) bool {
		return rank(c.Legend[i].Status) < rank(c.Legend[j].Status) || (rank(c.Legend[i].Status) == rank(c.Legend[j].Status) && c.Legend[i].Status < c.Legend[j].Status)
	})
	return c
}

// niceCeil rounds n up to four ticks of 1, 2 or 5 times a power of ten.
func niceCeil(n int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if 4*m*p >= n {
				return 4 * m * p
			}
		}
	}
}
