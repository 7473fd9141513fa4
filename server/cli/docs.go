package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/tools"
)

// The README's generated sections sit between <!-- name:start --> and
// <!-- name:end --> lines: docs writes those made from the code (the MCP
// tools, the endpoint catalog), `bench --write-readme` the figures of its
// run. Tests check that the README holds what they would write.

// docsSections are the sections docs generates, in README order.
var docsSections = []struct {
	name     string
	markdown func() (string, error)
}{
	{"endpoints", func() (string, error) { return endpointsMarkdown(codefresh.Catalog()), nil }},
	{"tools", func() (string, error) { return tools.Markdown(tools.Definitions()) }},
}

func newDocsCmd(a *app) *cobra.Command {
	var write string
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Print the README's endpoint catalog and MCP tools sections, generated from the catalog and the tool definitions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sections := map[string]string{}
			for _, s := range docsSections {
				md, err := s.markdown()
				if err != nil {
					return err
				}
				if write == "" {
					if _, err := fmt.Fprint(cmd.OutOrStdout(), md); err != nil {
						return err
					}
				}
				sections[s.name] = md
			}
			if write == "" {
				return nil
			}
			if err := rewriteReadme(write, sections); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "updated the endpoints and tools sections of %s\n", write)
			return nil
		},
	}
	cmd.Flags().StringVar(&write, "write", "", "rewrite the sections between the endpoints and tools markers of this README instead of printing them")
	return cmd
}

// endpointsMarkdown is the README's table of the endpoint catalog.
func endpointsMarkdown(cat []codefresh.Resource) string {
	var b strings.Builder
	b.WriteString("\n| resource | path | records at | paging | key | scope | default |\n|---|---|---|---|---|---|---|\n")
	for _, r := range cat {
		sel, scope, def := catalogCells(r)
		fmt.Fprintf(&b, "| `%s` | `%s %s` | `%s` | %s | %s | %s | %s |\n",
			r.Name, r.Method, r.Path, sel, r.Paginator, strings.Join(r.PrimaryKey, ","), scope, def)
	}
	b.WriteString("\n")
	return b.String()
}

func sectionMarkers(name string) (start, end string) {
	return "<!-- " + name + ":start -->", "<!-- " + name + ":end -->"
}

// readmeSection returns the text between the markers of a section.
func readmeSection(readme, name string) (string, error) {
	start, end := sectionMarkers(name)
	i, j := strings.Index(readme, start), strings.Index(readme, end)
	if i < 0 || j < i || strings.Count(readme, start) != 1 || strings.Count(readme, end) != 1 {
		return "", fmt.Errorf("README needs one %s ... %s pair", start, end)
	}
	return readme[i+len(start) : j], nil
}

// rewriteReadme replaces the sections of the README at path, by name.
func rewriteReadme(path string, sections map[string]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	readme := string(b)
	for name, body := range sections {
		old, err := readmeSection(readme, name)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		start, _ := sectionMarkers(name)
		readme = strings.Replace(readme, start+old, start+body, 1)
	}
	if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
