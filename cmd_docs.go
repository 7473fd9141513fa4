package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/tools"
)

func newDocsCmd(a *app) *cobra.Command {
	var write string
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Print the README's MCP tools section, generated from the tool definitions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			md, err := tools.Markdown(tools.Definitions())
			if err != nil {
				return err
			}
			if write == "" {
				_, err = fmt.Fprint(cmd.OutOrStdout(), md)
				return err
			}
			old, err := os.ReadFile(write)
			if err != nil {
				return fmt.Errorf("read %s: %w", write, err)
			}
			updated, err := tools.ReplaceSection(string(old), md)
			if err != nil {
				return fmt.Errorf("%s: %w", write, err)
			}
			if err := os.WriteFile(write, []byte(updated), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", write, err)
			}
			fmt.Fprintf(a.stderr, "updated the tools section of %s\n", write)
			return nil
		},
	}
	cmd.Flags().StringVar(&write, "write", "", "rewrite the section between the tools markers of this README instead of printing it")
	return cmd
}
