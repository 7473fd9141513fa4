package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// newSecretsCmd groups the commands that store, check and delete the API
// key. None takes the key as a flag or argument: shell history and process
// lists must never see it.
func newSecretsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Store, check and delete the Codefresh API key (never printed)",
		Long: `The Codefresh API key is looked up in this order; the first found wins:
  1. env CF_API_KEY, then env SOURCES__CODEFRESH_SOURCE__API_KEY
  2. the OS keyring (service "codefresh-mcp", user = the base URL)
  3. <project>/.dlt/secrets.toml, [sources.codefresh_source] api_key
  4. ~/.cfconfig of the Codefresh CLI (current-context)
The base URL: --base-url, env CODEFRESH_BASE_URL, env SOURCES__CODEFRESH_SOURCE__BASE_URL,
.dlt/secrets.toml base_url, ~/.cfconfig url (its host gets /api), else
https://g.codefresh.io/api. $CFCONFIG overrides the ~/.cfconfig path.
Commands show a fingerprint of the key, never the key.`,
	}
	cmd.AddCommand(newSecretsSetCmd(a), newSecretsCheckCmd(a), newSecretsDeleteCmd(a))
	return cmd
}

// noSecretArgs rejects arguments without echoing them, as cobra's own
// errors would: a key typed as an argument must not be printed back.
func noSecretArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%q takes no arguments (%d given, not shown): the key is read from a hidden prompt or stdin, never from the command line",
			cmd.CommandPath(), len(args))
	}
	return nil
}

func secretsOptions(a *app) (secrets.Options, error) {
	dir, err := a.projectDir()
	if err != nil {
		return secrets.Options{}, err
	}
	return secrets.Options{ProjectDir: dir, BaseURL: a.baseURL}, nil
}

func newSecretsSetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "set",
		Short: "Store the API key: hidden prompt on a terminal, else one line from stdin",
		Long: `Store the Codefresh API key in the OS keyring (user = the base URL), or,
where no keyring is available, in <project>/.dlt/secrets.toml (mode 0600).
On a terminal the key is read from a hidden prompt; otherwise the first line
of stdin is read, e.g.  pass show codefresh | codefresh-mcp secrets set`,
		Args: noSecretArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := secretsOptions(a)
			if err != nil {
				return err
			}
			key, err := readSecretKey(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			red := secrets.NewRedactor(key)
			res, err := secrets.Store(cmd.Context(), opts, key)
			if err != nil {
				return red.Error(err)
			}
			out := cmd.OutOrStdout()
			if res.Where == secrets.StoredKeyring {
				fmt.Fprintf(out, "Stored the API key (fingerprint %s) in the OS keyring (service %s, user %s).\n",
					res.Fingerprint, secrets.KeyringService, res.BaseURL)
			} else {
				fmt.Fprintf(out, "The OS keyring is unavailable (%s).\n", res.KeyringReason)
				fmt.Fprintf(out, "Stored the API key (fingerprint %s) in %s (mode 0600) for %s.\n", res.Fingerprint, res.Path, res.BaseURL)
				fmt.Fprintln(out, "Keep .dlt/secrets.toml out of version control (`codefresh-mcp init` adds it to .gitignore).")
			}
			// Say so when another source will still win over what was stored.
			creds, err := secrets.Resolve(cmd.Context(), opts)
			if err != nil {
				return red.Error(err)
			}
			red.Add(creds.APIKey())
			if creds.Fingerprint != res.Fingerprint {
				fmt.Fprintf(out, "Note: %s holds another key (fingerprint %s) and takes precedence; unset it to use the stored key.\n",
					creds.Source, creds.Fingerprint)
			}
			for _, w := range creds.Warnings {
				fmt.Fprintln(out, "warning:", red.Redact(w))
			}
			fmt.Fprintln(out, "Run `codefresh-mcp secrets check` to test it.")
			return nil
		},
	}
}

// readSecretKey reads the key from a hidden prompt when in is a terminal,
// else the first line of in. The prompt goes to errOut: stdout may be piped.
func readSecretKey(in io.Reader, errOut io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(errOut, "Codefresh API key (input hidden): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(errOut)
		if err != nil {
			return "", fmt.Errorf("read the key from the terminal: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(in, 16<<10), 16<<10).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the key from stdin: %w", err)
	}
	key := strings.TrimSpace(line)
	if key == "" {
		return "", errors.New("no key on stdin: run `codefresh-mcp secrets set` in a terminal, or pipe the key in (never pass it as an argument)")
	}
	return key, nil
}

func newSecretsCheckCmd(a *app) *cobra.Command {
	var asJSON, offline bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Show where the key comes from and test it: user, key scopes, what each resource allows",
		Args:  noSecretArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := secretsOptions(a)
			if err != nil {
				return err
			}
			red := secrets.NewRedactor()
			log := slog.New(red.Handler(a.logger().Handler()))
			var res *secrets.CheckResult
			creds, err := secrets.Resolve(cmd.Context(), opts)
			var nk *secrets.NoKeyError
			switch {
			case errors.As(err, &nk):
				res = nk.Result()
			case err != nil:
				return err
			default:
				red.Add(creds.APIKey())
				res, err = secrets.Check(cmd.Context(), creds, secrets.CheckOptions{Logger: log, Offline: offline})
				if err != nil {
					return red.Error(err)
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := json.MarshalIndent(res, "", "  ")
				if err != nil {
					return err
				}
				_, err = out.Write(append(red.RedactBytes(b), '\n'))
				if err != nil {
					return err
				}
			} else {
				var sb strings.Builder
				if err := res.WriteText(&sb); err != nil {
					return err
				}
				fmt.Fprint(out, red.Redact(sb.String()))
			}
			switch res.Status {
			case secrets.CheckOK, secrets.CheckOffline:
				return nil
			case secrets.CheckKeyInvalid:
				return errors.New("the API key is invalid: store a valid one with `codefresh-mcp secrets set`")
			case secrets.CheckNoKey:
				return errors.New("no API key found: store one with `codefresh-mcp secrets set`")
			}
			return fmt.Errorf("check failed: %s", res.Status)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&offline, "offline", false, "only show where the key comes from; send no request")
	return cmd
}

func newSecretsDeleteCmd(a *app) *cobra.Command {
	var fromFile bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the keyring entry for the base URL (and, with --secrets-toml, api_key from .dlt/secrets.toml)",
		Args:  noSecretArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := secretsOptions(a)
			if err != nil {
				return err
			}
			res, err := secrets.Delete(cmd.Context(), opts, secrets.DeleteOptions{SecretsTOML: fromFile})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, p := range res.Places {
				line := fmt.Sprintf("%s: %s", p.Source, p.Status)
				if p.Reason != "" {
					line += " (" + p.Reason + ")"
				}
				fmt.Fprintln(out, line)
			}
			// Tell what would still be used after the delete.
			if creds, err := secrets.Resolve(cmd.Context(), opts); err == nil {
				fmt.Fprintf(out, "A key is still found in %s (fingerprint %s).\n", creds.Source, creds.Fingerprint)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&fromFile, "secrets-toml", false, "also remove api_key from <project>/.dlt/secrets.toml")
	return cmd
}
