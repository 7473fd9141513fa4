package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// summaryLine is a load's result in one line, for the log of a scheduler
// (a CI job's output, cron mail): what happened, how much, how long. err is
// the load's error (info may then be nil or carry only the load id);
// elapsed stands in for a failed load's duration.
func summaryLine(info *pipeline.LoadInfo, err error, elapsed time.Duration) string {
	head := "codefresh-mcp load"
	if info != nil && info.LoadID != "" {
		head += " " + info.LoadID
	}
	if err != nil {
		return fmt.Sprintf("%s: failed (%s), nothing committed, %s", head, pipeline.Classify(err), seconds(elapsed))
	}
	if info.DryRun {
		return fmt.Sprintf("%s: dry run, nothing committed, %s pages, %s", head, thousands(int64(info.Pages)), seconds(info.Duration))
	}
	var rows int64
	for _, st := range info.Tables {
		rows += st.Inserted
	}
	outcome := "succeeded"
	if info.Status == trace.LoadCompletedWithErrors {
		outcome = "completed with errors (" + failedNames(info) + ")"
	}
	return fmt.Sprintf("%s: %s, %s, %s rows, %s", head, outcome, plural(len(info.Tables), "table"), thousands(rows), seconds(info.Duration))
}

// seconds is d in seconds with one decimal: "3.2 s".
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s" }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(int64(n)) + " " + noun + "s"
}

// thousands writes n with commas between groups of three digits: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
