package credcheck

import (
	"cmp"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText prints the result for a person: verdict, where the key came
// from, who it is, its scopes, then the resources it cannot load.
func (res *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verdict := map[string]string{
		CheckOK: "OK", CheckKeyInvalid: "INVALID", CheckUnreachable: "UNREACHABLE",
		CheckError: "ERROR", CheckNoKey: "NOT FOUND", CheckOffline: "not checked (offline)",
		CheckUntrustedURL: "NOT SENT (base URL not trusted for this key)",
	}[res.Status]
	fmt.Fprintf(tw, "Codefresh API key:\t%s\n", cmp.Or(verdict, res.Status))
	if res.Source != "" {
		fmt.Fprintf(tw, "source:\t%s (fingerprint %s)\n", res.Source, res.Fingerprint)
	}
	fmt.Fprintf(tw, "base URL:\t%s", res.BaseURL)
	if res.BaseURLSource != "" {
		fmt.Fprintf(tw, " (%s)", res.BaseURLSource)
	}
	fmt.Fprintln(tw)
	if res.BaseURLReason != "" {
		fmt.Fprintf(tw, "why this URL:\t%s\n", res.BaseURLReason)
	}
	if u := res.User; u != nil {
		fmt.Fprintf(tw, "user:\t%s, active account %s", cmp.Or(u.Name, "?"), cmp.Or(u.ActiveAccount, "?"))
		if u.AccountID != "" {
			fmt.Fprintf(tw, " (%s)", u.AccountID)
		}
		fmt.Fprintln(tw)
	}
	if k := res.Key; k != nil {
		if k.Matched {
			fmt.Fprintf(tw, "key:\t%s, scopes: %s\n", k.Name, strings.Join(k.Scopes, ", "))
		} else {
			fmt.Fprintf(tw, "key:\t%s\n", k.Note)
		}
	}
	if res.Message != "" {
		fmt.Fprintf(tw, "\n%s\n", res.Message)
	}
	fmt.Fprintln(tw, "\nsources (first found wins):")
	for _, s := range res.Sources {
		fp := ""
		if s.Fingerprint != "" {
			fp = "fingerprint " + s.Fingerprint
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Source, s.Status, fp, s.Reason)
	}
	if len(res.Warnings) > 0 {
		fmt.Fprintln(tw, "\nwarnings:")
		for _, wn := range res.Warnings {
			fmt.Fprintf(tw, "  %s\n", wn)
		}
	}
	if len(res.Capabilities) > 0 {
		keys := make([]string, 0, len(res.Summary))
		for k := range res.Summary {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", res.Summary[k], k)
		}
		fmt.Fprintf(tw, "\nresources: %s\n", strings.Join(parts, ", "))
		var loadable []string
		for _, c := range res.Capabilities {
			if c.Status == CapLoadable {
				loadable = append(loadable, c.Resource)
				continue
			}
			note := c.Message
			if c.Inherits != "" {
				note = "as " + c.Inherits
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Resource, c.Status, note)
		}
		if len(loadable) > 0 {
			fmt.Fprintf(tw, "  loadable:\t%s\n", strings.Join(loadable, ", "))
		}
	}
	return tw.Flush()
}
