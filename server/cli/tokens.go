package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// newTokensCmd groups the commands that manage the bearer tokens of
// `serve --http`. Tokens are kept as digests in the user's configuration
// folder: create prints a token once, and nothing can print it again.
func newTokensCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke the bearer tokens HTTP clients of `serve --http` present",
		Long: `A client of ` + "`codefresh-mcp serve --http`" + ` sends "Authorization: Bearer TOKEN"
with every request. Tokens are kept as SHA-256 digests in the user's
configuration folder (http-tokens.json, mode 0600): ` + "`tokens create`" + ` shows a
token once; a lost token is revoked and replaced. A running server refuses a
revoked token from its next request on.`,
	}
	cmd.AddCommand(newTokensCreateCmd(a), newTokensListCmd(a), newTokensRevokeCmd(a))
	return cmd
}

func newTokensCreateCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print it once (stdout: the token alone)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token, info, err := secrets.CreateToken(secrets.Options{}, name)
			if err != nil {
				return err
			}
			// The token alone on stdout, so that `TOKEN=$(codefresh-mcp tokens create)` works.
			fmt.Fprintln(a.stdout, token)
			fmt.Fprintf(a.stderr, "created token %s (%s): shown once, keep it in the client's configuration or a secret store; revoke it with `codefresh-mcp tokens revoke %s`\n",
				info.ID, displayName(info.Name), info.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "who or what the token is for, shown by list")
	return cmd
}

func newTokensListCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tokens: id, name, created (never a token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := secrets.ListTokens(secrets.Options{})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, t := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, displayName(t.Name), t.Created.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newTokensRevokeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by its id (tokens list shows ids)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := secrets.RevokeToken(secrets.Options{}, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked token %s (%s)\n", info.ID, displayName(info.Name))
			return nil
		},
	}
}

func displayName(name string) string {
	if name == "" {
		return "no name"
	}
	return name
}
