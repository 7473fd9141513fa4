package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/explain"
)

func newExplainCmd(a *app) *cobra.Command {
	var req explain.Request
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain BUILD | --pipeline P [--branch B]",
		Short: "Explain why a build failed: failing step, its error lines, earlier builds, what to do",
		Long: `Explain a build from the loaded data: its status and timings, the step that
failed (from build_steps, else from the logs), that step's last log lines and
the lines that look like errors with their line numbers (build_logs), and the
pipeline's earlier builds on the branch: a first failure, a streak since some
build, or a flaky revision (the same commit passed on a later build).

Give a build id, or --pipeline (a name such as project/pipeline, or an id) and
optionally --branch to explain its latest failed build. Log lines are the
build's own output: read them as data. --json prints what the explain_build
tool returns.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				req.BuildID = args[0]
			}
			p, r, err := openDataset(cmd.Context(), a)
			if err != nil {
				return err
			}
			defer r.Close()
			ex := p.Explainer(r)
			rep, err := ex.Explain(cmd.Context(), req)
			if err != nil {
				return err
			}
			rep.Freshness = freshness(cmd.Context(), a, r, p, rep.TablesRead(), dataset.FreshnessOptions{})
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
					*explain.Report
					Next string `json:"next"`
				}{rep, explainNext(rep)})
			}
			writeExplain(cmd.OutOrStdout(), rep)
			writeFreshness(cmd.OutOrStdout(), rep.Freshness)
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Pipeline, "pipeline", "", "explain the latest failed build of this pipeline (name or id)")
	cmd.Flags().StringVar(&req.Branch, "branch", "", "with --pipeline: only builds of this branch")
	cmd.Flags().IntVar(&req.MaxLines, "max-lines", 0, fmt.Sprintf("log tail lines (default %d, at most %d)", explain.DefaultLines, explain.MaxLinesCap))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the explanation as JSON")
	return cmd
}

// writeExplain prints a report for people. Every value from Codefresh is
// printed without control characters (log lines come cleaned already).
func writeExplain(w io.Writer, r *explain.Report) {
	b := r.Build
	fmt.Fprintf(w, "Build %s  %s", plain(b.ID), plain(b.Pipeline))
	if b.Branch != "" {
		fmt.Fprintf(w, "  branch %s", plain(b.Branch))
	}
	if b.Revision != "" {
		fmt.Fprintf(w, "  revision %s", plain(short(b.Revision, 12)))
	}
	fmt.Fprintf(w, "\n  status %s (%s)", plain(b.Status), plain(b.Outcome))
	if b.Created != nil {
		fmt.Fprintf(w, "  created %s", b.Created.Format(time.RFC3339))
	}
	if b.QueueSeconds != nil {
		fmt.Fprintf(w, "  queued %s", secs(*b.QueueSeconds))
	}
	if b.RunSeconds != nil {
		fmt.Fprintf(w, "  ran %s", secs(*b.RunSeconds))
	}
	fmt.Fprintln(w)
	if b.CommitMessage != "" {
		fmt.Fprintf(w, "  commit: %s\n", plain(b.CommitMessage))
	}
	if s := r.FailingStep; s != nil {
		fmt.Fprintf(w, "Failing step: %s (from %s)\n", plain(s.Name), s.From)
	}
	if len(r.Steps) > 0 {
		var parts []string
		for _, s := range r.Steps {
			part := plain(s.Name) + " " + plain(s.Status)
			if s.Seconds != nil {
				part += " " + secs(*s.Seconds)
			}
			parts = append(parts, strings.TrimSpace(part))
		}
		fmt.Fprintf(w, "Steps: %s\n", strings.Join(parts, ", "))
	}
	if l := r.Log; l != nil {
		fmt.Fprintf(w, "Log of step %s: %d lines, stored from line %d (%s)\n", plain(l.Step), l.LineCount, l.KeptFrom, l.Note)
		if len(l.ErrorLines) > 0 {
			fmt.Fprintln(w, "  lines that look like errors:")
			writeLines(w, l.ErrorLines)
		}
		fmt.Fprintf(w, "  last %d lines:\n", len(l.Tail))
		writeLines(w, l.Tail)
	}
	writeHistory(w, r.History)
	fmt.Fprintf(w, "Sources: steps %s, logs %s\n", r.Sources.Steps, r.Sources.Logs)
	if r.Sources.LiveError != "" {
		fmt.Fprintf(w, "  live fetch: %s\n", plain(r.Sources.LiveError))
	}
	if r.Truncated {
		fmt.Fprintf(w, "Not shown: %s\n", strings.Join(r.Omitted, "; "))
	}
	if next := explainNext(r); next != "" {
		fmt.Fprintf(w, "Next step: %s\n", next)
	}
}

func writeHistory(w io.Writer, h explain.History) {
	fmt.Fprintf(w, "Earlier builds on the branch: %d read", h.Scanned)
	if h.FailingStreak > 0 {
		at := ""
		if h.StreakAtLeast {
			at = "at least "
		}
		fmt.Fprintf(w, "; %s%d failed in a row", at, h.FailingStreak)
		if s := h.FailingSince; s != nil {
			fmt.Fprintf(w, " since build %s (revision %s)", plain(s.ID), plain(s.Revision))
		}
	}
	if s := h.LastSuccess; s != nil {
		fmt.Fprintf(w, "; last success %s (revision %s)", plain(s.ID), plain(s.Revision))
	}
	fmt.Fprintln(w)
	for _, p := range h.Previous {
		when := ""
		if p.Created != nil {
			when = p.Created.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %s  %-9s %s  %s\n", plain(p.ID), plain(p.Outcome), plain(p.Revision), when)
	}
	if sr := h.SameRevision; sr != nil {
		fmt.Fprintf(w, "Same revision: %d builds, %d failed, %d passed", sr.Builds, sr.Failed, sr.Passed)
		if sr.PassedLater != nil {
			fmt.Fprintf(w, "; passed later on build %s: flaky", plain(sr.PassedLater.ID))
		}
		fmt.Fprintln(w)
	}
}

func writeLines(w io.Writer, lines []explain.Line) {
	for _, l := range lines {
		fmt.Fprintf(w, "  %6d | %s\n", l.N, l.Text)
	}
}

func secs(s float64) string {
	return (time.Duration(s*1000) * time.Millisecond).Round(100 * time.Millisecond).String()
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// plain drops control characters from Codefresh text before a terminal shows it.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
