package daemon

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/clockwork-iac/clockwork/internal/daemon/policy"
)

// LoadPolicy reads the daemon block of dir/clockwork.hcl (see package
// policy); for `clockwork daemon policy` and for Config.Policy.
func LoadPolicy(dir string) (policy.Policy, hcl.Diagnostics) { return policy.Load(dir) }

// String renders an event on one line for `clockwork events`:
// "2026-11-26T03:00:00Z #12 drift service.web: seen | rule | result [ref]".
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s #%d %s", e.Time.UTC().Format("2006-01-02T15:04:05Z"), e.Pass, e.Kind)
	if e.Resource != "" {
		fmt.Fprintf(&b, " %s", e.Resource)
	}
	b.WriteString(":")
	sep := " "
	for _, s := range []string{e.Seen, e.Rule, e.Result} {
		if s != "" {
			b.WriteString(sep + strings.ReplaceAll(s, "\n", " / "))
			sep = " | "
		}
	}
	if e.Ref != "" {
		fmt.Fprintf(&b, " [%s]", e.Ref)
	}
	return b.String()
}

// WriteProposal prints a proposal for `clockwork approve --show` or a list.
func WriteProposal(w io.Writer, p Proposal) {
	fmt.Fprintf(w, "proposal %s (%s) for %s, %s, created %s\n", p.ID, p.Status, p.Resource, p.Kind, p.Created.Format("2006-01-02 15:04:05Z"))
	if p.Reason != "" {
		fmt.Fprintf(w, "  why: %s\n", p.Reason)
	}
	if p.Diff != "" {
		for _, line := range strings.Split(strings.TrimRight(p.Diff, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}
