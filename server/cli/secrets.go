package cli

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

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/credcheck"
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
A key is sent only to the URL its owner chose: --base-url or env CODEFRESH_BASE_URL
(SOURCES__CODEFRESH_SOURCE__BASE_URL) for any key; else the URL the key is stored
with: the keyring entry's user, the base_url beside api_key in .dlt/secrets.toml,
the ~/.cfconfig context's url (its host gets /api), else https://g.codefresh.io/api.
A base_url in codefresh_pipeline.toml (or a .dlt/secrets.toml base_url for a key
kept elsewhere) is only a request: another origin than the key's is refused, and
nothing sent, until you allow it with ` + "`secrets trust-url URL`" + ` (recorded in your
configuration folder, outside the project). $CFCONFIG overrides the ~/.cfconfig
path. Commands show a fingerprint of the key, never the key.`,
	}
	cmd.AddCommand(newSecretsSetCmd(a), newSecretsCheckCmd(a), newSecretsDeleteCmd(a),
		newSecretsTrustCmd(a), newSecretsUntrustCmd(a))
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

// secretsOptions are a load's: the flag, and the pipeline file's base_url
// as a request (a broken pipeline file is reported by load, not here).
func secretsOptions(a *app) (secrets.Options, error) {
	dir, err := a.projectDir()
	if err != nil {
		return secrets.Options{}, err
	}
	o := secrets.Options{ProjectDir: dir, BaseURL: a.baseURL}
	if cfg, err := pipeline.LoadConfig(dir); err == nil {
		o.ProjectBaseURL = cfg.BaseURL
	}
	return o, nil
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
			var ue *secrets.UntrustedURLError
			if errors.As(err, &ue) {
				fmt.Fprintf(out, "Note: a load of this project will not use it yet: %v\n%s\n", ue, nextStep(ue))
				return nil
			}
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
			var res *credcheck.Result
			creds, err := secrets.Resolve(cmd.Context(), opts)
			switch {
			case credcheck.ResolveFailure(err) != nil:
				res = credcheck.ResolveFailure(err)
			case err != nil:
				return err
			default:
				red.Add(creds.APIKey())
				res, err = credcheck.Check(cmd.Context(), creds, credcheck.Options{Logger: log, Offline: offline})
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
			case credcheck.CheckOK, credcheck.CheckOffline:
				return nil
			case credcheck.CheckKeyInvalid:
				return errors.New("the API key is invalid: store a valid one with `codefresh-mcp secrets set`")
			case credcheck.CheckNoKey:
				return errors.New("no API key found: store one with `codefresh-mcp secrets set`")
			case credcheck.CheckUntrustedURL:
				return fmt.Errorf("the key was not sent to %s (%s): it is not trusted for this key; if you trust that host, run `%s`",
					res.BaseURL, res.BaseURLSource, res.TrustCommand)
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

func newSecretsTrustCmd(a *app) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "trust-url URL",
		Short: "Let the key go to URL's origin for this project, although a project file (not you) names it",
		Long: `A base_url in codefresh_pipeline.toml may have been written by an agent or come with a
cloned repository, so a load refuses to send the key to another origin than the key's own.
trust-url records, in your configuration folder (outside every project), that the key a load
of this project resolves (by its fingerprint) may be sent to URL's origin (scheme, host, port).
On a terminal it asks first; otherwise pass --yes. Undo with ` + "`secrets untrust-url URL`.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := secretsOptions(a)
			if err != nil {
				return err
			}
			confirm := func(r *secrets.TrustResult) error {
				return confirmTrust(cmd.InOrStdin(), cmd.ErrOrStderr(), yes, r)
			}
			res, err := secrets.Trust(cmd.Context(), opts, args[0], confirm)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if res.AlreadyAllowed != "" {
				fmt.Fprintf(out, "Nothing to record: the key from %s (fingerprint %s) may already go to %s: %s.\n",
					res.KeySource, res.Fingerprint, res.Origin, res.AlreadyAllowed)
				return nil
			}
			fmt.Fprintf(out, "Trusted: the key from %s (fingerprint %s), which belongs to %s, may be sent to %s by loads of %s.\n",
				res.KeySource, res.Fingerprint, res.KeyURL, res.Origin, res.Project)
			fmt.Fprintf(out, "Recorded in %s. Undo with `codefresh-mcp --project %s secrets untrust-url %s`.\n", res.Path, res.Project, res.URL)
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask (needed when stdin is not a terminal)")
	return cmd
}

// confirmTrust asks on a terminal; elsewhere only --yes confirms, so that
// a piped "y" from a script is not taken for the user's word.
func confirmTrust(in io.Reader, errOut io.Writer, yes bool, r *secrets.TrustResult) error {
	if yes {
		return nil
	}
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return errors.New("not a terminal: run this yourself in a terminal, or pass --yes to confirm")
	}
	fmt.Fprintf(errOut, "Send the API key from %s (fingerprint %s), which belongs to %s, to %s for loads of %s? [y/N] ",
		r.KeySource, r.Fingerprint, r.KeyURL, r.Origin, r.Project)
	line, _ := bufio.NewReader(io.LimitReader(f, 64)).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errors.New("not trusted: you did not confirm")
	}
	return nil
}

func newSecretsUntrustCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "untrust-url URL",
		Short: "Take back trust-url: no key goes to URL's origin for this project unless it is the key's own",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := secretsOptions(a)
			if err != nil {
				return err
			}
			res, err := secrets.Untrust(opts, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %d trust entries for %s in %s (%s).\n", res.Removed, res.Origin, res.Project, res.Path)
			return nil
		},
	}
}
